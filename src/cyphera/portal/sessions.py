"""Opening the portal: a merchant's link (``bps_…``) or the customer's wallet (EIP-4361).

- **Links** (`create_link`): ``POST /v1/billing_portal/sessions`` makes one for a customer; its
  URL ``/portal/sessions/bps_…?key=…`` carries an HMAC of the id (`cyphera.kit.hosted`) and opens
  the portal for that customer until `LINK_TTL` after it was made. An unknown link, a wrong key
  and an expired link are the same "not found".
- **Wallet** (`sign_in_with_wallet`): the merchant sign-in's strict SIWE checks and single-use
  nonces (`cyphera.auth.sessions.verify_signed_message`), with the portal's own statement and
  URI, so a message signed for one cannot open the other.
- Either way the customer gets a **portal session**: an opaque ``cpt_…`` token in an HttpOnly
  cookie, stored only as its SHA-256, lasting `SESSION_TTL`, ended by signing out. It is
  separate from merchant sessions: neither token is accepted where the other is.
- **CSRF**: every form and JSON post carries `csrf_token(session)`, an HMAC of the session id
  under the hosted-page secret; it is checked in constant time (`check_csrf`).
"""

from __future__ import annotations

import re
import secrets
import string
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.auth.keys import hash_secret
from cyphera.auth.scope import Scope
from cyphera.auth.sessions import verify_signed_message
from cyphera.auth.signatures import SignatureChecker
from cyphera.auth.siwe import SiweExpectation
from cyphera.customer.service import get_customer
from cyphera.kit.hosted import capability_token, token_matches
from cyphera.kit.ids import has_prefix, new_id
from cyphera.models import BillingPortalSession, PortalSession
from cyphera.models.portal import PortalSessionMethod
from cyphera.portal.errors import (
    PortalCsrfInvalid,
    PortalLinkInvalid,
    PortalSignInRequired,
    PortalStatementInvalid,
)
from cyphera.portal.viewer import Viewer

LINK_ID_PREFIX = "bps"
SESSION_ID_PREFIX = "pts"
TOKEN_PREFIX = "cpt_"  # noqa: S105 - a prefix, not a secret
TOKEN_LENGTH = 40
LINK_TTL = timedelta(minutes=15)
SESSION_TTL = timedelta(hours=1)
STATEMENT = "Sign in to see and manage your subscriptions."
PATH = "/portal"
LINK_CONTEXT = b"cyphera.billing_portal.v1:"
CSRF_CONTEXT = b"cyphera.portal_csrf.v1:"
_TOKEN = re.compile(rf"cpt_[A-Za-z0-9]{{{TOKEN_LENGTH}}}")
_ALPHABET = string.ascii_letters + string.digits


def link_url(base_url: str, link_id: str, *, secret: bytes) -> str:
    key = capability_token(LINK_CONTEXT, link_id, secret=secret)
    return f"{base_url.rstrip('/')}{PATH}/sessions/{link_id}?key={key}"


async def create_link(
    session: AsyncSession,
    *,
    scope: Scope,
    customer_id: str,
    return_url: str | None,
    now: datetime,
) -> BillingPortalSession:
    """A portal link for the scope's customer `customer_id` (404 for anyone else's)."""
    customer = await get_customer(session, scope=scope, customer_id=customer_id, param="customer")
    link = BillingPortalSession(
        id=new_id(LINK_ID_PREFIX),
        **scope.tenant_columns(),
        customer_id=customer.id,
        return_url=return_url,
        created_at=now,
        expires_at=now + LINK_TTL,
    )
    session.add(link)
    await session.flush()
    return link


async def open_link(
    session: AsyncSession, *, link_id: str, key: str, secret: bytes, now: datetime
) -> tuple[PortalSession, str]:
    """A portal session for the link's customer, and its token (returned this once)."""
    if not has_prefix(link_id, LINK_ID_PREFIX) or not token_matches(
        LINK_CONTEXT, link_id, key, secret=secret
    ):
        raise PortalLinkInvalid("This portal link is not valid.")
    link = await session.get(BillingPortalSession, link_id)
    if link is None or link.expires_at <= now:
        raise PortalLinkInvalid("This portal link is not valid.")
    return await _open(
        session,
        method=PortalSessionMethod.LINK,
        now=now,
        workspace_id=link.workspace_id,
        mode=link.mode,
        customer_id=link.customer_id,
        return_url=link.return_url,
    )


def portal_uri(public_url: str) -> str:
    """The ``URI`` a portal sign-in message must name (the dashboard's never does)."""
    return f"{public_url.rstrip('/')}{PATH}"


async def sign_in_with_wallet(
    session: AsyncSession,
    *,
    message: str,
    signature: str,
    expect: SiweExpectation,
    uri: str,
    checker: SignatureChecker | None,
    now: datetime,
) -> tuple[PortalSession, str]:
    """Verify the customer's signed EIP-4361 `message` and open a portal session for its address."""
    parsed, _ = await verify_signed_message(
        session, message=message, signature=signature, expect=expect, checker=checker, now=now
    )
    if parsed.statement != STATEMENT or parsed.uri != uri:
        # Checked after the nonce is used: a message signed for the dashboard is spent either way.
        raise PortalStatementInvalid(
            f"sign the portal's message: statement {STATEMENT!r} and URI {uri!r}"
        )
    return await _open(session, method=PortalSessionMethod.SIWE, now=now, address=parsed.address)


async def _open(
    session: AsyncSession, *, method: PortalSessionMethod, now: datetime, **viewer: object
) -> tuple[PortalSession, str]:
    token = TOKEN_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(TOKEN_LENGTH))
    opened = PortalSession(
        id=new_id(SESSION_ID_PREFIX),
        token_hash=hash_secret(token),
        method=method,
        created_at=now,
        expires_at=now + SESSION_TTL,
        **viewer,
    )
    session.add(opened)
    await session.flush()
    return opened, token


async def authenticate(session: AsyncSession, *, token: str | None, now: datetime) -> Viewer:
    """The viewer of the live portal session `token`, or `PortalSignInRequired`."""
    if not token or not _TOKEN.fullmatch(token):
        raise PortalSignInRequired("Sign in to the portal.")
    found = (
        await session.execute(
            select(PortalSession).where(PortalSession.token_hash == hash_secret(token))
        )
    ).scalar_one_or_none()
    if found is None or found.revoked_at is not None or found.expires_at <= now:
        raise PortalSignInRequired("Your portal session has ended; sign in again.")
    return Viewer(
        session_id=found.id,
        address=found.address,
        workspace_id=found.workspace_id,
        mode=found.mode,
        customer_id=found.customer_id,
        return_url=found.return_url,
    )


async def sign_out(session: AsyncSession, *, viewer: Viewer, now: datetime) -> None:
    await session.execute(
        update(PortalSession)
        .where(PortalSession.id == viewer.session_id, PortalSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def csrf_token(viewer: Viewer, *, secret: bytes) -> str:
    return capability_token(CSRF_CONTEXT, viewer.session_id, secret=secret)


def check_csrf(viewer: Viewer, token: str | None, *, secret: bytes) -> None:
    if not token or not token_matches(CSRF_CONTEXT, viewer.session_id, token, secret=secret):
        raise PortalCsrfInvalid("This form has expired; reload the page and try again.")
