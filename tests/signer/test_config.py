"""Signer settings and the relayer key: read from the environment, never shown."""

from __future__ import annotations

import json
import pickle
import stat
from pathlib import Path

import pytest
from eth_account import Account
from pydantic import ValidationError
from typer.testing import CliRunner

from cyphera.config import DEV_SIGNER_PORT, DEV_SIGNER_TOKEN
from cyphera.signer.cli import app
from cyphera.signer.config import SignerSettings
from cyphera.signer.errors import SignerConfigInvalid
from cyphera.signer.keys import RelayerKey, load_relayer_key

KEY = "0x" + "4c" * 32
STRONG = "a-production-token-that-is-long-enough-0123"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CYPHERA_ENVIRONMENT", "CYPHERA_SIGNER_ENVIRONMENT", "CYPHERA_SIGNER_AUTH_TOKENS"):
        monkeypatch.delenv(name, raising=False)


def test_development_defaults() -> None:
    settings = SignerSettings(relayer_private_key=KEY)

    assert settings.listen_address == f"127.0.0.1:{DEV_SIGNER_PORT}"
    assert [t.get_secret_value() for t in settings.auth_tokens] == [DEV_SIGNER_TOKEN]
    assert settings.max_fee_ceiling(1) == settings.default_max_fee_per_gas_wei


def test_settings_come_from_prefixed_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CYPHERA_SIGNER_AUTH_TOKENS", "first-token, second-token")
    monkeypatch.setenv("CYPHERA_SIGNER_RELAYER_PRIVATE_KEY", KEY)
    monkeypatch.setenv("CYPHERA_SIGNER_DATABASE__URL", "postgresql+psycopg://u@db/signer")
    monkeypatch.setenv("CYPHERA_SIGNER_MAX_FEE_PER_GAS_WEI", '{"8453": 5000000000}')
    monkeypatch.setenv("CYPHERA_SIGNER_LISTEN_ADDRESS", "0.0.0.0:6000")
    monkeypatch.setenv("CYPHERA_SIGNER_METRICS_PORT", "9465")

    settings = SignerSettings()

    assert [t.get_secret_value() for t in settings.auth_tokens] == ["first-token", "second-token"]
    assert settings.database.sqlalchemy_url() == "postgresql+psycopg://u@db/signer"
    assert settings.max_fee_ceiling(8453) == 5_000_000_000
    assert settings.listen_address == "0.0.0.0:6000"
    assert settings.metrics_port == 9465
    assert load_relayer_key(settings).address == Account.from_key(KEY).address


def test_production_refuses_the_development_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CYPHERA_ENVIRONMENT", "production")

    with pytest.raises(ValidationError) as raised:
        SignerSettings(relayer_private_key=KEY)

    assert "development placeholder" in str(raised.value)
    assert KEY[2:] not in str(raised.value)


def test_production_refuses_a_short_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CYPHERA_ENVIRONMENT", "production")

    with pytest.raises(ValidationError, match="at least 32 characters"):
        SignerSettings(relayer_private_key=KEY, auth_tokens=["short"])
    assert SignerSettings(relayer_private_key=KEY, auth_tokens=[STRONG]).auth_tokens


@pytest.mark.parametrize("tokens", [[], [""]])
def test_an_open_port_is_refused(tokens: list[str]) -> None:
    with pytest.raises(ValidationError, match="at least one non-empty token"):
        SignerSettings(relayer_private_key=KEY, auth_tokens=tokens)


def test_one_key_source_only(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="not both"):
        SignerSettings(relayer_private_key=KEY, relayer_keystore_path=tmp_path / "k.json")
    with pytest.raises(ValidationError, match="PASSWORD is required"):
        SignerSettings(relayer_keystore_path=tmp_path / "k.json")


def test_secrets_never_appear_in_reprs_or_errors() -> None:
    settings = SignerSettings(relayer_private_key=KEY, auth_tokens=[STRONG])

    assert KEY[2:] not in repr(settings)
    assert STRONG not in repr(settings)
    with pytest.raises(ValidationError) as raised:
        SignerSettings(relayer_private_key=KEY, auth_tokens=[STRONG], max_batch_size="x")
    assert KEY[2:] not in str(raised.value)


def test_no_key_configured_is_a_clear_error() -> None:
    with pytest.raises(SignerConfigInvalid, match="no relayer key"):
        load_relayer_key(SignerSettings())


def test_a_relayer_key_shows_its_address_only() -> None:
    key = RelayerKey.from_private_key(KEY)

    assert repr(key) == f"RelayerKey(address={Account.from_key(KEY).address})"
    assert KEY[2:] not in repr(key) + str(key)
    with pytest.raises(TypeError):
        pickle.dumps(key)


def test_an_invalid_key_is_refused_without_echoing_it() -> None:
    with pytest.raises(SignerConfigInvalid) as raised:
        RelayerKey.from_private_key("0x" + "00" * 32)

    assert "00" * 32 not in raised.value.message


def test_the_key_loads_from_an_encrypted_keystore(tmp_path: Path) -> None:
    path = tmp_path / "relayer.json"
    path.write_text(json.dumps(Account.encrypt(KEY, "pw", kdf="pbkdf2", iterations=2)))

    good = SignerSettings(relayer_keystore_path=path, relayer_keystore_password="pw")
    bad = SignerSettings(relayer_keystore_path=path, relayer_keystore_password="nope")

    assert load_relayer_key(good).address == Account.from_key(KEY).address
    with pytest.raises(SignerConfigInvalid) as raised:
        load_relayer_key(bad)
    assert "nope" not in raised.value.message


def test_create_keystore_writes_an_owner_only_file_and_prints_the_address(tmp_path: Path) -> None:
    path = tmp_path / "new.json"

    result = CliRunner().invoke(app, ["create-keystore", str(path)], input="s3cret\ns3cret\n")

    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    address = Account.from_key(Account.decrypt(json.loads(path.read_text()), "s3cret")).address
    assert f"relayer address {address}" in result.output
    again = CliRunner().invoke(app, ["create-keystore", str(path)], input="x\nx\n")
    assert again.exit_code == 1
