"""Refusals of `checkout.service.create_session`: a session is only opened for a usable price
and an offer the merchant can be paid in, and a refused one writes nothing. (The other checks of
the offer run over HTTP in ``tests/e2e/test_checkout_choices.py``.)"""

from __future__ import annotations

import pytest

from cyphera.chain.networks import NetworkRegistry, load_registry
from cyphera.checkout import errors
from cyphera.exceptions import ErrorKind
from cyphera.models import CheckoutSession
from tests.subscription.helpers import World, add_payout_address, create_checkout

NETWORK = "base-sepolia"


@pytest.fixture
def registry() -> NetworkRegistry:
    return load_registry(None, {})


async def test_an_archived_price_opens_no_session(world: World, registry: NetworkRegistry) -> None:
    await add_payout_address(world, network=NETWORK)
    archived = await world.price(3000, active=False)

    with pytest.raises(errors.PriceNotUsable) as refused:
        await create_checkout(world, registry, archived)

    assert (refused.value.code, refused.value.kind, refused.value.param) == (
        "price_not_usable",
        ErrorKind.INVALID,
        "price",
    )
    assert await world.count(CheckoutSession) == 0


async def test_a_free_price_opens_no_session(world: World, registry: NetworkRegistry) -> None:
    # A recurring price of 0 is a valid price, but a permission to move 0 per period is none.
    await add_payout_address(world, network=NETWORK)
    free = await world.price(0)

    with pytest.raises(errors.PriceNotUsable) as refused:
        await create_checkout(world, registry, free)

    assert (refused.value.code, refused.value.kind, refused.value.param) == (
        "price_not_usable",
        ErrorKind.INVALID,
        "price",
    )
    assert "above 0" in refused.value.message
    assert await world.count(CheckoutSession) == 0


async def test_networks_that_carry_none_of_the_tokens_open_no_session(
    world: World, registry: NetworkRegistry
) -> None:
    # Given a payout address on Base Sepolia, which carries USDC only
    await add_payout_address(world, network=NETWORK)
    price = await world.price(3000)

    # When a session is asked for there, in USDT
    with pytest.raises(errors.TokenUnsupported) as refused:
        await create_checkout(world, registry, price, networks=[NETWORK], tokens=["USDT"])

    # Then it is refused, naming what the network does accept
    assert (refused.value.code, refused.value.kind, refused.value.param) == (
        "token_unsupported",
        ErrorKind.INVALID,
        "tokens",
    )
    assert refused.value.message == "Base Sepolia carries none of USDT; it accepts USDC"
    assert await world.count(CheckoutSession) == 0
