"""Helpers for tests and demo data on the local chain: transactions, time, snapshots, tokens, 7702.

All of them talk to anvil through ordinary JSON-RPC (plus anvil's ``evm_*``/``anvil_*`` methods)
and sign locally with eth-account, so they work the same on any anvil, persisted or fresh.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress, HexStr
from eth_utils.address import to_checksum_address
from eth_utils.conversions import to_bytes
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import Web3Exception
from web3.types import RPCEndpoint, TxParams, TxReceipt

from cyphera.chain.devnet.anvil import dev_accounts
from cyphera.chain.errors import DevnetError
from cyphera.chain.models import Token

DELEGATION_DESIGNATOR = bytes.fromhex("ef0100")  # EIP-7702: code of a delegated EOA is this ‖ impl
_PRIORITY_FEE_WEI = 1_000_000_000
_RECEIPT_TIMEOUT_SECONDS = 30.0
_MINT_SELECTOR = Web3.keccak(text="mint(address,uint256)")[:4]


def rpc(w3: Web3, method: str, params: Sequence[Any] = ()) -> Any:
    """Call a raw JSON-RPC method (for anvil's ``evm_*``/``anvil_*``); raise `DevnetError` on error."""
    response = w3.provider.make_request(RPCEndpoint(method), list(params))
    if "error" in response:
        raise DevnetError(f"{method} failed: {response['error']}")
    return response.get("result")


def fee_fields(w3: Web3) -> dict[str, int]:
    """EIP-1559 fee fields with room for the base fee to double."""
    base_fee = int(w3.eth.get_block("latest").get("baseFeePerGas", 0) or 0)
    return {
        "maxFeePerGas": 2 * base_fee + _PRIORITY_FEE_WEI,
        "maxPriorityFeePerGas": _PRIORITY_FEE_WEI,
    }


def send_transactions(
    w3: Web3, sender: LocalAccount, transactions: Sequence[dict[str, Any]]
) -> list[TxReceipt]:
    """Sign and send `transactions` back to back with consecutive nonces, then wait for them all.

    Each entry holds ``to`` (omit to create a contract), ``data``, and optionally ``value`` and
    ``gas`` (estimated when absent). Raises `DevnetError` if any transaction reverts.
    """
    chain_id = w3.eth.chain_id
    nonce = w3.eth.get_transaction_count(sender.address, "pending")
    fees = fee_fields(w3)
    hashes: list[HexBytes] = []
    for offset, partial in enumerate(transactions):
        tx: dict[str, Any] = {
            "chainId": chain_id,
            "nonce": nonce + offset,
            "value": 0,
            "data": b"",
            **fees,
            **partial,
        }
        try:
            if "gas" not in tx:
                tx["gas"] = w3.eth.estimate_gas(cast(TxParams, {**tx, "from": sender.address}))
            signed = sender.sign_transaction(tx)
            hashes.append(w3.eth.send_raw_transaction(signed.raw_transaction))
        except (Web3Exception, OSError) as exc:
            raise DevnetError(
                f"transaction {offset} of {len(transactions)} from {sender.address} was refused: "
                f"{exc}"
            ) from exc
    receipts = [
        w3.eth.wait_for_transaction_receipt(h, timeout=_RECEIPT_TIMEOUT_SECONDS, poll_latency=0.02)
        for h in hashes
    ]
    failed = [r["transactionHash"].to_0x_hex() for r in receipts if r["status"] != 1]
    if failed:
        raise DevnetError(f"transactions reverted: {', '.join(failed)}")
    return receipts


def transact(
    w3: Web3, sender: LocalAccount, to: str, data: bytes = b"", *, value: int = 0
) -> TxReceipt:
    """Send one call from `sender` and wait for its successful receipt."""
    call = {"to": to_checksum_address(to), "data": data, "value": value}
    return send_transactions(w3, sender, [call])[0]


# --- time and snapshots ---------------------------------------------------------------------


def latest_timestamp(w3: Web3) -> int:
    """The timestamp of the latest block."""
    return int(w3.eth.get_block("latest")["timestamp"])


def mine(w3: Web3, blocks: int = 1) -> int:
    """Mine `blocks` empty blocks; return the latest block number."""
    rpc(w3, "anvil_mine", [hex(blocks)])
    return w3.eth.block_number


def time_travel(w3: Web3, seconds: int) -> int:
    """Move chain time forward by `seconds` and mine a block; return the new latest timestamp.

    ``evm_increaseTime`` only affects the *next* block, so the block is mined here: an ``eth_call``
    pre-flight made right after this sees the new time.
    """
    if seconds < 0:
        raise ValueError("time only moves forward; revert a snapshot to go back")
    rpc(w3, "evm_increaseTime", [seconds])
    rpc(w3, "evm_mine")
    return latest_timestamp(w3)


def set_next_block_timestamp(w3: Web3, timestamp: int, *, mine_block: bool = True) -> int:
    """Make the next block carry `timestamp` (mined at once unless `mine_block` is false).

    Returns the latest block's timestamp afterwards.
    """
    rpc(w3, "evm_setNextBlockTimestamp", [timestamp])
    if mine_block:
        rpc(w3, "evm_mine")
    return latest_timestamp(w3)


def snapshot(w3: Web3) -> str:
    """Take an ``evm_snapshot``; `revert` to it later (each id can be reverted to once)."""
    return str(rpc(w3, "evm_snapshot"))


def revert(w3: Web3, snapshot_id: str) -> None:
    """Restore the chain (state, blocks and time) to `snapshot_id`."""
    if rpc(w3, "evm_revert", [snapshot_id]) is not True:
        raise DevnetError(f"evm_revert({snapshot_id}) failed: unknown or already used snapshot")


def set_balance(w3: Web3, address: str, wei: int) -> None:
    """Set the native balance of `address` (``anvil_setBalance``)."""
    rpc(w3, "anvil_setBalance", [to_checksum_address(address), hex(wei)])


# --- tokens ---------------------------------------------------------------------------------


def fund_token(
    w3: Web3,
    token: Token | str,
    to: str,
    amount: int,
    *,
    sender: LocalAccount | None = None,
) -> TxReceipt:
    """Mint `amount` base units of a test token to `to` (``mint`` is open to anyone).

    `sender` pays the gas; by default the first dev account.
    """
    address = token.address if isinstance(token, Token) else token
    data = _MINT_SELECTOR + _encode_address_uint(to, amount)
    return transact(w3, sender or dev_accounts()[0], address, data)


def token_balance(w3: Web3, token: Token | str, owner: str) -> int:
    """``balanceOf(owner)`` of an ERC-20."""
    address = token.address if isinstance(token, Token) else token
    data = Web3.keccak(text="balanceOf(address)")[:4] + bytes(12) + to_bytes(hexstr=HexStr(owner))
    result = w3.eth.call({"to": to_checksum_address(address), "data": data})
    return int.from_bytes(result, "big")


def _encode_address_uint(address: str, amount: int) -> bytes:
    if not 0 <= amount < 2**256:
        raise ValueError(f"amount {amount} is not a uint256")
    return bytes(12) + to_bytes(hexstr=HexStr(address)) + amount.to_bytes(32, "big")


# --- EIP-7702 -------------------------------------------------------------------------------


def upgrade_to_7702(
    w3: Web3, account: LocalAccount, impl: str, sponsor: LocalAccount | None = None
) -> TxReceipt:
    """Delegate `account`'s code to `impl` with an EIP-7702 (type 4) transaction.

    When `sponsor` sends it, the authorization carries the account's current nonce; when the
    account sends it itself (no sponsor) the transaction consumes that nonce first, so the
    authorization carries nonce + 1. Verifies the code became ``0xef0100 ‖ impl``.
    """
    return upgrade_many_to_7702(w3, [account], impl, sponsor or account)


def upgrade_many_to_7702(
    w3: Web3, accounts: Sequence[LocalAccount], impl: str, sender: LocalAccount
) -> TxReceipt:
    """Delegate every account in `accounts` to `impl` in one type-4 transaction sent by `sender`."""
    if not accounts:
        raise ValueError("no accounts to upgrade")
    impl_address = to_checksum_address(impl)
    chain_id = w3.eth.chain_id
    authorizations = []
    for account in accounts:
        nonce = int(w3.eth.get_transaction_count(account.address, "pending"))
        if account.address == sender.address:
            nonce += 1  # the transaction itself uses `nonce` before the authorization is applied
        authorizations.append(
            account.sign_authorization(
                {"chainId": chain_id, "address": impl_address, "nonce": nonce}
            )
        )
    receipt = send_transactions(
        w3,
        sender,
        [
            {
                "to": sender.address,
                "authorizationList": authorizations,
                "gas": 60_000 + 30_000 * len(accounts),
            }
        ],
    )[0]
    expected = DELEGATION_DESIGNATOR + to_bytes(hexstr=HexStr(impl_address))
    for account in accounts:
        code = bytes(w3.eth.get_code(account.address))
        if code != expected:
            raise DevnetError(
                f"{account.address} code is 0x{code.hex()} after the 7702 upgrade, expected "
                f"0x{expected.hex()}: check the authorization nonce and chain id"
            )
    return receipt


def delegated_implementation(w3: Web3, address: str) -> ChecksumAddress | None:
    """The EIP-7702 implementation `address` delegates to, or None for a plain account."""
    code = bytes(w3.eth.get_code(to_checksum_address(address)))
    if len(code) == 23 and code.startswith(DELEGATION_DESIGNATOR):
        return to_checksum_address(code[3:])
    return None
