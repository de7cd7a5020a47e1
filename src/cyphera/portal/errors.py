from __future__ import annotations

from cyphera.auth.errors import CsrfInvalid
from cyphera.exceptions import Conflict, NotFound, Unauthenticated


class PortalSignInRequired(Unauthenticated):
    """No portal session, or one that expired or was signed out: sign in again."""

    code = "portal_sign_in_required"


class PortalCsrfInvalid(CsrfInvalid):
    pass


class PortalLinkInvalid(NotFound):
    """An unknown portal link, a wrong key, or an expired link: the same answer for all three."""

    code = "resource_missing"


class PortalSubscriptionMissing(NotFound):
    code = "resource_missing"


class PortalStatementInvalid(Unauthenticated):
    code = "siwe_statement_invalid"


class CancelNotAllowed(Conflict):
    code = "portal_cancel_not_allowed"


class RevocationNotOnChain(Conflict):
    """The chain does not (yet) say the delegation is disabled: nothing is recorded."""

    code = "revocation_not_on_chain"


class NothingToRevoke(Conflict):
    code = "permission_not_active"
