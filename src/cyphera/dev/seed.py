"""Demo data for ``cyphera dev``: one workspace with a payout address, a product and a price.

Idempotent: the demo workspace is found by name on later runs, and its secret key (stored only as
a hash) is shown on the first run alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from cyphera.chain.local import LOCAL_NETWORK_KEY
from cyphera.config import DatabaseSettings
from cyphera.db.engine import create_engine, create_sessionmaker, transaction
from cyphera.dev.stack import merchant_payout_address
from cyphera.kit.ids import new_id
from cyphera.models import PayoutAddress, Price, Product, Workspace
from cyphera.models.mixins import Mode
from cyphera.models.price import Interval, PriceType
from cyphera.workspace.service import create_workspace

DEMO_WORKSPACE = "Demo Store"


@dataclass(frozen=True)
class Seeded:
    workspace_id: str
    secret_key: str | None


async def seed_demo(database_url: str) -> Seeded:
    engine = create_engine(DatabaseSettings(url=database_url, pool_size=1))  # type: ignore[arg-type]
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            existing = (
                await session.execute(select(Workspace).where(Workspace.name == DEMO_WORKSPACE))
            ).scalar_one_or_none()
            if existing is not None:
                return Seeded(workspace_id=existing.id, secret_key=None)
            workspace, secret_key = await create_workspace(session, name=DEMO_WORKSPACE)
            session.add(
                PayoutAddress(
                    id=new_id("payout"),
                    workspace_id=workspace.id,
                    mode=Mode.TEST,
                    network=LOCAL_NETWORK_KEY,
                    address=merchant_payout_address(),
                )
            )
            product = Product(
                id=new_id("prod"),
                workspace_id=workspace.id,
                mode=Mode.TEST,
                name="Pro plan",
                description="Everything in Cyphera's demo store, billed monthly in USDC or USDT.",
                active=True,
                metadata_={},
            )
            session.add(product)
            await session.flush()
            session.add(
                Price(
                    id=new_id("price"),
                    workspace_id=workspace.id,
                    mode=Mode.TEST,
                    product_id=product.id,
                    type=PriceType.RECURRING,
                    unit_amount=1999,
                    currency="usd",
                    recurring_interval=Interval.MONTH,
                    recurring_interval_count=1,
                    active=True,
                    metadata_={},
                )
            )
            return Seeded(workspace_id=workspace.id, secret_key=secret_key)
    finally:
        await engine.dispose()
