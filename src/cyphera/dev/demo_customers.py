"""Demo customers for `cyphera dev`: real subscriptions, charged on the local chain.

So that the dashboard has figures to show on a first start, three of anvil's dev accounts
(indices 5-7; never the deployer, the relayer or the merchant's payout account) subscribe to
the demo price exactly as a customer would: each account is upgraded to the framework's EIP-7702
delegator and given 100 test USDC, a checkout session is opened for it, its key signs the
server-built EIP-712 delegation, the session is completed by the same service the API uses, and
the first charge is collected through the running signer: the transfers are on the chain. Done
once: a workspace that already has subscriptions gets none.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import structlog
from eth_account import Account
from pydantic import SecretStr
from sqlalchemy import func, select

from cyphera.auth.chain_reader import RpcSignatureChecker
from cyphera.chain.devnet import Devnet
from cyphera.chain.devnet.anvil import dev_accounts
from cyphera.chain.local import LOCAL_NETWORK_KEY
from cyphera.chain.networks import NetworkRegistry
from cyphera.checkout import completion
from cyphera.checkout import service as checkout_sessions
from cyphera.checkout.terms import prepared_terms, signing_request
from cyphera.config import DatabaseSettings
from cyphera.db.engine import create_engine, create_sessionmaker, transaction
from cyphera.kit.clock import system_clock
from cyphera.models import Price, Subscription
from cyphera.models.mixins import Mode
from cyphera.payment.gateway import ChargeGateway

CUSTOMER_INDICES = (5, 6, 7)
FUNDS = 100 * 10**6  # 100 test USDC (6 decimals)
PAID_IN = "USDC"

log = structlog.get_logger(__name__)


async def subscribe_demo_customers(
    database_url: str,
    *,
    workspace_id: str,
    registry: NetworkRegistry,
    gateway: ChargeGateway,
    devnet: Devnet,
    permission_lifetime_days: int = 3 * 365,
) -> int:
    """Subscribe the demo customers to the demo price; returns how many were charged."""
    engine = create_engine(DatabaseSettings(url=SecretStr(database_url), pool_size=2))
    sessionmaker = create_sessionmaker(engine)
    checker = RpcSignatureChecker(registry)
    charged = 0
    try:
        async with sessionmaker() as session:
            existing = await session.scalar(
                select(func.count())
                .select_from(Subscription)
                .where(Subscription.workspace_id == workspace_id)
            )
            price = await session.scalar(
                select(Price)
                .where(Price.workspace_id == workspace_id, Price.active.is_(True))
                .order_by(Price.created_at)
                .limit(1)
            )
        if existing or price is None:
            return 0
        accounts = dev_accounts(max(CUSTOMER_INDICES) + 1)
        for index in CUSTOMER_INDICES:
            customer = accounts[index]
            await asyncio.to_thread(devnet.upgrade_to_7702, customer, sponsor=customer)
            await asyncio.to_thread(devnet.fund_token, PAID_IN, customer.address, FUNDS)
            async with transaction(sessionmaker) as session:
                checkout = await checkout_sessions.create_session(
                    session,
                    workspace_id=workspace_id,
                    mode=Mode.TEST,
                    price_id=price.id,
                    quantity=1,
                    registry=registry,
                    gateway=gateway,
                    clock=system_clock,
                    permission_lifetime=timedelta(days=permission_lifetime_days),
                    customer_address=customer.address,
                    network_key=LOCAL_NETWORK_KEY,
                    token_symbol=PAID_IN,
                )
                typed = signing_request(prepared_terms(checkout))
            signature = bytes(Account.sign_typed_data(customer.key, full_message=typed).signature)
            async with transaction(sessionmaker) as session:
                completed = await completion.complete_session(
                    session,
                    workspace_id=workspace_id,
                    mode=Mode.TEST,
                    checkout_id=checkout.id,
                    signature=signature,
                    grant=None,
                    registry=registry,
                    checker=checker,
                    clock=system_clock,
                )
            await completion.collect_first_charge(
                sessionmaker, completed, registry=registry, gateway=gateway, clock=system_clock
            )
            charged += 1
            log.info("dev.demo_customer_subscribed", customer=customer.address)
    finally:
        await engine.dispose()
    return charged
