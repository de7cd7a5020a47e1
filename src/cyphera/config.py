"""Settings of the API and the worker: one typed tree read from ``CYPHERA_*`` environment variables.

Nested sections use a double underscore: ``CYPHERA_DATABASE__URL``, ``CYPHERA_API__PORT``,
``CYPHERA_SIGNER__TOKEN``. Only entry points (the CLI) build `Settings`; they hand typed sections to
what they start. The signer has its own settings (`cyphera.signer.config`): relayer keys never appear
here.

The defaults are the embedded development set-up that ``cyphera dev`` starts; in ``production``
environment, placeholder secrets are refused at start-up.
"""

from __future__ import annotations

import enum
from pathlib import Path

from limits import parse
from pydantic import BaseModel, Field, IPvAnyNetwork, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_ADMIN_TOKEN_LENGTH = 32
DEV_SIGNER_TOKEN = "dev-signer-token-not-for-production"  # noqa: S105 - the dev placeholder, refused in production
DEV_ENCRYPTION_KEY = "dev-encryption-key-not-for-production-use"
DEV_DATABASE_PORT = 54329
DEV_ANVIL_PORT = 18545
DEV_SIGNER_PORT = 50051


class Environment(enum.StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


def project_root() -> Path:
    """The checkout this package runs from (where ``pyproject.toml`` is)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file():
            return parent
    return Path.cwd()


def default_home() -> Path:
    """Where ``cyphera dev`` keeps its state: ``.cyphera/`` in the checkout (git-ignored)."""
    return project_root() / ".cyphera"


def dev_database_url(port: int = DEV_DATABASE_PORT) -> str:
    """The database ``cyphera dev`` runs, on `port`."""
    return f"postgresql+psycopg://cyphera@127.0.0.1:{port}/cyphera"


class DatabaseSettings(BaseModel):
    url: SecretStr = SecretStr(dev_database_url())
    pool_size: int = Field(default=10, ge=1, le=200)
    echo: bool = False

    def sqlalchemy_url(self) -> str:
        return self.url.get_secret_value()

    def libpq_url(self) -> str:
        """The same URL in plain libpq form, for psycopg and procrastinate."""
        return self.sqlalchemy_url().replace("postgresql+psycopg://", "postgresql://", 1)


class ApiSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    public_url: str = "http://127.0.0.1:8000"
    # Processes serving the API (uvicorn's workers); one per core is the usual production choice.
    # Everything they share is in PostgreSQL, except the rate limits' counts with the default
    # ``memory://`` storage (`AuthSettings.rate_limit_storage_uri`).
    workers: int = Field(default=1, ge=1, le=64)
    # The reverse proxies in front of the API, as addresses or networks (a JSON list:
    # '["10.0.0.0/8"]'). Only hops they added to X-Forwarded-For are believed
    # (`cyphera.kit.forwarded`); none by default, so the connection's peer is the client.
    trusted_proxies: list[IPvAnyNetwork] = Field(default_factory=list)
    # Swagger UI's files for /docs (`cyphera.api.docs`); by default the checkout's
    # node_modules/swagger-ui-dist, which `make setup` installs.
    docs_assets_dir: Path | None = None
    # The pages' bundled script and stylesheet (`cyphera.web.assets`); by default the
    # checkout's build/web, which `make web-assets` (part of `make setup`) writes.
    web_assets_dir: Path | None = None


class SignerClientSettings(BaseModel):
    """How the API and the worker reach the signer."""

    target: str = f"127.0.0.1:{DEV_SIGNER_PORT}"
    token: SecretStr = SecretStr(DEV_SIGNER_TOKEN)
    timeout_seconds: float = Field(default=30.0, gt=0)


class BillingSettings(BaseModel):
    scheduler_interval_seconds: int = Field(default=60, ge=1)
    # How long a granted permission stays valid on-chain; the customer re-authorises after that.
    permission_lifetime_days: int = Field(default=3 * 365, ge=1, le=10 * 365)
    # How long before a permission expires the merchant gets ``permission.expiring`` (once).
    permission_expiry_notice_days: int = Field(default=7, ge=1, le=365)


class WorkerSettings(BaseModel):
    """``cyphera worker`` (``CYPHERA_WORKER__*``)."""

    # Jobs one worker process runs at once. A collection job holds its payment's rows and a
    # database connection while the signer confirms the charge, so charges collected together
    # are what the signer can pack into one batch transaction; keep it under the database pool
    # (``CYPHERA_DATABASE__POOL_SIZE``, doubled by its overflow).
    concurrency: int = Field(default=8, ge=1, le=200)
    # The metrics listener's port (any path answers; 0 picks a free one); unset, none.
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"
    # How often the queue and webhook backlog gauges are read from the database.
    metrics_refresh_seconds: float = Field(default=15.0, gt=0, le=3600)


class WebhookSettings(BaseModel):
    """Webhook delivery (``CYPHERA_WEBHOOKS__*``); see `cyphera.webhook.dispatcher`."""

    timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # Deliveries in flight at once: per worker process, and per endpoint across all workers.
    concurrency: int = Field(default=32, ge=1, le=1000)
    per_endpoint_concurrency: int = Field(default=4, ge=1, le=100)
    # How long a delivery is retried (with backoff) before it fails, and how long an endpoint
    # fails every attempt before it is disabled.
    retry_horizon_hours: float = Field(default=72, gt=0, le=24 * 14)
    poll_interval_seconds: float = Field(default=1.0, gt=0, le=60)
    # Test-mode endpoints may be on loopback or a private network (a developer's machine). Turn
    # off on a deployment shared by merchants you do not trust with your network.
    allow_local_in_test: bool = True


class ChainSettings(BaseModel):
    """Where the local chain's deploy record is; RPC URLs come from ``CYPHERA_RPC_<NETWORK>``."""

    local_deployment: Path | None = None
    # Where the revocation watch starts on a network it has never read (by network key, the
    # first block to read, e.g. ``{"base": 23000000}``); by default it starts at the safe head.
    # Only a network without a cursor yet uses it.
    watch_start_blocks: dict[str, int] = Field(default_factory=dict)

    def local_deployment_path(self, home: Path) -> Path:
        return self.local_deployment or home / "local-deployment.json"


class MetricsSettings(BaseModel):
    """The API's ``GET /metrics`` (``CYPHERA_METRICS__*``; docs/operations.md, "Metrics").

    Operators restrict the path at the proxy; a token, when set, is required too, as
    ``Authorization: Bearer <token>``.
    """

    token: SecretStr | None = None


class DevSettings(BaseModel):
    """Ports of the embedded services ``cyphera dev`` starts (``CYPHERA_DEV__*``)."""

    database_port: int = Field(default=DEV_DATABASE_PORT, ge=1, le=65535)
    anvil_port: int = Field(default=DEV_ANVIL_PORT, ge=1, le=65535)
    signer_port: int = Field(default=DEV_SIGNER_PORT, ge=1, le=65535)
    # Where the worker's and the signer's Prometheus metrics are served (the API's are at
    # /metrics on its own port).
    worker_metrics_port: int = Field(default=9464, ge=1, le=65535)
    signer_metrics_port: int = Field(default=9465, ge=1, le=65535)


class OidcProviderSettings(BaseModel):
    """One OpenID Connect issuer whose ID tokens sign merchants in (Web3Auth, Auth0, Google, …).

    Web3Auth: ``issuer="https://api-auth.web3auth.io"``, ``jwks_url=issuer + "/jwks"``,
    ``audience=<project client id>``, ``algorithms=["ES256"]``, and, since its tokens identify the
    user by verifier rather than ``sub``, ``subject_claims=["verifier", "verifierId"]``.
    """

    name: str = Field(min_length=1, max_length=40)
    issuer: str = Field(min_length=1, max_length=255)
    jwks_url: str = Field(pattern=r"^https?://")
    audience: str = Field(min_length=1)
    algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256"], min_length=1)
    # The claims that identify the user at this issuer, joined with "|" (all must be strings).
    subject_claims: list[str] = Field(default_factory=lambda: ["sub"], min_length=1)
    # The authorization-code flow (with PKCE) of the dashboard's "Sign in with <name>" button:
    # shown only when both endpoints are set (a token-only provider such as Web3Auth has none).
    # The client is registered at the provider with the redirect URI
    # ``<api.public_url>/dashboard/oidc/<name>/callback``; its id defaults to ``audience``.
    authorization_url: str | None = Field(default=None, pattern=r"^https?://")
    token_url: str | None = Field(default=None, pattern=r"^https?://")
    client_id: str | None = None
    client_secret: SecretStr | None = None
    scopes: list[str] = Field(default_factory=lambda: ["openid", "email"], min_length=1)

    @property
    def has_browser_flow(self) -> bool:
        return self.authorization_url is not None and self.token_url is not None


class AuthSettings(BaseModel):
    """Merchant sign-in: EIP-4361 (Sign-In with Ethereum) and, when configured, OIDC ID tokens.

    ``siwe_domain`` is the authority (``host[:port]``) every SIWE message must name; by default the
    one of ``api.public_url``. ``siwe_chain_ids`` are the chains a message may name (smart
    accounts are verified with ERC-1271 on that chain, through the network registry's RPC).
    """

    siwe_domain: str | None = None
    siwe_chain_ids: list[int] = Field(default_factory=lambda: [1], min_length=1)
    nonce_ttl_seconds: int = Field(default=600, ge=30, le=3600)
    session_ttl_seconds: int = Field(default=12 * 3600, ge=60, le=30 * 86400)
    # Wallet and browser clocks run a little ahead of ours; a message "issued" this far in the
    # future is still accepted (expiry is never stretched).
    clock_skew_seconds: int = Field(default=60, ge=0, le=300)
    invitation_ttl_days: int = Field(default=7, ge=1, le=90)
    oidc_providers: list[OidcProviderSettings] = Field(default_factory=list)
    # Requests per client address to the sign-in endpoints (nonce, SIWE and OIDC verify), as
    # `limits` writes them: "30/minute", "500/hour".
    sign_in_rate_limit: str = "30/minute"
    # Requests per API key, to every endpoint a key can call.
    api_key_rate_limit: str = "100/second"
    # Requests per checkout session and client address to the hosted checkout page and the JSON
    # endpoints its script calls (prepare, complete, status polled about once a second).
    checkout_page_rate_limit: str = "120/minute"
    # Where both limits count (`cyphera.auth.ratelimit`): "memory://" counts in each API process;
    # "redis://host:6379" (with the async Redis client installed) is shared by all of them. An
    # unknown or unusable store stops the API at start-up.
    rate_limit_storage_uri: str = "memory://"

    @field_validator("sign_in_rate_limit", "api_key_rate_limit", "checkout_page_rate_limit")
    @classmethod
    def _readable_rate(cls, value: str) -> str:
        try:
            parse(value)
        except ValueError as exc:
            raise ValueError(f"not a rate like '30/minute': {value!r}") from exc
        return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CYPHERA_",
        env_nested_delimiter="__",
        extra="ignore",
        # A validation error must not echo a secret (a database URL with its password) into logs.
        hide_input_in_errors=True,
    )

    environment: Environment = Environment.DEVELOPMENT
    home: Path = Field(default_factory=default_home)
    database: DatabaseSettings = DatabaseSettings()
    api: ApiSettings = ApiSettings()
    signer: SignerClientSettings = SignerClientSettings()
    billing: BillingSettings = BillingSettings()
    chain: ChainSettings = ChainSettings()
    webhooks: WebhookSettings = WebhookSettings()
    metrics: MetricsSettings = MetricsSettings()
    worker: WorkerSettings = WorkerSettings()
    dev: DevSettings = DevSettings()
    auth: AuthSettings = AuthSettings()
    # Encrypts what is kept at rest but must be read back (`cyphera.kit.sealing`): webhook signing
    # secrets, and stored idempotent responses. Set once per deployment; changing it makes those
    # unreadable (rotate the webhook secrets afterwards).
    encryption_key: SecretStr = Field(default=SecretStr(DEV_ENCRYPTION_KEY), min_length=32)
    # The operators' token for the admin API (``/v1/admin/…``: dead letters), sent as
    # ``Authorization: Bearer <token>``. Unset, the admin API answers 404 ``admin_api_disabled``.
    admin_token: SecretStr | None = None
    log_level: str = "INFO"

    @field_validator("admin_token")
    @classmethod
    def _long_admin_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_ADMIN_TOKEN_LENGTH:
            raise ValueError(
                f"CYPHERA_ADMIN_TOKEN must be at least {MIN_ADMIN_TOKEN_LENGTH} characters"
            )
        return value

    @model_validator(mode="after")
    def _database_follows_dev_port(self) -> Settings:
        # Without an explicit URL the database is the `cyphera dev` one, on whatever port that
        # was told to use: `CYPHERA_DEV__DATABASE_PORT=54339` moves both together.
        if "url" not in self.database.model_fields_set:
            default = self.database.model_copy(
                update={"url": SecretStr(dev_database_url(self.dev.database_port))}
            )
            # Still a default, not a choice: the CLI prefers a running `make dev` over it.
            default.model_fields_set.discard("url")
            self.database = default
        return self

    @property
    def database_url_given(self) -> bool:
        """Whether the database URL was set (``CYPHERA_DATABASE__URL``), not defaulted."""
        return "url" in self.database.model_fields_set

    @model_validator(mode="after")
    def _refuse_placeholders_in_production(self) -> Settings:
        if self.environment is Environment.PRODUCTION:
            if self.signer.token.get_secret_value() == DEV_SIGNER_TOKEN:
                raise ValueError("CYPHERA_SIGNER__TOKEN must be set to a real secret in production")
            if self.encryption_key.get_secret_value() == DEV_ENCRYPTION_KEY:
                raise ValueError(
                    "CYPHERA_ENCRYPTION_KEY must be set to a real secret in production"
                )
            if "127.0.0.1" in self.database.sqlalchemy_url() and "cyphera@" in (
                self.database.sqlalchemy_url()
            ):
                raise ValueError("CYPHERA_DATABASE__URL must point at the production database")
        return self
