"""Checkout completed with an ERC-7715 grant, as MetaMask Advanced Permissions answers
`wallet_requestExecutionPermissions` — the wallet is the one part faked here (we cannot run
MetaMask), and it builds exactly the delegation MetaMask builds for an `erc20-token-periodic`
request: period transfer, ValueLte(0), Nonce, Timestamp, Redeemer and the payee lock."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
from eth_account.signers.local import LocalAccount

from cyphera.chain.devnet import Devnet
from cyphera.delegation import (
    ROOT_AUTHORITY,
    Caveat,
    Delegation,
    decode_current_nonce,
    encode_current_nonce,
    encode_permission_context,
    sign_delegation,
    terms,
)
from tests.fixtures.api import WorkspaceKeys
from tests.fixtures.platform import PRICE_UNITS, USDC, Platform, monthly_price


def metamask_grant(
    chain: Devnet,
    customer: LocalAccount,
    request: dict[str, Any],
    *,
    delegator: str | None = None,
    signature: bytes | None = None,
) -> dict[str, Any]:
    """What MetaMask returns for `request`: the signed 6-caveat delegation as `context`.

    `customer` signs, for `delegator` (default: the customer's own address; a smart account's
    address when `customer` is its owner). `signature` replaces the signature (a forgery).
    """
    framework = chain.deployment.framework
    delegator = delegator or customer.address
    data = request["permission"]["data"]
    rules = {rule["type"]: rule["data"] for rule in request["rules"]}
    nonce = decode_current_nonce(
        bytes(
            chain.w3.eth.call(
                {
                    "to": framework.enforcer("NonceEnforcer"),
                    "data": encode_current_nonce(framework.delegation_manager, delegator),
                }
            )
        )
    )
    caveats = [
        Caveat(
            framework.enforcer("ERC20PeriodTransferEnforcer"),
            terms.erc20_period_transfer(
                data["tokenAddress"],
                int(data["periodAmount"], 16),
                data["periodDuration"],
                data["startTime"],
            ),
        ),
        Caveat(framework.enforcer("ValueLteEnforcer"), terms.value_lte(0)),
        Caveat(framework.enforcer("NonceEnforcer"), terms.nonce(nonce)),
        Caveat(
            framework.enforcer("TimestampEnforcer"),
            terms.timestamp(0, rules["expiry"]["timestamp"]),
        ),
        Caveat(framework.enforcer("RedeemerEnforcer"), terms.redeemer([request["to"]])),
        Caveat(
            framework.enforcer("AllowedCalldataEnforcer"),
            terms.payee(rules["payee"]["addresses"][0]),
        ),
    ]
    delegation = sign_delegation(
        Delegation(
            delegate=request["to"],
            delegator=delegator,
            authority=ROOT_AUTHORITY,
            caveats=caveats,
            salt=7715,
        ),
        customer.key,
        chain_id=chain.deployment.chain_id,
        delegation_manager=framework.delegation_manager,
    )
    if signature is not None:
        delegation = dataclasses.replace(delegation, signature=signature)
    return {
        **request,
        "context": "0x" + encode_permission_context([delegation]).hex(),
        "delegationManager": framework.delegation_manager,
        "dependencies": [],
    }


async def test_a_metamask_erc7715_grant_completes_checkout_and_pays(
    platform: Platform, workspace: WorkspaceKeys
) -> None:
    chain = platform.chain
    customer = chain.new_account()
    chain.upgrade_to_7702(customer, sponsor=customer)
    chain.fund_token("USDC", customer.address, 100 * USDC)
    merchant = chain.new_account(ether=0).address
    async with httpx.AsyncClient(base_url=platform.api_url, headers=workspace.headers) as api:
        await api.post("/v1/payout_addresses/local", json={"address": merchant})
        price = await monthly_price(api, name="Pro")
        session = (
            await api.post(
                "/v1/checkout/sessions",
                json={
                    "price": price,
                    "customer_address": customer.address,
                    "network": "local",
                    "token": "USDC",
                },
            )
        ).json()
        request = session["permission_request"]["erc7715"]

        # A grant for a larger amount than the plan's is refused and nothing is created
        greedy = {
            **request,
            "permission": {
                **request["permission"],
                "data": {**request["permission"]["data"], "periodAmount": hex(PRICE_UNITS * 2)},
            },
        }
        refused = await api.post(
            f"/v1/checkout/sessions/{session['id']}/complete",
            json={"grant": metamask_grant(chain, customer, greedy)},
        )
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "permission_invalid"
        assert chain.token_balance("USDC", merchant) == 0

        # The exact grant completes the checkout and the first period is paid on-chain
        completed = await api.post(
            f"/v1/checkout/sessions/{session['id']}/complete",
            json={"grant": metamask_grant(chain, customer, request)},
        )
        assert completed.status_code == 200, completed.text
        subscription = (
            await api.get(f"/v1/subscriptions/{completed.json()['subscription']}")
        ).json()
        assert subscription["status"] == "active"
        [permission] = (await api.get("/v1/permissions")).json()["data"]
        assert permission["source"] == "erc7715"
    assert chain.token_balance("USDC", merchant) == PRICE_UNITS
    assert chain.token_balance("USDC", customer.address) == 100 * USDC - PRICE_UNITS
