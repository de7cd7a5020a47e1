"""Errors of the operators' dead-letter actions (``cyphera dead-letters``, ``/v1/admin/…``)."""

from __future__ import annotations

from cyphera.exceptions import Conflict, Forbidden, InvalidRequest, NotFound, Unauthenticated


class DeadLetterNotFound(NotFound):
    code = "resource_missing"


class DeadLetterResolved(Conflict):
    """Retrying or discarding a dead letter that is no longer open: nothing changes."""

    code = "dead_letter_resolved"


class AdminApiDisabled(NotFound):
    """No operator token is configured: the admin API does not exist on this deployment."""

    code = "admin_api_disabled"


class AdminTokenMissing(Unauthenticated):
    code = "admin_token_missing"


class AdminTokenInvalid(Forbidden):
    code = "admin_token_invalid"


class OperatorNameInvalid(InvalidRequest):
    code = "operator_name_invalid"
