"""The log formatter every process uses: redaction, and tracebacks without local variables.

These run the formatter on a logger of their own; `tests/api/test_logging.py` runs the whole
configuration in a real API process.
"""

from __future__ import annotations

import io
import json
import logging
import secrets

import pytest
import structlog
from pydantic import SecretStr

from cyphera.auth.keys import generate_secret
from cyphera.config import DatabaseSettings, MetricsSettings, Settings, SignerClientSettings
from cyphera.kit.logs import REDACTED, Redactor, build_formatter, secret_values
from cyphera.models.api_key import ApiKeyKind
from cyphera.models.mixins import Mode
from cyphera.signer.config import SignerSettings
from cyphera.webhook.secrets import new_signing_secret

API_KEY = generate_secret(ApiKeyKind.SECRET, Mode.LIVE)
PRIVATE_KEY = "0x" + "ab12" * 16
TX_HASH = "0x" + "cd34" * 16


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"key {API_KEY} used", f"key sk_live_{REDACTED} used"),
        ("rk_test_abcDEF123 and sk_test_x1", f"rk_test_{REDACTED} and sk_test_{REDACTED}"),
        ("token=sess_Abc123xyz", f"token=sess_{REDACTED}"),
        ("invite_Q1w2e3r4t5 sent", f"invite_{REDACTED} sent"),
        ("whsec_a-b_c123==", f"whsec_{REDACTED}=="),
        ("secret whsec_q+Lm/9zA and more", f"secret whsec_{REDACTED} and more"),
        ("GET /invoices/in_123/Abc-_def456 404", f"GET /invoices/in_123/{REDACTED} 404"),
        ("Authorization: Bearer opaque.jwt.value", f"Authorization: {REDACTED}"),
        ("sent bearer abc.def;", f"sent bearer {REDACTED};"),
        ("{'authorization': 'Basic dXNlcjpwYXNz'}", f"{{'authorization': '{REDACTED}'}}"),
        ("(b'cookie', b'session=abc; theme=dark')", f"(b'cookie', b'{REDACTED}')"),
        ("Idempotency-Key: order-42-retry", f"Idempotency-Key: {REDACTED}"),
        (f"key={PRIVATE_KEY}", f"key={REDACTED}"),
        (f"raw {PRIVATE_KEY[2:]} key", f"raw {REDACTED} key"),
        (f"tx.signed nonce=3 tx_hash={TX_HASH}", f"tx.signed nonce=3 tx_hash={TX_HASH}"),
        (f"{{'block_hash': '{TX_HASH}'}}", f"{{'block_hash': '{TX_HASH}'}}"),
        ("signature 0x" + "ef" * 65, "signature 0x" + "ef" * 65),  # 65 bytes: public
        ("product.created product_id=prod_123", "product.created product_id=prod_123"),
    ],
)
def test_credentials_are_redacted_wherever_they_appear(text: str, expected: str) -> None:
    assert Redactor().text(text) == expected


def test_configured_secret_values_are_redacted_and_short_ones_ignored() -> None:
    redactor = Redactor(["the-signer-token-0123456789", "short", ""])

    assert redactor.text("token the-signer-token-0123456789 short") == f"token {REDACTED} short"


def test_event_fields_are_redacted_by_name_and_by_content() -> None:
    class Opaque:
        def __repr__(self) -> str:
            return f"Opaque(secret={API_KEY})"

    event = {
        "event": "api.request",
        "authorization": "anything at all",
        "Idempotency-Key": "order-42",
        "cookie": None,
        "headers": {"x-custom": API_KEY, "set-cookie": "a=b"},
        "attempts": [1, f"Bearer {API_KEY}"],
        "tx_hash": TX_HASH,
        "count": 3,
        "object": Opaque(),
    }

    redacted = Redactor()(None, "info", event)

    assert redacted == {
        "event": "api.request",
        "authorization": REDACTED,
        "Idempotency-Key": REDACTED,
        "cookie": None,
        "headers": {"x-custom": f"sk_live_{REDACTED}", "set-cookie": REDACTED},
        "attempts": [1, f"Bearer {REDACTED}"],
        "tx_hash": TX_HASH,
        "count": 3,
        "object": f"Opaque(secret=sk_live_{REDACTED})",
    }


@pytest.fixture
def output() -> io.StringIO:
    return io.StringIO()


def _logger(output: io.StringIO, *, console: bool) -> logging.Logger:
    handler = logging.StreamHandler(output)
    handler.setFormatter(build_formatter(console=console, redactor=Redactor()))
    logger = logging.getLogger(f"test.logs.{secrets.token_hex(4)}")
    logger.propagate = False
    logger.addHandler(handler)
    return logger


def _fail_holding_secrets() -> None:
    authorization = f"Bearer {API_KEY}"  # noqa: F841 - a local a traceback with locals would print
    padding = "x" * 1_000_000  # noqa: F841 - and this, a megabyte of it
    raise RuntimeError(f"lookup failed for {API_KEY}")


@pytest.mark.parametrize("console", [False, True])
def test_a_traceback_is_rendered_without_locals_and_redacted(
    output: io.StringIO, console: bool
) -> None:
    logger = structlog.wrap_logger(
        _logger(output, console=console),
        processors=[structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        wrapper_class=structlog.stdlib.BoundLogger,
    )

    try:
        _fail_holding_secrets()
    except RuntimeError:
        logger.exception("api.unhandled_error", path="/v1/products")

    text = output.getvalue()
    assert "api.unhandled_error" in text
    assert "_fail_holding_secrets" in text  # the traceback is there
    assert f"lookup failed for sk_live_{REDACTED}" in text
    assert API_KEY not in text
    assert "x" * 100 not in text  # no locals
    assert len(text) < 20_000
    if not console:
        (event,) = [json.loads(line) for line in text.splitlines()]
        assert event["exception"][0]["exc_type"] == "RuntimeError"
        assert all("locals" not in frame for frame in event["exception"][0]["frames"])


def test_standard_library_records_get_the_same_treatment(output: io.StringIO) -> None:
    logger = _logger(output, console=False)

    logger.warning("Invalid HTTP request from %s", f"Authorization: Bearer {API_KEY}")

    event = json.loads(output.getvalue())
    assert event["event"] == f"Invalid HTTP request from Authorization: {REDACTED}"
    assert event["level"] == "warning"


def test_secret_values_are_every_secret_of_the_settings() -> None:
    settings = Settings(
        database=DatabaseSettings(
            url=SecretStr("postgresql+psycopg://app:db-password-123@db.internal/cyphera")
        ),
        signer=SignerClientSettings(token=SecretStr("signer-token-abcdef")),
        encryption_key=SecretStr("encryption-key-" + "k" * 32),
        metrics=MetricsSettings(token=SecretStr("metrics-token-abcdef")),
    )
    signer = SignerSettings(
        auth_tokens=[SecretStr("first-token"), SecretStr("second-token")],
        relayer_private_key=SecretStr(PRIVATE_KEY),
    )

    found = secret_values(settings, signer)

    assert {
        "postgresql+psycopg://app:db-password-123@db.internal/cyphera",
        "db-password-123",
        "signer-token-abcdef",
        "encryption-key-" + "k" * 32,
        "metrics-token-abcdef",
        "first-token",
        "second-token",
        PRIVATE_KEY,
    } <= set(found)
    assert new_signing_secret() not in found
