"""Proof that a granted permission was signed by the account that pays, before anything is stored.

An ERC-7715 grant arrives from the wallet with the delegation the server built and the account's
signature over it; the caveats alone prove nothing about who signed. The DelegationManager will
accept a delegation whose signature ECDSA-recovers to its delegator (an EOA, or a 7702-upgraded
EOA signing with its own key), or, for an account with code, one its ``isValidSignature``
(ERC-1271) accepts. The same two tests run here, before a customer, permission or subscription is
created — so a forged or random signature never completes a checkout, trial or not.
"""

from __future__ import annotations

from cyphera.auth.signatures import SignatureChecker
from cyphera.delegation import ValidatedPermission, delegation_digest, recover_delegation_signer
from cyphera.delegation.errors import DelegationError


def _recovers(validated: ValidatedPermission, index: int) -> bool:
    delegation = validated.delegations[index]
    try:
        signer = recover_delegation_signer(
            delegation,
            chain_id=validated.chain_id,
            delegation_manager=validated.delegation_manager,
        )
    except DelegationError:
        return False
    return signer == delegation.delegator


async def is_signed_by_its_accounts(
    validated: ValidatedPermission, *, checker: SignatureChecker
) -> bool:
    """Whether every delegation of `validated` is signed by its delegator (ECDSA or ERC-1271).

    `Unavailable` from the checker (the chain cannot be asked) propagates: not proven is not
    refused, and the customer may retry.
    """
    if validated.signature_recovers_delegator:
        return True
    for index, delegation in enumerate(validated.delegations):
        if _recovers(validated, index):
            continue
        digest = delegation_digest(
            delegation,
            chain_id=validated.chain_id,
            delegation_manager=validated.delegation_manager,
        )
        if not await checker.is_valid_signature(
            chain_id=validated.chain_id,
            account=delegation.delegator,
            digest=digest,
            signature=delegation.signature,
        ):
            return False
    return True
