"""Reading the chain before signing: would a redemption go through, and if not, why.

Every charge is simulated with ``eth_call`` — the exact ``redeemDelegations`` call, from the
relayer — before it is signed. A revert there is proof the charge cannot move funds now, so the
charge fails with a classified reason and nothing is broadcast. An unreachable chain proves
nothing: it raises `ChainUnavailable` and the charge stays pending.
"""

from __future__ import annotations

from collections.abc import Sequence

from cyphera.delegation import (
    RevertReason,
    decode_disabled_delegations,
    decode_erc20_balance_of,
    decode_get_available_amount,
    decode_revert,
    encode_disabled_delegations,
    encode_erc20_balance_of,
    encode_get_available_amount,
    encode_redeem_delegations,
    hash_delegation,
)
from cyphera.delegation.caveats import ERC20_PERIOD_TRANSFER_ENFORCER
from cyphera.signer.chains import ChainRuntime
from cyphera.signer.errors import ChainUnavailable
from cyphera.signer.policy import Redemption
from cyphera.signer.rpc import CallReverted, RpcError
from cyphera.signer.schemas import FailureCode, PreflightResult

# decode_revert's codes → the signer's stable failure codes. Codes absent here are generic
# ("the token refused", "unknown revert"): `classify` looks at balances and revocation to name them.
_REVERT_CODES: dict[str, FailureCode] = {
    "insufficient_balance": FailureCode.INSUFFICIENT_BALANCE,
    "permission_revoked": FailureCode.PERMISSION_REVOKED,
    "permission_expired": FailureCode.PERMISSION_EXPIRED,
    "period_cap_reached": FailureCode.PERIOD_CAP_REACHED,
    "allowance_exhausted": FailureCode.PERIOD_CAP_REACHED,
    "invalid_permission": FailureCode.INVALID_PERMISSION,
    "permission_not_yet_valid": FailureCode.INVALID_PERMISSION,
    "already_disabled": FailureCode.PERMISSION_REVOKED,
}


def redeem_calldata(redemptions: Sequence[Redemption]) -> bytes:
    """``redeemDelegations`` calldata carrying every redemption, in order."""
    return encode_redeem_delegations(
        [r.permission_context for r in redemptions],
        [r.mode for r in redemptions],
        [r.execution_calldata for r in redemptions],
    )


class Preflight:
    """Chain reads for one chain on behalf of one relayer."""

    def __init__(self, chain: ChainRuntime, relayer: str) -> None:
        self._chain = chain
        self._relayer = relayer

    async def simulate(self, redemptions: Sequence[Redemption]) -> RevertReason | None:
        """None when the batch would succeed now, else why it reverts."""
        try:
            await self._chain.rpc.call(
                to=self._chain.delegation_manager,
                data=redeem_calldata(redemptions),
                sender=self._relayer,
            )
        except CallReverted as exc:
            return decode_revert(exc.revert_data)
        except RpcError as exc:
            # Not a revert: the node refused the request itself. Nothing is proven.
            raise ChainUnavailable(
                f"chain {self._chain.chain_id}: eth_call refused ({exc.code})"
            ) from exc
        return None

    async def check(self, redemption: Redemption) -> tuple[FailureCode, str] | None:
        """None when `redemption` alone would succeed now, else its failure code and message."""
        reason = await self.simulate([redemption])
        if reason is None:
            return None
        return await self.classify(redemption, reason)

    async def classify(
        self, redemption: Redemption, reason: RevertReason
    ) -> tuple[FailureCode, str]:
        """A stable code for a revert of `redemption`."""
        code = _REVERT_CODES.get(reason.code)
        if code is not None:
            return code, reason.message
        # Tokens and accounts do not always bubble a useful reason (a 7702 account may wrap the
        # token's revert in ExecutionFailed()): look at the two usual causes directly.
        if await self.token_balance(redemption) < redemption.amount:
            return (
                FailureCode.INSUFFICIENT_BALANCE,
                f"token balance below amount ({reason.message})",
            )
        if await self.is_revoked(redemption):
            return FailureCode.PERMISSION_REVOKED, f"delegation disabled ({reason.message})"
        return FailureCode.TRANSACTION_REVERTED, reason.message

    async def token_balance(self, redemption: Redemption) -> int:
        data = await self._chain.rpc.call(
            to=redemption.token, data=encode_erc20_balance_of(redemption.delegator)
        )
        return decode_erc20_balance_of(data)

    async def is_revoked(self, redemption: Redemption) -> bool:
        """Whether any delegation in the chain is disabled at the manager."""
        for delegation in redemption.delegations:
            data = await self._chain.rpc.call(
                to=self._chain.delegation_manager,
                data=encode_disabled_delegations(hash_delegation(delegation)),
            )
            if decode_disabled_delegations(data):
                return True
        return False

    async def available_in_period(self, redemption: Redemption) -> int:
        enforcer = self._chain.network.framework.enforcer(ERC20_PERIOD_TRANSFER_ENFORCER)
        data = await self._chain.rpc.call(
            to=enforcer,
            data=encode_get_available_amount(
                redemption.delegation_hash, self._chain.delegation_manager, redemption.period_terms
            ),
        )
        available, _, _ = decode_get_available_amount(data)
        return available

    async def report(self, redemption: Redemption) -> PreflightResult:
        """Everything PreflightCharge answers, read now."""
        outcome = await self.check(redemption)
        head = await self._chain.rpc.latest_block()
        return PreflightResult(
            ok=outcome is None,
            failure_code=outcome[0].value if outcome else None,
            failure_message=outcome[1] if outcome else None,
            available_in_period=await self.available_in_period(redemption),
            token_balance=await self.token_balance(redemption),
            is_revoked=await self.is_revoked(redemption),
            is_expired=redemption.expiry is not None and head.timestamp >= redemption.expiry,
        )
