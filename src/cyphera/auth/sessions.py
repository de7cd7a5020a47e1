"""Merchant sign-in and dashboard sessions: SIWE nonces, sign-in by wallet or OIDC, session tokens.

- **Nonces** (`issue_nonce`): random, issued by the server, stored, valid for the configured
  TTL (10 minutes by default) and usable once. A message carrying a nonce the server never issued,
  one that expired, or one that already signed someone in is refused — the last is a replay.
- **Sign-in with Ethereum** (`sign_in_with_ethereum`): the strict parse and the server's checks
  of `cyphera.auth.siwe` (domain, chain, time), then the nonce is consumed (one atomic
  ``UPDATE``), then the signature (EOA or ERC-1271). Any failure rolls the request's transaction
  back, the nonce included; nothing is written unless every check passed.
- **OIDC** (`sign_in_with_oidc`): an ID token verified by an `IdTokenVerifier`; the account is the
  (issuer, subject) pair. Accounts are never linked by email: an email is a claim, not a key.
- **Sessions**: an opaque ``sess_…`` bearer token of ~238 random bits, stored only as its
  SHA-256 (as API keys are: a guess is hopeless, so no salt or slow hash is needed), expiring
  after the configured TTL — or earlier, when the SIWE message says so — and revocable
  (`revoke_session`, ``POST /v1/auth/logout``).
"""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.auth.account_repository import (
    AccountRepository,
    AccountSessionRepository,
    SiweNonceRepository,
)
from cyphera.auth.errors import (
    SessionExpired,
    SessionInvalid,
    SessionMissing,
    SiweNonceExpired,
    SiweNonceInvalid,
    SiweNonceUsed,
    SiweSignatureInvalid,
)
from cyphera.auth.keys import hash_secret
from cyphera.auth.members import AccountContext
from cyphera.auth.oidc import IdTokenVerifier
from cyphera.auth.signatures import SignatureChecker, parse_signature
from cyphera.auth.siwe import (
    SiweExpectation,
    SiweMessage,
    check_message,
    parse_message,
    verify_signature,
)
from cyphera.kit.clock import Clock
from cyphera.kit.ids import new_id
from cyphera.models.account import Account
from cyphera.models.account_session import AccountSession, SessionMethod
from cyphera.models.siwe_nonce import SiweNonce

SESSION_ID_PREFIX = "ses"
SESSION_TOKEN_PREFIX = "sess_"  # noqa: S105 - a prefix, not a secret
SESSION_TOKEN_LENGTH = 40
NONCE_LENGTH = 24
_ALPHABET = string.ascii_letters + string.digits
_TOKEN = re.compile(rf"sess_[A-Za-z0-9]{{{SESSION_TOKEN_LENGTH}}}")

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """How long what lasts (from `cyphera.config.AuthSettings`)."""

    nonce_ttl: timedelta
    session_ttl: timedelta


class IssuedSession(NamedTuple):
    account: Account
    account_session: AccountSession
    token: str
    """The plaintext bearer token: returned this once, never stored, never logged."""


def is_session_token(token: str) -> bool:
    """Whether `token` has the shape of a session token (as opposed to an API key)."""
    return token.startswith(SESSION_TOKEN_PREFIX)


async def issue_nonce(session: AsyncSession, *, clock: Clock, policy: SessionPolicy) -> SiweNonce:
    """A fresh nonce for one SIWE message (24 letters and digits, ~143 bits)."""
    now = clock.now()
    nonce = SiweNonce(
        nonce="".join(secrets.choice(_ALPHABET) for _ in range(NONCE_LENGTH)),
        created_at=now,
        expires_at=now + policy.nonce_ttl,
    )
    SiweNonceRepository(session).add(nonce)
    await session.flush()
    return nonce


async def verify_signed_message(
    session: AsyncSession,
    *,
    message: str,
    signature: str,
    expect: SiweExpectation,
    checker: SignatureChecker | None,
    now: datetime,
) -> tuple[SiweMessage, str]:
    """The parsed `message` and how its signature was verified (``ecdsa``/``erc1271``).

    The strict parse, the server's checks, the nonce consumed (once), then the signature; any
    failure raises, and the caller's transaction (the nonce with it) is rolled back.
    """
    parsed = parse_message(message)
    signature_bytes = parse_signature(signature)
    check_message(parsed, expect=expect, now=now)
    await _consume_nonce(session, parsed.nonce, now=now)
    how = await verify_signature(parsed, message, signature_bytes, checker=checker)
    if not how:
        raise SiweSignatureInvalid(
            f"the signature is not {parsed.address}'s signature of this message"
        )
    return parsed, how


async def sign_in_with_ethereum(
    session: AsyncSession,
    *,
    message: str,
    signature: str,
    expect: SiweExpectation,
    checker: SignatureChecker | None,
    clock: Clock,
    policy: SessionPolicy,
) -> IssuedSession:
    """Verify a signed EIP-4361 `message` and open a session for its address's account."""
    now = clock.now()
    parsed, how = await verify_signed_message(
        session, message=message, signature=signature, expect=expect, checker=checker, now=now
    )
    account = await AccountRepository(session).get_or_create_by_wallet(parsed.address, at=now)
    expires_at = now + policy.session_ttl
    if parsed.expiration_time is not None:
        expires_at = min(expires_at, parsed.expiration_time)
    issued = await _open_session(
        session, account=account, method=SessionMethod.SIWE, expires_at=expires_at, now=now
    )
    log.info(
        "session.created",
        method="siwe",
        verified_by=how,
        account_id=account.id,
        session_id=issued.account_session.id,
    )
    return issued


async def sign_in_with_oidc(
    session: AsyncSession,
    *,
    id_token: str,
    verifier: IdTokenVerifier,
    clock: Clock,
    policy: SessionPolicy,
    nonce: str | None = None,
) -> IssuedSession:
    """Verify an OIDC ID token (with the `nonce` its sign-in sent, if any) and open a session
    for its (issuer, subject)'s account."""
    now = clock.now()
    identity = await verifier.verify(id_token, now=now, nonce=nonce)
    account = await AccountRepository(session).get_or_create_by_oidc(
        identity.issuer, identity.subject, email=identity.email, at=now
    )
    issued = await _open_session(
        session,
        account=account,
        method=SessionMethod.OIDC,
        expires_at=now + policy.session_ttl,
        now=now,
    )
    log.info(
        "session.created",
        method="oidc",
        issuer=identity.issuer,
        account_id=account.id,
        session_id=issued.account_session.id,
    )
    return issued


async def authenticate_session(
    session: AsyncSession, *, token: str | None, clock: Clock
) -> AccountContext:
    """The account behind a session token, or an `Unauthenticated` error saying what is wrong."""
    if not token:
        raise SessionMissing(
            "Sign in first: send the session token as `Authorization: Bearer sess_…` "
            "(POST /v1/auth/siwe/verify or /v1/auth/oidc/verify issue one)."
        )
    if not _TOKEN.fullmatch(token):
        raise SessionInvalid("Invalid session token.")
    account_session = await AccountSessionRepository(session).get_by_token_hash(hash_secret(token))
    if account_session is None or account_session.revoked_at is not None:
        raise SessionInvalid("Invalid session token; sign in again.")
    if account_session.expires_at <= clock.now():
        raise SessionExpired("The session has expired; sign in again.")
    return AccountContext(account_id=account_session.account_id, session_id=account_session.id)


async def find_session_account_id(
    session: AsyncSession, *, token: str | None, now: datetime
) -> str | None:
    """The account of the live session `token`, or None, without raising.

    For state kept per caller outside authentication (idempotency keys); authentication proper
    says what is wrong with a bad token.
    """
    if not token or not _TOKEN.fullmatch(token):
        return None
    account_session = await AccountSessionRepository(session).get_by_token_hash(hash_secret(token))
    if (
        account_session is None
        or account_session.revoked_at is not None
        or account_session.expires_at <= now
    ):
        return None
    return account_session.account_id


async def revoke_session(session: AsyncSession, *, session_id: str, clock: Clock) -> AccountSession:
    """Revoke a session (signing out); revoking it again changes nothing."""
    account_session = await AccountSessionRepository(session).get(session_id)
    if account_session is None:
        raise SessionInvalid("Invalid session token.")
    if account_session.revoked_at is None:
        account_session.revoked_at = clock.now()
        account_session.updated_at = account_session.revoked_at
        await session.flush()
        log.info("session.revoked", session_id=session_id, account_id=account_session.account_id)
    return account_session


async def get_account(session: AsyncSession, *, account_id: str) -> Account:
    account = await AccountRepository(session).get(account_id)
    if account is None:  # the session's foreign key makes this impossible short of a bug
        raise SessionInvalid("Invalid session token; sign in again.")
    return account


async def purge_expired_nonces(session: AsyncSession, *, clock: Clock) -> int:
    """Delete expired nonces (for a periodic job); returns how many."""
    return await SiweNonceRepository(session).purge_expired(at=clock.now())


async def _consume_nonce(session: AsyncSession, nonce: str, *, now: datetime) -> None:
    repository = SiweNonceRepository(session)
    if await repository.consume(nonce, at=now):
        return
    stored = await repository.get(nonce)
    if stored is None:
        raise SiweNonceInvalid(
            "the message's nonce was not issued by this server; ask POST /v1/auth/siwe/nonce for one"
        )
    if stored.used_at is not None:
        raise SiweNonceUsed("the message's nonce was already used: sign a new message")
    raise SiweNonceExpired("the message's nonce has expired; ask for a new one")


async def _open_session(
    session: AsyncSession,
    *,
    account: Account,
    method: SessionMethod,
    expires_at: datetime,
    now: datetime,
) -> IssuedSession:
    token = SESSION_TOKEN_PREFIX + "".join(
        secrets.choice(_ALPHABET) for _ in range(SESSION_TOKEN_LENGTH)
    )
    account_session = AccountSession(
        id=new_id(SESSION_ID_PREFIX),
        account_id=account.id,
        method=method,
        token_hash=hash_secret(token),
        expires_at=expires_at,
        created_at=now,
        updated_at=now,
    )
    AccountSessionRepository(session).add(account_session)
    await session.flush()
    return IssuedSession(account=account, account_session=account_session, token=token)
