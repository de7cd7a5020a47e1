"""Signing in over the real API, as a wallet does: a nonce, an EIP-4361 message, ``personal_sign``.

Helpers (not fixtures) so tests of other packages can import them:

- `siwe_text(...)`: an EIP-4361 message for the test server (domain ``127.0.0.1:8000``, chain 1;
  the ``URI`` on the message's own domain unless given).
- `sign_in(client, wallet)`: the full flow; returns a `SignedIn` (token, account id, wallet).
- `owner_of_new_workspace(client)`: a fresh wallet signed in, owning a new workspace.
- `join(client, owner, workspace_id, role)`: a fresh wallet invited with `role` and joined.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime

import httpx
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak

from cyphera.auth.siwe import format_datetime

DOMAIN = "127.0.0.1:8000"  # the default CYPHERA_API__PUBLIC_URL's authority
CHAIN_ID = 1
ISSUED_AT = "2026-03-01T12:00:00Z"  # the `api_clock` fixture's time
WORKSPACE_HEADER = "Cyphera-Workspace"
_wallets = itertools.count()


def new_wallet() -> LocalAccount:
    """A fresh key, deterministic per test run."""
    return Account.from_key(keccak(text=f"cyphera-test-wallet-{next(_wallets)}"))


def siwe_text(
    address: str,
    nonce: str,
    *,
    domain: str = DOMAIN,
    scheme: str | None = None,
    chain_id: int = CHAIN_ID,
    issued_at: str = ISSUED_AT,
    statement: str | None = "Sign in to Cyphera.",
    expiration_time: str | None = None,
    not_before: str | None = None,
    request_id: str | None = None,
    resources: list[str] | None = None,
    uri: str | None = None,
) -> str:
    origin = f"{scheme}://{domain}" if scheme else domain
    uri = uri or f"{scheme or 'http'}://{domain}/login"
    lines = [f"{origin} wants you to sign in with your Ethereum account:", address, ""]
    if statement is not None:
        lines += [statement]
    lines += [
        "",
        f"URI: {uri}",
        "Version: 1",
        f"Chain ID: {chain_id}",
        f"Nonce: {nonce}",
        f"Issued At: {issued_at}",
    ]
    if expiration_time is not None:
        lines.append(f"Expiration Time: {expiration_time}")
    if not_before is not None:
        lines.append(f"Not Before: {not_before}")
    if request_id is not None:
        lines.append(f"Request ID: {request_id}")
    if resources is not None:
        lines.append("Resources:")
        lines += [f"- {r}" for r in resources]
    return "\n".join(lines)


def sign(wallet: LocalAccount, text: str) -> str:
    return "0x" + bytes(wallet.sign_message(encode_defunct(text=text)).signature).hex()


def iso(value: datetime) -> str:
    return format_datetime(value)


@dataclass(frozen=True)
class SignedIn:
    token: str
    account_id: str
    wallet: LocalAccount

    def headers(self, workspace_id: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"}
        if workspace_id is not None:
            headers[WORKSPACE_HEADER] = workspace_id
        return headers


async def nonce(client: httpx.AsyncClient) -> str:
    response = await client.post("/v1/auth/siwe/nonce")
    assert response.status_code == 200, response.text
    return str(response.json()["nonce"])


async def sign_in(client: httpx.AsyncClient, wallet: LocalAccount | None = None) -> SignedIn:
    wallet = wallet or new_wallet()
    text = siwe_text(wallet.address, await nonce(client))
    response = await client.post(
        "/v1/auth/siwe/verify", json={"message": text, "signature": sign(wallet, text)}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    return SignedIn(token=body["token"], account_id=body["account"]["id"], wallet=wallet)


async def owner_of_new_workspace(
    client: httpx.AsyncClient, name: str = "Acme"
) -> tuple[SignedIn, str]:
    owner = await sign_in(client)
    response = await client.post("/v1/workspaces", json={"name": name}, headers=owner.headers())
    assert response.status_code == 200, response.text
    return owner, str(response.json()["id"])


async def join(
    client: httpx.AsyncClient, owner: SignedIn, workspace_id: str, role: str
) -> tuple[SignedIn, str]:
    """A fresh wallet invited by `owner` with `role`, signed in and joined; and its member id."""
    member = await sign_in(client)
    invited = await client.post(
        "/v1/invitations",
        json={"address": member.wallet.address, "role": role},
        headers=owner.headers(workspace_id),
    )
    assert invited.status_code == 200, invited.text
    accepted = await client.post(
        "/v1/invitations/accept",
        json={"token": invited.json()["token"]},
        headers=member.headers(),
    )
    assert accepted.status_code == 200, accepted.text
    members = await client.get("/v1/members?limit=100", headers=owner.headers(workspace_id))
    member_id = next(
        m["id"] for m in members.json()["data"] if m["account"]["id"] == member.account_id
    )
    return member, member_id
