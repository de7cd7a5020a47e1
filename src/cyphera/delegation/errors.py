"""The exception tree of `cyphera.delegation`.

The library is pure and imports no other Cyphera package, so it has its own small root instead of
`cyphera.exceptions.AppError`; services wrap these at their boundary (``raise X(...) from exc``)
and can switch on the stable ``code``.

Tree::

    DelegationError            code: a stable snake_case identifier
    ├── EncodingError          a value cannot be encoded or bytes cannot be decoded
    │   └── SignatureError     a signature is malformed or does not recover
    ├── TermsError             caveat terms out of range or of the wrong length
    └── PermissionRejected     a grant failed the allow-list in `erc7715.validate_periodic_grant`
"""

from __future__ import annotations


class DelegationError(Exception):
    """Root of every error this library raises on purpose.

    ``code`` is a stable snake_case identifier (for example ``invalid_address``); ``message`` is a
    sentence for a human.
    """

    code: str = "delegation_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class EncodingError(DelegationError):
    """A value cannot be ABI/EIP-712 encoded, or bytes do not decode as the expected structure."""

    code = "encoding_error"


class SignatureError(EncodingError):
    """A signature is not 65 bytes r‖s‖v with v in {27, 28} and a low s, or does not recover."""

    code = "invalid_signature"


class TermsError(DelegationError):
    """Caveat terms are out of range (builders) or malformed (decoders)."""

    code = "invalid_terms"


class PermissionRejected(DelegationError):
    """A permission grant does not match what we asked for; ``code`` says which check failed."""

    code = "permission_rejected"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)
