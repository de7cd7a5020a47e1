"""Reading the dashboard's HTML forms into the API's request models, with the API's errors.

A form's fields are text; they become the same pydantic models the REST API validates
(`cyphera.catalog.schemas` …), so a form is refused exactly where the API would refuse the body,
with its message (`form_model`). Amounts are typed as dollars and cents ("19.99") and become
integer cents here, never a float.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from cyphera.exceptions import HTTP_STATUS_BY_KIND, AppError, InvalidRequest
from cyphera.kit.clock import to_unix

M = TypeVar("M", bound=BaseModel)
CENT = Decimal("0.01")


def cents(text: str, *, param: str = "amount") -> int:
    """``"19.99"`` → ``1999``; anything else than a non-negative amount with at most two decimals
    is refused."""
    try:
        value = Decimal(text.strip().replace(",", "").lstrip("$"))
    except InvalidOperation:
        raise InvalidRequest(
            f"{text!r} is not an amount; write it like 19.99", code="parameter_invalid", param=param
        ) from None
    if not value.is_finite() or value < 0 or value.quantize(CENT) != value:
        raise InvalidRequest(
            f"{text!r} is not an amount in dollars and cents; write it like 19.99",
            code="parameter_invalid",
            param=param,
        )
    return int(value * 100)


def decimal_number(text: str, param: str) -> Decimal:
    """``"12.5"`` → ``Decimal("12.5")``: a finite number typed in a form (a percentage …)."""
    try:
        value = Decimal(text.strip().rstrip("%").strip())
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise InvalidRequest(f"{text!r} is not a number", code="parameter_invalid", param=param)
    return value


def end_of_day(text: str, param: str) -> int:
    """``"2026-12-31"`` (an ``<input type=date>``) → the Unix time that day ends, UTC (the last
    second of it): "redeem by the 31st" includes the 31st."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidRequest(
            f"{text!r} is not a date; pick one like 2026-12-31",
            code="parameter_invalid",
            param=param,
        ) from None
    return to_unix(datetime.combine(day, time.max.replace(microsecond=0), tzinfo=UTC))


def whole_number(text: str, param: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise InvalidRequest(
            f"{text!r} is not a whole number", code="parameter_invalid", param=param
        ) from None


def form_model(model: type[M], data: dict[str, Any]) -> M:
    """`data` validated as `model` (JSON mode, as the API reads bodies), or the API's 400."""
    try:
        return model.model_validate_json(_json(data))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise InvalidRequest(
            f"{where}: {first['msg']}", code="parameter_invalid", param=where or None
        ) from None


def form_error(exc: AppError | None) -> dict[str, str | None] | None:
    """What a page shows of a form's refusal, inline (``dashboard/_form.html``'s ``form_error``):
    the service's message, its stable code, and the field at fault."""
    if exc is None:
        return None
    return {"message": exc.message, "code": exc.code, "param": exc.param}


def error_status(exc: AppError | None) -> int:
    """The status of a page that shows `exc` inline (200 when there is none)."""
    return 200 if exc is None else HTTP_STATUS_BY_KIND[exc.kind]


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data)
