"""The signer's settings, read from ``CYPHERA_SIGNER_*`` environment variables.

Separate from the API's `cyphera.config.Settings` on purpose: relayer keys exist only here, and
only the signer process builds this class. Nested sections use ``__``
(``CYPHERA_SIGNER_DATABASE__URL``). RPC endpoints are not here: they come from the chain registry's
``CYPHERA_RPC_<NETWORK>`` variables, so the API, the worker and the signer agree on them.

The relayer key comes from exactly one of ``CYPHERA_SIGNER_RELAYER_PRIVATE_KEY`` or an encrypted
JSON keystore (``CYPHERA_SIGNER_RELAYER_KEYSTORE_PATH`` + ``..._PASSWORD``). Every secret is a
`SecretStr`: it prints as ``**********`` in reprs, logs and validation errors.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from cyphera.config import DEV_SIGNER_PORT, DEV_SIGNER_TOKEN, DatabaseSettings, Environment
from cyphera.signer.chains import DEFAULT_GAS_BUDGET_PER_HOUR

GWEI = 10**9
DEFAULT_MAX_FEE_PER_GAS_WEI = 500 * GWEI
# A bearer token shorter than this is guessable; production refuses it.
MIN_TOKEN_LENGTH = 32


class SignerSettings(BaseSettings):
    """Everything ``cyphera signer`` needs. See the module docstring for the variables."""

    model_config = SettingsConfigDict(
        env_prefix="CYPHERA_SIGNER_",
        env_nested_delimiter="__",
        extra="ignore",
        # Validation errors would otherwise quote the raw input, relayer key included.
        hide_input_in_errors=True,
    )

    # Shared with the rest of the platform so one variable switches every process to production.
    environment: Environment = Field(
        default=Environment.DEVELOPMENT,
        validation_alias=AliasChoices(
            "environment", "CYPHERA_SIGNER_ENVIRONMENT", "CYPHERA_ENVIRONMENT"
        ),
    )
    listen_address: str = f"127.0.0.1:{DEV_SIGNER_PORT}"
    # Comma-separated (or a JSON list): several tokens let clients rotate without downtime.
    auth_tokens: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=lambda: [SecretStr(DEV_SIGNER_TOKEN)]
    )
    # Both set: the port speaks TLS. Unset: plaintext, for loopback or a private network only.
    tls_cert_path: Path | None = None
    tls_key_path: Path | None = None
    relayer_private_key: SecretStr | None = None
    relayer_keystore_path: Path | None = None
    relayer_keystore_password: SecretStr | None = None
    database: DatabaseSettings = DatabaseSettings()
    # The local chain's deploy record (``deployment.json``); unset means no local chain.
    local_deployment_path: Path | None = None
    # Fee ceilings: maxFeePerGas never exceeds the chain's entry, else the default.
    max_fee_per_gas_wei: dict[int, int] = Field(default_factory=dict)
    default_max_fee_per_gas_wei: int = Field(default=DEFAULT_MAX_FEE_PER_GAS_WEI, gt=0)
    # Gas the relayer may commit to per chain in any hour (the chain's entry, else the default);
    # past it, charges wait (`gas_budget_exhausted`) rather than the relayer being drained.
    gas_budget_per_hour: dict[int, int] = Field(default_factory=dict)
    default_gas_budget_per_hour: int = Field(default=DEFAULT_GAS_BUDGET_PER_HOUR, gt=0)
    # How often in-flight work is polled when nothing wakes the processor earlier.
    poll_interval_seconds: float = Field(default=1.0, gt=0)
    # A broadcast transaction not mined after this long is re-priced (an explicit replacement).
    stuck_after_seconds: float = Field(default=120.0, gt=0)
    # Confirmed transactions this close to the head are still watched for reorgs.
    reorg_watch_blocks: int = Field(default=64, ge=0)
    max_batch_size: int = Field(default=20, ge=1, le=200)
    # The longest a RedeemCharges call waits, whatever the caller asks.
    max_wait_seconds: int = Field(default=120, ge=0)
    # Applied to calls that arrive without a gRPC deadline.
    default_deadline_seconds: float = Field(default=30.0, gt=0)
    rpc_timeout_seconds: float = Field(default=10.0, gt=0)
    # The metrics listener (`cyphera.signer.metrics`; any path answers, 0 picks a free port):
    # unset, none. Never the gRPC port's interface if that one is public.
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"
    metrics_refresh_seconds: float = Field(default=15.0, gt=0, le=3600)
    log_level: str = "INFO"

    @field_validator("auth_tokens", mode="before")
    @classmethod
    def _split_tokens(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("listen_address")
    @classmethod
    def _check_listen(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError("listen_address must be host:port, e.g. 127.0.0.1:50051")
        return value

    @model_validator(mode="after")
    def _check_secrets(self) -> SignerSettings:
        if not self.auth_tokens or any(not t.get_secret_value() for t in self.auth_tokens):
            # An empty list would be an open port: the original system's mistake.
            raise ValueError("CYPHERA_SIGNER_AUTH_TOKENS must hold at least one non-empty token")
        if (self.tls_cert_path is None) != (self.tls_key_path is None):
            raise ValueError(
                "set both CYPHERA_SIGNER_TLS_CERT_PATH and CYPHERA_SIGNER_TLS_KEY_PATH, or neither"
            )
        has_key = self.relayer_private_key is not None
        has_keystore = self.relayer_keystore_path is not None
        if has_key and has_keystore:
            raise ValueError(
                "set either CYPHERA_SIGNER_RELAYER_PRIVATE_KEY or "
                "CYPHERA_SIGNER_RELAYER_KEYSTORE_PATH, not both"
            )
        if has_keystore and self.relayer_keystore_password is None:
            raise ValueError("CYPHERA_SIGNER_RELAYER_KEYSTORE_PASSWORD is required with a keystore")
        if self.environment is Environment.PRODUCTION:
            for token in self.auth_tokens:
                secret = token.get_secret_value()
                if secret == DEV_SIGNER_TOKEN:
                    raise ValueError(
                        "CYPHERA_SIGNER_AUTH_TOKENS holds the development placeholder; "
                        "set real tokens in production"
                    )
                if len(secret) < MIN_TOKEN_LENGTH:
                    raise ValueError(
                        f"signer auth tokens must be at least {MIN_TOKEN_LENGTH} characters "
                        "in production"
                    )
        return self

    @property
    def has_relayer_key(self) -> bool:
        return self.relayer_private_key is not None or self.relayer_keystore_path is not None

    def max_fee_ceiling(self, chain_id: int) -> int:
        """The highest maxFeePerGas (wei) the signer will ever sign on `chain_id`."""
        return self.max_fee_per_gas_wei.get(chain_id, self.default_max_fee_per_gas_wei)
