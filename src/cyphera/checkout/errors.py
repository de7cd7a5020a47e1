from __future__ import annotations

from cyphera.exceptions import Conflict, InvalidRequest, NotFound


class CheckoutError(InvalidRequest):
    code = "checkout_invalid"


class PriceNotUsable(CheckoutError):
    code = "price_not_usable"


class NetworkUnsupported(CheckoutError):
    code = "network_unsupported"


class TokenUnsupported(CheckoutError):
    code = "token_unsupported"


class PayoutAddressMissing(CheckoutError):
    code = "payout_address_missing"


class PermissionInvalid(CheckoutError):
    code = "permission_invalid"


class CheckoutSessionNotFound(NotFound):
    code = "resource_missing"


class CheckoutSessionNotOpen(Conflict):
    code = "checkout_session_not_open"


class CustomerAddressRequired(CheckoutError):
    code = "customer_address_required"


class CustomerAddressMismatch(CheckoutError):
    code = "customer_address_mismatch"


class ChoiceRequired(CheckoutError):
    code = "checkout_choice_required"


class CheckoutSessionNotPrepared(Conflict):
    code = "checkout_session_not_prepared"


class CheckoutTermsFixed(Conflict):
    code = "checkout_session_terms_fixed"
