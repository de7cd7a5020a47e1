"""A real checkout (API → customer signs → first charge through the real signer on anvil), then
what the read endpoints of this package show about it: its events, its permission decoded from
the signed context, its customer, and the hosted page of its paid invoice."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from eth_account import Account
from pydantic import SecretStr

from cyphera.api.app import create_app
from cyphera.chain.devnet import Devnet
from cyphera.chain.networks import NetworkRegistry, load_registry
from cyphera.config import DatabaseSettings, Environment, Settings, SignerClientSettings
from cyphera.invoice.page import hosted_invoice_path
from cyphera.kit.clock import FrozenClock, from_unix
from cyphera.kit.hosted import DEV_HOSTED_SECRET, HOSTED_SECRET_ENV
from cyphera.signer.config import SignerSettings
from cyphera.signer.keys import RelayerKey
from cyphera.signer.server import RunningSigner, start_signer
from tests.fixtures.api import WorkspaceKeys, serve
from tests.fixtures.platform import monthly_price

TOKEN = "flow-signer-token-with-enough-entropy-0123456789"
USDC = 10**6
PRICE_CENTS = 1999
PRICE_UNITS = PRICE_CENTS * 10**4


@pytest.fixture(autouse=True)
def _dev_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(HOSTED_SECRET_ENV, raising=False)


@pytest.fixture
def flow_registry(chain: Devnet) -> NetworkRegistry:
    return load_registry(
        chain.deployment, {"CYPHERA_RPC_LOCAL": chain.rpc_url}, artifacts=chain.artifacts
    )


@pytest.fixture
async def flow_signer(
    chain: Devnet, flow_registry: NetworkRegistry, database_url: str
) -> AsyncIterator[RunningSigner]:
    settings = SignerSettings(
        database=DatabaseSettings(url=SecretStr(database_url), pool_size=5),
        auth_tokens=[SecretStr(TOKEN)],
        listen_address="127.0.0.1:0",
        poll_interval_seconds=0.1,
    )
    running = await start_signer(
        settings,
        key=RelayerKey.from_private_key(chain.new_account(ether=10).key),
        registry=flow_registry,
    )
    yield running
    with contextlib.suppress(Exception):
        await running.stop(grace=0)


@pytest.fixture
def flow_api_url(
    chain: Devnet,
    database_settings: DatabaseSettings,
    flow_registry: NetworkRegistry,
    flow_signer: RunningSigner,
) -> Iterator[str]:
    settings = Settings(
        environment=Environment.TEST,
        database=database_settings,
        signer=SignerClientSettings(target=f"127.0.0.1:{flow_signer.port}", token=SecretStr(TOKEN)),
    )
    clock = FrozenClock(from_unix(chain.latest_timestamp()))
    with serve(create_app(settings, clock=clock, registry=flow_registry)) as base_url:
        yield base_url


async def test_a_checkout_shows_up_in_events_permissions_customers_and_the_invoice_page(
    chain: Devnet, flow_registry: NetworkRegistry, flow_api_url: str, workspace: WorkspaceKeys
) -> None:
    customer = chain.new_account()
    chain.upgrade_to_7702(customer, sponsor=customer)
    chain.fund_token("USDC", customer.address, 100 * USDC)
    merchant = chain.new_account(ether=0).address
    local = flow_registry.get("local")
    async with httpx.AsyncClient(base_url=flow_api_url, headers=workspace.headers) as api:
        # Given a completed checkout whose first period was charged on-chain
        await api.post("/v1/payout_addresses/local", json={"address": merchant})
        price = await monthly_price(api)
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
        typed = session["permission_request"]["eip712"]
        signature = Account.sign_typed_data(customer.key, full_message=typed).signature
        completed = await api.post(
            f"/v1/checkout/sessions/{session['id']}/complete",
            json={"signature": "0x" + bytes(signature).hex()},
        )
        assert completed.status_code == 200, completed.text
        assert chain.token_balance("USDC", merchant) == PRICE_UNITS
        subscription = (
            await api.get(f"/v1/subscriptions/{completed.json()['subscription']}")
        ).json()
        [invoice] = (await api.get("/v1/invoices")).json()["data"]
        [payment] = (await api.get("/v1/payments")).json()["data"]

        # When the merchant reads what happened
        events = (await api.get("/v1/events", params={"limit": 100})).json()["data"]
        permission = (await api.get(f"/v1/permissions/{subscription['permission']}")).json()
        by_address = (
            await api.get("/v1/customers", params={"address": customer.address.lower()})
        ).json()["data"]
        # No API key on the hosted page: it is for the customer.
        page = await api.get(
            hosted_invoice_path(invoice["id"], secret=DEV_HOSTED_SECRET.encode()),
            headers={"Authorization": ""},
        )

    # Then the events tell the story, each about the object it changed
    about = {(e["type"], e["data"]["object_id"]) for e in events}
    assert {
        ("customer.created", subscription["customer"]),
        ("permission.granted", subscription["permission"]),
        ("invoice.created", invoice["id"]),
        ("invoice.finalized", invoice["id"]),
        ("invoice.paid", invoice["id"]),
    } <= about
    assert ("customer.updated", subscription["customer"]) not in about

    # And the permission is the signed one, decoded with the local deployment's enforcer names
    assert permission["verified"] is True
    assert permission["status"] == "active"
    assert permission["customer"] == subscription["customer"]
    assert permission["account"] == customer.address
    assert permission["network"] == "local"
    assert permission["delegation_manager"] == local.framework.delegation_manager
    assert permission["terms"]["token"] == "USDC"
    assert permission["terms"]["token_address"] == local.token("USDC").address
    assert permission["terms"]["amount_per_period"] == str(PRICE_UNITS)
    assert permission["terms"]["amount_per_period_cents"] == PRICE_CENTS
    assert permission["terms"]["period_seconds"] == 28 * 86_400
    assert permission["terms"]["payee"] == merchant
    assert permission["delegate"] == session["permission_request"]["terms"]["delegate"]
    assert {c["enforcer_name"] for c in permission["caveats"]} >= {
        "TimestampEnforcer",
        "ERC20PeriodTransferEnforcer",
        "AllowedCalldataEnforcer",
    }
    assert "unknown" not in {c["type"] for c in permission["caveats"]}

    # And the customer is found by wallet, and the paid invoice's page links its transaction
    assert [c["id"] for c in by_address] == [subscription["customer"]]
    assert page.status_code == 200
    assert payment["tx_hash"] in page.text
    assert '<span class="status status-paid" id="status">paid</span>' in page.text
