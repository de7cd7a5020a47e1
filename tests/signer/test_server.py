"""The gRPC edge: authentication, status codes, relayer status, graceful stop."""

from __future__ import annotations

import grpc
import pytest
from grpc import aio

from cyphera.exceptions import NotFound, Unauthenticated, Unavailable
from cyphera.signer.client import SignerClient
from cyphera.signer.proto.cyphera.signer.v1 import signer_pb2 as pb
from cyphera.signer.proto.cyphera.signer.v1 import signer_pb2_grpc as pb_grpc
from cyphera.signer.schemas import ChargeStatus
from cyphera.signer.server import BearerTokenInterceptor, RunningSigner
from tests.signer.conftest import TOKEN, USDC, SignerWorld, StartSigner


async def test_a_call_without_a_token_is_unauthenticated(
    world: SignerWorld, signer: tuple[RunningSigner, SignerClient]
) -> None:
    running, _ = signer
    grant = world.grant(world.customer())
    async with aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        stub = pb_grpc.SignerStub(channel)
        request = pb.RedeemChargesRequest(
            charges=[
                pb.ChargeRequest(
                    idempotency_key="sneaky",
                    chain_id=31337,
                    permission_context=grant.context,
                    token=grant.token,
                    payee=grant.payee,
                    amount=str(USDC),
                )
            ]
        )
        with pytest.raises(aio.AioRpcError) as raised:
            await stub.RedeemCharges(request, timeout=5)

    assert raised.value.code() is grpc.StatusCode.UNAUTHENTICATED
    assert await world.charge_row("sneaky") is None
    assert world.balance(grant.payee) == 0


@pytest.mark.parametrize(
    "header", ["Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", TOKEN, "Bearer "]
)
async def test_a_wrong_token_is_unauthenticated(
    world: SignerWorld, signer: tuple[RunningSigner, SignerClient], header: str
) -> None:
    running, _ = signer
    async with aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        stub = pb_grpc.SignerStub(channel)
        with pytest.raises(aio.AioRpcError) as raised:
            await stub.GetCharge(
                pb.GetChargeRequest(idempotency_key="x"),
                metadata=(("authorization", header),),
                timeout=5,
            )

    assert raised.value.code() is grpc.StatusCode.UNAUTHENTICATED


async def test_the_client_maps_unauthenticated(signer: tuple[RunningSigner, SignerClient]) -> None:
    running, _ = signer
    async with SignerClient(f"127.0.0.1:{running.port}", "not-the-token", 5) as wrong:
        with pytest.raises(Unauthenticated):
            await wrong.get_charge("x")


async def test_any_configured_token_is_accepted(world: SignerWorld, start: StartSigner) -> None:
    settings = world.settings(auth_tokens=["old-token-being-rotated-out-000000", TOKEN])
    running, client = await start(settings=settings)
    async with SignerClient(
        f"127.0.0.1:{running.port}", "old-token-being-rotated-out-000000"
    ) as old:
        assert await old.get_charge("x") is None
    assert await client.get_charge("x") is None


def test_token_comparison_accepts_only_exact_bearer_tokens() -> None:
    interceptor = BearerTokenInterceptor(["a-token", "another-token"])

    assert interceptor.is_valid("Bearer a-token")
    assert interceptor.is_valid("bearer another-token")
    assert not interceptor.is_valid("Bearer a-toke")
    assert not interceptor.is_valid("Bearer a-tokenn")
    assert not interceptor.is_valid("a-token")
    assert not interceptor.is_valid("")


async def test_relayer_status_reports_balance_nonce_and_in_flight(
    world: SignerWorld, client: SignerClient
) -> None:
    grant = world.grant(world.customer())
    await client.redeem_charges([grant.charge("status", amount=USDC)], wait_seconds=10)

    status = await client.relayer_status(31337)

    assert status.address == world.relayer.address
    assert status.chain_id == 31337
    assert status.nonce == 1
    assert status.pending_transactions == 0
    assert 0 < status.balance_wei < 10 * 10**18


async def test_relayer_status_of_an_unserved_chain_is_not_found(client: SignerClient) -> None:
    with pytest.raises(NotFound) as raised:
        await client.relayer_status(1)

    assert raised.value.code == "chain_not_served"


async def test_a_stopped_signer_is_unavailable_to_the_client(
    signer: tuple[RunningSigner, SignerClient],
) -> None:
    running, client = signer
    await running.stop(grace=0)

    with pytest.raises(Unavailable):
        await client.get_charge("x")


async def test_wait_seconds_zero_answers_at_once_with_a_pending_charge(
    world: SignerWorld, client: SignerClient
) -> None:
    grant = world.grant(world.customer())

    [result] = await client.redeem_charges([grant.charge("nowait", amount=USDC)], wait_seconds=0)
    [later] = await client.redeem_charges([grant.charge("nowait", amount=USDC)], wait_seconds=10)

    assert result.status is ChargeStatus.PENDING
    assert result.tx_hash is None
    assert later.status is ChargeStatus.CONFIRMED
