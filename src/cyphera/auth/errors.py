"""Authentication and permission errors of the API (codes integrators switch on)."""

from __future__ import annotations

from cyphera.exceptions import Forbidden, InvalidRequest, Unauthenticated, Unavailable


class ApiKeyMissing(Unauthenticated):
    code = "api_key_missing"


class ApiKeyInvalid(Unauthenticated):
    code = "api_key_invalid"


class ApiKeyRevoked(Unauthenticated):
    code = "api_key_revoked"


class CsrfInvalid(Forbidden):
    """A page's form or script post without its session's CSRF token (or with another's)."""

    code = "csrf_invalid"


class PermissionDenied(Forbidden):
    code = "permission_denied"


# --- dashboard sessions ---------------------------------------------------------------------


class SessionMissing(Unauthenticated):
    code = "session_missing"


class SessionInvalid(Unauthenticated):
    """Unknown or revoked: the two are told apart in no answer, so a stolen hash reveals nothing."""

    code = "session_invalid"


class SessionExpired(Unauthenticated):
    code = "session_expired"


class SessionRequired(Unauthenticated):
    """An API key was sent where only a signed-in account may act (managing the workspace)."""

    code = "session_required"


class WorkspaceHeaderMissing(InvalidRequest):
    code = "workspace_missing"


# --- Sign-In with Ethereum (EIP-4361) -------------------------------------------------------


class SiweMessageInvalid(InvalidRequest):
    """The message does not follow the EIP-4361 grammar."""

    code = "siwe_message_invalid"

    def __init__(self, message: str) -> None:
        super().__init__(message, param="message")


class SiweAddressChecksumInvalid(InvalidRequest):
    code = "siwe_address_checksum_invalid"

    def __init__(self, message: str) -> None:
        super().__init__(message, param="message")


class SiweSignatureMalformed(InvalidRequest):
    code = "siwe_signature_invalid"

    def __init__(self, message: str) -> None:
        super().__init__(message, param="signature")


class SiweDomainMismatch(Unauthenticated):
    code = "siwe_domain_mismatch"


class SiweUriMismatch(Unauthenticated):
    """The message's ``URI`` is not on the site it signs in to."""

    code = "siwe_uri_mismatch"


class SiweChainMismatch(Unauthenticated):
    code = "siwe_chain_mismatch"


class SiweMessageExpired(Unauthenticated):
    code = "siwe_message_expired"


class SiweMessageNotYetValid(Unauthenticated):
    code = "siwe_message_not_yet_valid"


class SiweNonceInvalid(Unauthenticated):
    """The nonce was never issued by this server."""

    code = "siwe_nonce_invalid"


class SiweNonceExpired(Unauthenticated):
    code = "siwe_nonce_expired"


class SiweNonceUsed(Unauthenticated):
    """A replay: the nonce already signed someone in."""

    code = "siwe_nonce_used"


class SiweSignatureInvalid(Unauthenticated):
    code = "siwe_signature_invalid"


class SignatureCheckUnavailable(Unavailable):
    """The chain could not be asked whether a smart account's signature is valid (ERC-1271)."""

    code = "chain_unavailable"


# --- OpenID Connect -------------------------------------------------------------------------


class OidcNotConfigured(InvalidRequest):
    code = "oidc_not_configured"


class OidcTokenInvalid(Unauthenticated):
    code = "oidc_token_invalid"


class OidcTokenExpired(Unauthenticated):
    code = "oidc_token_expired"


class OidcNonceMismatch(OidcTokenInvalid):
    """The ID token carries another sign-in's nonce (or none): it was not issued for this one."""

    code = "oidc_nonce_mismatch"


class OidcStateInvalid(Unauthenticated):
    """A sign-in callback whose ``state`` this browser did not start, or one already used."""

    code = "oidc_state_invalid"


class OidcCodeRefused(Unauthenticated):
    """The provider's token endpoint refused the authorization code (used, expired, not ours)."""

    code = "oidc_code_refused"


class OidcSignInDeclined(Unauthenticated):
    """The provider sent the browser back with an error (the person declined, or it failed)."""

    code = "oidc_sign_in_declined"


class OidcProviderUnavailable(Unavailable):
    code = "oidc_provider_unavailable"
