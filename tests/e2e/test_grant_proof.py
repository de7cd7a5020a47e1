"""A checkout completes only with a grant its account really signed.

The wallet (MetaMask) is the faked part; the accounts, the DelegationManager and the ERC-1271
answers are the real framework's on anvil. A forged grant (the exact delegation, signed by a
stranger or carrying 65 random bytes) is refused before anything is created — with a trial too,
where no first charge would have caught it. A smart account (HybridDeleGator) whose owner signed
is proven through ERC-1271 and pays.
"""

from __future__ import annotations

import os
from typing import Any

import httpx
import pytest
from eth_account import Account
from sqlalchemy import func, select

from cyphera.models import Customer, Event, Permission, Subscription
from tests.auth.test_erc1271 import deploy_hybrid_account
from tests.e2e.test_erc7715_checkout import metamask_grant
from tests.fixtures.api import WorkspaceKeys
from tests.fixtures.platform import PRICE_CENTS, PRICE_UNITS, USDC, Platform, monthly_price


async def _checkout(
    api: httpx.AsyncClient, customer: str, *, trial_days: int = 0
) -> dict[str, Any]:
    if trial_days:
        product = (await api.post("/v1/products", json={"name": "Trial plan"})).json()
        price = (
            await api.post(
                "/v1/prices",
                json={
                    "product": product["id"],
                    "unit_amount": PRICE_CENTS,
                    "currency": "usd",
                    "recurring": {"interval": "month", "trial_period_days": trial_days},
                },
            )
        ).json()["id"]
    else:
        price = await monthly_price(api)
    session = await api.post(
        "/v1/checkout/sessions",
        json={"price": price, "customer_address": customer, "network": "local", "token": "USDC"},
    )
    assert session.status_code == 200, session.text
    return dict(session.json())


async def _nothing_created(platform: Platform) -> None:
    async with platform.sessionmaker() as db:
        for model in (Customer, Permission, Subscription):
            assert await db.scalar(select(func.count()).select_from(model)) == 0
        kinds = set(await db.scalars(select(Event.type)))
        assert not kinds & {
            "permission.granted",
            "customer.created",
            "customer.subscription.created",
        }


@pytest.mark.parametrize("trial_days", [0, 14])
@pytest.mark.parametrize("forgery", ["stranger", "random"])
async def test_a_grant_the_account_did_not_sign_is_refused_and_creates_nothing(
    platform: Platform, workspace: WorkspaceKeys, forgery: str, trial_days: int
) -> None:
    chain = platform.chain
    customer = chain.new_account()
    chain.upgrade_to_7702(customer, sponsor=customer)
    chain.fund_token("USDC", customer.address, 100 * USDC)
    merchant = chain.new_account(ether=0).address
    async with httpx.AsyncClient(base_url=platform.api_url, headers=workspace.headers) as api:
        await api.post("/v1/payout_addresses/local", json={"address": merchant})
        session = await _checkout(api, customer.address, trial_days=trial_days)
        request = session["permission_request"]["erc7715"]
        if forgery == "stranger":
            grant = metamask_grant(chain, chain.new_account(), request, delegator=customer.address)
        else:
            grant = metamask_grant(chain, customer, request, signature=os.urandom(65))

        refused = await api.post(
            f"/v1/checkout/sessions/{session['id']}/complete", json={"grant": grant}
        )

        assert refused.status_code == 400, refused.text
        error = refused.json()["error"]
        assert error["code"] == "permission_invalid"
        assert error["param"] == "grant"
        still_open = (await api.get(f"/v1/checkout/sessions/{session['id']}")).json()
        assert still_open["status"] == "open"
    await _nothing_created(platform)
    assert chain.token_balance("USDC", merchant) == 0


async def test_a_smart_account_grant_is_proven_through_erc1271_and_pays(
    platform: Platform, workspace: WorkspaceKeys
) -> None:
    chain = platform.chain
    owner = chain.new_account()
    account = deploy_hybrid_account(chain, owner)
    chain.fund_token("USDC", account, 100 * USDC)
    merchant = chain.new_account(ether=0).address
    async with httpx.AsyncClient(base_url=platform.api_url, headers=workspace.headers) as api:
        await api.post("/v1/payout_addresses/local", json={"address": merchant})
        session = await _checkout(api, account)
        request = session["permission_request"]["erc7715"]
        # The owner's key signs for the account: ecrecover gives the owner, not the account.
        grant = metamask_grant(chain, owner, request, delegator=account)

        completed = await api.post(
            f"/v1/checkout/sessions/{session['id']}/complete", json={"grant": grant}
        )

        assert completed.status_code == 200, completed.text
        subscription = (
            await api.get(f"/v1/subscriptions/{completed.json()['subscription']}")
        ).json()
        assert subscription["status"] == "active"
    assert chain.token_balance("USDC", merchant) == PRICE_UNITS
    assert chain.token_balance("USDC", account) == 100 * USDC - PRICE_UNITS


async def test_a_smart_account_signs_the_eip712_delegation_through_its_owner(
    platform: Platform, workspace: WorkspaceKeys
) -> None:
    chain = platform.chain
    owner, stranger = chain.new_account(), chain.new_account()
    account = deploy_hybrid_account(chain, owner)
    chain.fund_token("USDC", account, 100 * USDC)
    merchant = chain.new_account(ether=0).address
    async with httpx.AsyncClient(base_url=platform.api_url, headers=workspace.headers) as api:
        await api.post("/v1/payout_addresses/local", json={"address": merchant})
        session = await _checkout(api, account)
        typed = session["permission_request"]["eip712"]
        complete = f"/v1/checkout/sessions/{session['id']}/complete"

        # A stranger's signature is not the account's: ERC-1271 says no
        forged = Account.sign_typed_data(stranger.key, full_message=typed).signature
        refused = await api.post(complete, json={"signature": "0x" + forged.hex()})
        assert refused.status_code == 400, refused.text
        assert (refused.json()["error"]["code"], refused.json()["error"]["param"]) == (
            "permission_invalid",
            "signature",
        )

        # The owner's is: the account vouches for it, and the first period is paid
        signature = Account.sign_typed_data(owner.key, full_message=typed).signature
        completed = await api.post(complete, json={"signature": "0x" + signature.hex()})
        assert completed.status_code == 200, completed.text
    assert chain.token_balance("USDC", merchant) == PRICE_UNITS
