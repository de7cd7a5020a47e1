from __future__ import annotations

from cyphera.exceptions import Conflict, InvalidRequest, NotFound


class PaymentLinkNotFound(NotFound):
    code = "resource_missing"


class PaymentLinkInactive(Conflict):
    """The merchant deactivated the link: it opens no more checkout sessions."""

    code = "payment_link_inactive"


class PaymentLinkParameterInvalid(InvalidRequest):
    code = "parameter_invalid"
