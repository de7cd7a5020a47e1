"""Smart accounts sign in through ERC-1271, checked on a real chain (anvil with the framework).

Two kinds of account, both real MetaMask Delegation Framework contracts:
- a 7702-upgraded EOA (EIP7702StatelessDeleGator): its code answers ``isValidSignature`` for
  signatures of its own key;
- a HybridDeleGator behind an ERC-1967 proxy: an address no key controls, whose owner's
  signature only the contract can vouch for — the path ecrecover cannot take.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from eth_abi.abi import encode
from eth_account.signers.local import LocalAccount
from eth_utils.conversions import to_bytes
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.api.app import create_app
from cyphera.auth.chain_reader import RpcSignatureChecker
from cyphera.auth.errors import SignatureCheckUnavailable
from cyphera.auth.signatures import parse_signature, personal_message_digest
from cyphera.chain.devnet import Devnet, send_transactions
from cyphera.chain.local import LOCAL_CHAIN_ID
from cyphera.chain.networks import NetworkRegistry
from cyphera.config import AuthSettings, Settings
from cyphera.kit.clock import FrozenClock
from cyphera.models.account import Account
from tests.auth.signin import new_wallet, nonce, sign, siwe_text
from tests.fixtures.api import serve


def deploy_hybrid_account(chain: Devnet, owner: LocalAccount) -> str:
    """A HybridDeleGator proxy owned by `owner` (ECDSA only); returns its address."""
    implementation = chain.deployment.framework.hybrid_delegator_impl
    initialize = chain.w3.eth.contract(abi=chain.artifacts.abi("HybridDeleGator")).encode_abi(
        "initialize", [owner.address, [], [], []]
    )
    arguments = encode(["address", "bytes"], [implementation, to_bytes(hexstr=initialize)])
    creation = to_bytes(hexstr=chain.artifacts.bytecode("ERC1967Proxy")) + arguments
    receipt = send_transactions(chain.w3, chain.deployer, [{"data": creation, "gas": 3_000_000}])
    return str(receipt[0]["contractAddress"])


@pytest.fixture
def checker(chain: Devnet) -> RpcSignatureChecker:
    return RpcSignatureChecker(chain.registry)


async def test_7702_account_vouches_for_its_keys_signature(
    chain: Devnet, checker: RpcSignatureChecker
) -> None:
    account, stranger = chain.new_account(), new_wallet()
    chain.upgrade_to_7702(account)
    text = siwe_text(account.address, "Qm3kTq9vX2pL7wZ4", chain_id=LOCAL_CHAIN_ID)
    digest = personal_message_digest(text)

    own = await checker.is_valid_signature(
        chain_id=LOCAL_CHAIN_ID,
        account=account.address,
        digest=digest,
        signature=parse_signature(sign(account, text)),
    )
    foreign = await checker.is_valid_signature(
        chain_id=LOCAL_CHAIN_ID,
        account=account.address,
        digest=digest,
        signature=parse_signature(sign(stranger, text)),
    )
    other_digest = await checker.is_valid_signature(
        chain_id=LOCAL_CHAIN_ID,
        account=account.address,
        digest=personal_message_digest(text + "x"),
        signature=parse_signature(sign(account, text)),
    )

    assert own is True
    assert foreign is False
    assert other_digest is False


async def test_account_without_code_or_chain_vouches_for_nothing(
    chain: Devnet, checker: RpcSignatureChecker
) -> None:
    plain = chain.new_account()
    text = siwe_text(plain.address, "Qm3kTq9vX2pL7wZ4", chain_id=LOCAL_CHAIN_ID)
    signature = parse_signature(sign(plain, text))

    no_code = await checker.is_valid_signature(
        chain_id=LOCAL_CHAIN_ID,
        account=plain.address,
        digest=personal_message_digest(text),
        signature=signature,
    )
    unknown_chain = await checker.is_valid_signature(
        chain_id=999_999,
        account=plain.address,
        digest=personal_message_digest(text),
        signature=signature,
    )

    assert no_code is False
    assert unknown_chain is False


async def test_unreachable_chain_is_unavailable_not_a_refusal(chain: Devnet) -> None:
    down = NetworkRegistry([dataclasses.replace(chain.network, rpc_urls=("http://127.0.0.1:9",))])
    account = chain.new_account()

    with pytest.raises(SignatureCheckUnavailable) as raised:
        await RpcSignatureChecker(down).is_valid_signature(
            chain_id=LOCAL_CHAIN_ID,
            account=account.address,
            digest=b"\x00" * 32,
            signature=b"\x00" * 65,
        )

    assert raised.value.code == "chain_unavailable"


@pytest.fixture
def chain_api_server(
    chain: Devnet, database_url: str, api_settings: Settings, api_clock: FrozenClock
) -> Iterator[str]:
    settings = api_settings.model_copy(
        update={"auth": AuthSettings(siwe_chain_ids=[LOCAL_CHAIN_ID])}
    )
    with serve(create_app(settings, clock=api_clock, registry=chain.registry)) as url:
        yield url


@pytest.fixture
async def chain_client(chain_api_server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=chain_api_server, timeout=10.0) as http:
        yield http


async def test_smart_account_signs_in_through_erc1271(
    chain: Devnet,
    chain_client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    owner = new_wallet()
    smart_account = deploy_hybrid_account(chain, owner)
    text = siwe_text(smart_account, await nonce(chain_client), chain_id=LOCAL_CHAIN_ID)

    response = await chain_client.post(
        "/v1/auth/siwe/verify", json={"message": text, "signature": sign(owner, text)}
    )

    assert response.status_code == 200, response.text
    assert response.json()["account"]["wallet_address"] == smart_account
    async with sessionmaker() as session:
        addresses = (await session.scalars(select(Account.wallet_address))).all()
    assert addresses == [smart_account]  # the contract's address, never its owner's


async def test_smart_account_refuses_a_signature_not_of_its_owner(
    chain: Devnet,
    chain_client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    owner, stranger = new_wallet(), new_wallet()
    smart_account = deploy_hybrid_account(chain, owner)
    text = siwe_text(smart_account, await nonce(chain_client), chain_id=LOCAL_CHAIN_ID)

    response = await chain_client.post(
        "/v1/auth/siwe/verify", json={"message": text, "signature": sign(stranger, text)}
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "siwe_signature_invalid"
    async with sessionmaker() as session:
        assert (await session.scalars(select(Account))).all() == []


async def test_7702_upgraded_account_signs_in(
    chain: Devnet, chain_client: httpx.AsyncClient
) -> None:
    account = chain.new_account()
    chain.upgrade_to_7702(account)
    text = siwe_text(account.address, await nonce(chain_client), chain_id=LOCAL_CHAIN_ID)

    response = await chain_client.post(
        "/v1/auth/siwe/verify", json={"message": text, "signature": sign(account, text)}
    )

    assert response.status_code == 200, response.text
    assert response.json()["account"]["wallet_address"] == account.address


async def test_message_for_a_chain_not_configured_is_refused(
    chain_client: httpx.AsyncClient,
) -> None:
    wallet = new_wallet()
    text = siwe_text(wallet.address, await nonce(chain_client), chain_id=1)

    response = await chain_client.post(
        "/v1/auth/siwe/verify", json={"message": text, "signature": sign(wallet, text)}
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "siwe_chain_mismatch"
