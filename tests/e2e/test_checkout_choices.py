"""A checkout link made before the wallet is known: the customer chooses network, token and wallet.

The merchant creates a session for a price and the networks and tokens they accept; it has no
terms until it is prepared for the customer's wallet and choice. Preparing again with another
wallet replaces the terms, so only a signature over the newest ones completes it — and the charge
then lands on anvil, through the real signer, in the token the customer chose.
"""

from __future__ import annotations

from typing import Any

import httpx
from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import func, select

from cyphera.models import CheckoutSession, Subscription
from tests.fixtures.api import WorkspaceKeys
from tests.fixtures.platform import (
    PRICE_CENTS,
    PRICE_UNITS,
    USDC,
    Platform,
    customer_account,
    monthly_price,
)


async def _payouts(api: httpx.AsyncClient, address: str, *networks: str) -> None:
    for network in networks:
        response = await api.post(f"/v1/payout_addresses/{network}", json={"address": address})
        assert response.status_code == 200, response.text


def _error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


def _sign(customer: LocalAccount, session: dict[str, Any]) -> str:
    typed = session["permission_request"]["eip712"]
    return "0x" + bytes(Account.sign_typed_data(customer.key, full_message=typed).signature).hex()


async def test_a_link_for_any_wallet_is_prepared_by_the_customer_and_charged_in_their_token(
    platform: Platform, workspace: WorkspaceKeys
) -> None:
    chain = platform.chain
    merchant = chain.new_account(ether=0).address
    customer = customer_account(chain)
    chain.fund_token("USDT", customer.address, 100 * USDC)
    other_wallet = customer_account(chain)
    async with httpx.AsyncClient(base_url=platform.api_url, headers=workspace.headers) as api:
        price = await monthly_price(api)
        await _payouts(api, merchant, "local", "base-sepolia")

        # Given a session made with no wallet, network or token: it offers what the merchant accepts
        created = await api.post("/v1/checkout/sessions", json={"price": price})
        assert created.status_code == 200, created.text
        session = created.json()
        assert session["accepted_networks"] == ["base-sepolia", "local"]
        assert session["accepted_tokens"] == ["USDC", "USDT"]
        assert session["amount_total"] == PRICE_CENTS
        assert session["url"].endswith(f"/pay/{session['id']}?key={session['client_secret']}")
        assert session["permission_request"] is None
        assert session["network"] is session["customer_address"] is session["token"] is None
        sid = session["id"]

        # Then it cannot be completed before it is prepared
        early = await api.post(
            f"/v1/checkout/sessions/{sid}/complete", json={"signature": "0x" + "11" * 65}
        )
        assert _error(early, 409)["code"] == "checkout_session_not_prepared"

        # And preparing needs a wallet and a choice among what is offered
        no_wallet = await api.post(
            f"/v1/checkout/sessions/{sid}/prepare", json={"network": "local"}
        )
        assert _error(no_wallet, 400)["code"] == "customer_address_required"
        ambiguous = await api.post(
            f"/v1/checkout/sessions/{sid}/prepare", json={"customer_address": customer.address}
        )
        assert _error(ambiguous, 400) == {
            "type": "invalid_request_error",
            "code": "checkout_choice_required",
            "param": "network",
            "message": ambiguous.json()["error"]["message"],
        }
        which_token = await api.post(
            f"/v1/checkout/sessions/{sid}/prepare",
            json={"customer_address": customer.address, "network": "local"},
        )
        error = _error(which_token, 400)
        assert (error["code"], error["param"]) == ("checkout_choice_required", "token")
        assert "USDC, USDT" in error["message"]
        not_offered = await api.post(
            f"/v1/checkout/sessions/{sid}/prepare",
            json={"customer_address": customer.address, "network": "sepolia", "token": "USDC"},
        )
        assert _error(not_offered, 400)["code"] == "network_unsupported"
        not_carried = await api.post(
            f"/v1/checkout/sessions/{sid}/prepare",
            json={
                "customer_address": customer.address,
                "network": "base-sepolia",
                "token": "USDT",
            },
        )
        assert _error(not_carried, 400)["code"] == "token_unsupported"
        # (the hosted page's URL and its secret are the same whenever the session is read)
        assert (await api.get(f"/v1/checkout/sessions/{sid}")).json() == session

        # When another wallet prepares it first, then the customer switches to their own
        first = await api.post(
            f"/v1/checkout/sessions/{sid}/prepare",
            json={"customer_address": other_wallet.address, "network": "local", "token": "USDT"},
        )
        assert first.status_code == 200, first.text
        stale = first.json()
        prepared = await api.post(
            f"/v1/checkout/sessions/{sid}/prepare",
            json={"customer_address": customer.address, "network": "local", "token": "USDT"},
        )
        assert prepared.status_code == 200, prepared.text
        session = prepared.json()
        terms = session["permission_request"]["terms"]
        assert (session["network"], session["token"]) == ("local", "USDT")
        assert session["customer_address"] == customer.address
        assert terms["token"] == "USDT"
        assert terms["token_address"] == platform.registry.get("local").tokens["USDT"].address
        assert terms["amount_per_period"] == str(PRICE_UNITS)
        assert terms["payee"] == merchant
        assert session["permission_request"]["eip712"]["message"]["delegator"] == customer.address

        # Then preparing again with the same choice keeps the terms a signature may be in flight for
        again = await api.post(
            f"/v1/checkout/sessions/{sid}/prepare",
            json={"customer_address": customer.address, "network": "local", "token": "USDT"},
        )
        assert again.json()["permission_request"] == session["permission_request"]

        # And a signature over the replaced terms is refused
        replaced = await api.post(
            f"/v1/checkout/sessions/{sid}/complete", json={"signature": _sign(other_wallet, stale)}
        )
        assert _error(replaced, 400)["code"] == "permission_invalid"

        # When the customer signs the newest terms
        completed = await api.post(
            f"/v1/checkout/sessions/{sid}/complete", json={"signature": _sign(customer, session)}
        )
        assert completed.status_code == 200, completed.text

        # Then the first period is charged on-chain in USDT, from the customer to the merchant
        assert chain.token_balance("USDT", merchant) == PRICE_UNITS
        assert chain.token_balance("USDC", merchant) == 0
        assert chain.token_balance("USDT", other_wallet.address) == 0
        subscription = (
            await api.get(f"/v1/subscriptions/{completed.json()['subscription']}")
        ).json()
        assert subscription["status"] == "active"
        [payment] = (await api.get("/v1/payments")).json()["data"]
        assert (payment["network"], payment["token_address"], payment["status"]) == (
            "local",
            terms["token_address"],
            "succeeded",
        )

        # And a completed session can no longer be prepared
        late = await api.post(
            f"/v1/checkout/sessions/{sid}/prepare",
            json={"customer_address": other_wallet.address, "network": "local", "token": "USDC"},
        )
        assert _error(late, 409)["code"] == "checkout_session_not_open"


async def test_a_session_for_a_named_wallet_is_prepared_at_once_and_keeps_that_wallet(
    platform: Platform, workspace: WorkspaceKeys
) -> None:
    customer = customer_account(platform.chain)
    async with httpx.AsyncClient(base_url=platform.api_url, headers=workspace.headers) as api:
        price = await monthly_price(api)
        await _payouts(api, platform.chain.new_account(ether=0).address, "local", "base-sepolia")

        # Given a wallet and one network, whose only offered token decides the rest
        created = await api.post(
            "/v1/checkout/sessions",
            json={
                "price": price,
                "customer_address": customer.address,
                "networks": ["local"],
                "tokens": ["USDC"],
            },
        )
        assert created.status_code == 200, created.text
        session = created.json()
        assert (session["accepted_networks"], session["accepted_tokens"]) == (["local"], ["USDC"])
        assert session["permission_request"]["terms"]["token"] == "USDC"

        # Then the customer cannot prepare it for another wallet
        other = Account.create().address
        refused = await api.post(
            f"/v1/checkout/sessions/{session['id']}/prepare", json={"customer_address": other}
        )
        assert _error(refused, 400) == {
            "type": "invalid_request_error",
            "code": "customer_address_mismatch",
            "param": "customer_address",
            "message": refused.json()["error"]["message"],
        }
        # And preparing with nothing new returns the same terms
        same = await api.post(f"/v1/checkout/sessions/{session['id']}/prepare", json={})
        assert same.json() == session

        # And the wallet without a network choice waits to be prepared
        open_choice = await api.post(
            "/v1/checkout/sessions", json={"price": price, "customer_address": customer.address}
        )
        assert open_choice.json()["customer_address"] == customer.address
        assert open_choice.json()["permission_request"] is None


async def test_the_offer_is_checked_when_the_session_is_created(
    platform: Platform, workspace: WorkspaceKeys
) -> None:
    async with httpx.AsyncClient(base_url=platform.api_url, headers=workspace.headers) as api:
        price = await monthly_price(api)

        # Given no payout address at all, there is nothing to offer
        nothing = await api.post("/v1/checkout/sessions", json={"price": price})
        assert _error(nothing, 400)["code"] == "payout_address_missing"

        await _payouts(api, platform.chain.new_account(ether=0).address, "local")
        cases: list[tuple[dict[str, Any], str, str]] = [
            ({"networks": ["nowhere"]}, "network_unsupported", "networks"),
            ({"networks": ["base"]}, "network_unsupported", "networks"),  # a live network
            ({"networks": ["local", "sepolia"]}, "payout_address_missing", "networks"),
            ({"tokens": ["DAI"]}, "token_unsupported", "tokens"),
            ({"networks": ["local"], "tokens": ["USDC", "DAI"]}, "token_unsupported", "tokens"),
            ({"networks": ["local"], "network": "sepolia"}, "network_unsupported", "network"),
            ({"tokens": ["USDC"], "token": "USDT"}, "token_unsupported", "token"),
            ({"networks": []}, "parameter_invalid", "networks"),
        ]
        for extra, code, param in cases:
            response = await api.post("/v1/checkout/sessions", json={"price": price, **extra})
            error = _error(response, 400)
            assert (error["code"], error["param"]) == (code, param), (extra, error)

        # And the default offer is every test network with a payout address, with its tokens
        default = (await api.post("/v1/checkout/sessions", json={"price": price})).json()
        assert default["accepted_networks"] == ["local"]
        assert default["accepted_tokens"] == sorted(platform.registry.get("local").tokens)

    # And nothing was written by the refused requests
    async with platform.sessionmaker() as db:
        assert await db.scalar(select(func.count()).select_from(CheckoutSession)) == 1
        assert await db.scalar(select(func.count()).select_from(Subscription)) == 0
