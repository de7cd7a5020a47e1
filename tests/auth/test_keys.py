from __future__ import annotations

import hashlib
import re

import pytest

from cyphera.auth.keys import KeyShape, generate_secret, hash_secret, parse_secret, redact
from cyphera.models.api_key import ApiKeyKind
from cyphera.models.mixins import Mode


@pytest.mark.parametrize(
    ("kind", "mode", "prefix"),
    [
        (ApiKeyKind.SECRET, Mode.TEST, "sk_test_"),
        (ApiKeyKind.SECRET, Mode.LIVE, "sk_live_"),
        (ApiKeyKind.RESTRICTED, Mode.TEST, "rk_test_"),
        (ApiKeyKind.RESTRICTED, Mode.LIVE, "rk_live_"),
    ],
)
def test_generated_key_has_the_documented_format(kind: ApiKeyKind, mode: Mode, prefix: str) -> None:
    secret = generate_secret(kind, mode)

    assert re.fullmatch(re.escape(prefix) + r"[A-Za-z0-9]{32}", secret)
    assert parse_secret(secret) == KeyShape(kind=kind, mode=mode)
    assert redact(secret) == secret[: len(prefix) + 4]


def test_keys_are_stored_as_sha256_hex_and_are_unique() -> None:
    secrets = {generate_secret(ApiKeyKind.SECRET, Mode.TEST) for _ in range(200)}

    assert len(secrets) == 200
    secret = secrets.pop()
    assert hash_secret(secret) == hashlib.sha256(secret.encode()).hexdigest()


@pytest.mark.parametrize(
    "candidate",
    [
        "",
        "sk_test_",
        "sk_test_" + "a" * 31,
        "sk_test_" + "a" * 33,
        "pk_test_" + "a" * 32,
        "sk_prod_" + "a" * 32,
        "sk_test_" + "a" * 31 + "-",
        "SK_TEST_" + "a" * 32,
        " sk_test_" + "a" * 32,
    ],
)
def test_malformed_keys_are_not_ours(candidate: str) -> None:
    assert parse_secret(candidate) is None
