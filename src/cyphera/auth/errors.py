"""Authentication and permission errors of the API (codes integrators switch on)."""

from __future__ import annotations

from cyphera.exceptions import Forbidden, Unauthenticated


class ApiKeyMissing(Unauthenticated):
    code = "api_key_missing"


class ApiKeyInvalid(Unauthenticated):
    code = "api_key_invalid"


class ApiKeyRevoked(Unauthenticated):
    code = "api_key_revoked"


class PermissionDenied(Forbidden):
    code = "permission_denied"
