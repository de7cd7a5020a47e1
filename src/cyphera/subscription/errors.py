"""Errors of subscriptions. Domain errors: the API maps their `kind` to a status (409 for conflicts)."""

from __future__ import annotations

from cyphera.exceptions import Conflict, InvalidRequest, NotFound


class SubscriptionMissing(NotFound):
    code = "resource_missing"


class SubscriptionStateInvalid(Conflict):
    """The subscription's status does not allow this now (a refused transition)."""

    code = "subscription_state_invalid"


class PermissionInsufficient(Conflict):
    """The customer's on-chain permission cannot pay for this: a new checkout session is needed."""

    code = "permission_insufficient"


class PermissionUnusable(Conflict):
    """The customer's permission is revoked or expired: nothing more can be charged under it."""

    code = "permission_unusable"


class ProrationNotChargeable(Conflict):
    """An immediate proration charge would not fit in the current on-chain window."""

    code = "proration_not_chargeable"


class PriceNotUsable(InvalidRequest):
    code = "price_not_usable"


class PayoutAddressMissing(InvalidRequest):
    """The workspace has no payout address on the subscription's network for a new permission."""

    code = "payout_address_missing"


class PaymentInFlight(Conflict):
    """A payment of the subscription is with the signer: its outcome must be known first."""

    code = "payment_in_flight"


class PermissionAccountMismatch(InvalidRequest):
    """A permission for a subscription was granted by another account than its customer's."""

    code = "permission_account_mismatch"
