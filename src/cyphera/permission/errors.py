"""Errors of the permission domain."""

from __future__ import annotations

from cyphera.exceptions import NotFound


class PermissionMissing(NotFound):
    code = "resource_missing"
