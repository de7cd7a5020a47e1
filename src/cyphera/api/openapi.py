"""The OpenAPI document: our error shape instead of FastAPI's 422, and the Bearer scheme."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi._compat import get_flat_models_from_fields, get_model_name_map
from fastapi.openapi.utils import get_fields_from_routes, get_openapi
from pydantic import BaseModel

_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def install_openapi(app: FastAPI) -> None:
    """Make `app.openapi` describe what the API really answers.

    Validation failures are ``400`` with `ErrorResponse` (see `cyphera.api.errors`), never FastAPI's
    ``422``, so its 422 entries and schemas are dropped.
    """

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                if isinstance(operation, dict):
                    operation.get("responses", {}).pop("422", None)
        schemas = schema.get("components", {}).get("schemas", {})
        for name in _FASTAPI_VALIDATION_SCHEMAS:
            schemas.pop(name, None)
        _restore_examples(app, schemas)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _restore_examples(app: FastAPI, schemas: dict[str, Any]) -> None:
    """Put back the `null`s of the models' examples, which FastAPI's encoding drops.

    Without them an example lacks its required nullable fields (``"canceled_at": null``) and is
    not valid against its own schema. The component names come from FastAPI's own naming
    (``fastapi._compat``, private: pinned with FastAPI, and `tests/api/test_app.py` validates every
    served example, so a change there fails a test rather than silently serving bad examples).
    """
    fields = get_fields_from_routes(list(app.routes))
    for model, name in get_model_name_map(get_flat_models_from_fields(fields, set())).items():
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        examples = model.model_json_schema().get("examples")
        if examples is None:
            continue
        for component in (name, f"{name}-Input", f"{name}-Output"):
            if "examples" in schemas.get(component, {}):
                schemas[component]["examples"] = examples
