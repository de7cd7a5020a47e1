"""What a page's sign-in script asks first: a nonce and everything its EIP-4361 message must say.

The portal and the dashboard each have their own statement and URI (a message signed for one
never opens the other); the nonce, domain, chains and time are the server's, so a wallet whose
clock is off still signs a message the server accepts.
"""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.auth.sessions import SessionPolicy, issue_nonce
from cyphera.auth.siwe import SiweExpectation, format_datetime
from cyphera.kit.clock import Clock, to_unix


class SignInNonce(BaseModel):
    nonce: str
    domain: str
    scheme: str
    uri: str
    statement: str
    chain_ids: list[int]
    issued_at: str
    expires: int


async def nonce_answer(
    session: AsyncSession,
    *,
    clock: Clock,
    policy: SessionPolicy,
    expect: SiweExpectation,
    uri: str,
    statement: str,
) -> SignInNonce:
    nonce = await issue_nonce(session, clock=clock, policy=policy)
    return SignInNonce(
        nonce=nonce.nonce,
        domain=expect.domain,
        scheme=expect.scheme,
        uri=uri,
        statement=statement,
        chain_ids=sorted(expect.chain_ids),
        issued_at=format_datetime(nonce.created_at),
        expires=to_unix(nonce.expires_at),
    )
