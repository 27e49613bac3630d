"""The OpenAPI document as the API is: how a route declares its body, its answer and its errors.

A route names what it takes and answers with ``documented(...)``, spread into its decorator::

    @router.put("/orders/{assessment_order_id}/result", **documented(
        "Report a result", body=ResultIn, data=Empty, errors=(400, 404, 413, 415, 429), writes=True))

- ``body``: the pydantic model the route parses itself (``kit.body.json_body``); it becomes the
  operation's ``requestBody`` (the route keeps reading the raw body: no FastAPI body parameter).
- ``data``: the model of ``data`` in the success envelope ``{status, data, warnings}``; FastAPI only
  documents it (``response_model``): routes return an ``EnvelopeResponse``, which is sent as is, so the hot
  paths keep their own encoding (no validation or serialization by the response model).
- ``errors``: the HTTP statuses the route can answer besides 200, each documented with the Kombo error
  envelope. 401 (bad key), 414 (URL over 32 KiB) and 500 are added to every route of the vendor and admin APIs.
- ``writes``: a write action under the concurrency cap (429, ``Concurrency-Remaining``).

``install_openapi(app)`` then finishes the document once: security schemes (``bearerAuth`` for the
vendor API key, ``adminAuth`` for the admin key), ``X-Integration-Id`` as a required header, tags per
area and per ATS, and no 422 ``HTTPValidationError`` (the hub answers 400 with the envelope instead).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any, Generic, Literal, TypeVar

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

T = TypeVar("T")

PLATFORM_CODES = (
    "PLATFORM.RATE_LIMIT_EXCEEDED",
    "PLATFORM.CONCURRENCY_LIMIT_EXCEEDED",
    "PLATFORM.INTEGRATION_NOT_FOUND",
    "PLATFORM.INPUT_INVALID",
    "PLATFORM.UNKNOWN_ERROR",
    "PLATFORM.IP_NOT_WHITELISTED",
    "PLATFORM.AUTHENTICATION_INVALID",
    "PLATFORM.TASK_TIMED_OUT",
)


class ResponseWarning(BaseModel):
    """Something the hub accepted but wants the vendor to know."""

    message: str


class Success(BaseModel, Generic[T]):
    """The success envelope; ``warnings`` is always present (possibly empty)."""

    status: Literal["success"]
    data: T
    warnings: list[ResponseWarning]


class Empty(BaseModel):
    """An empty object (``{}``)."""

    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    code: Literal[PLATFORM_CODES] = Field(description="Branch on this, not on the HTTP status.")  # type: ignore[valid-type]
    title: str
    message: str = Field(description="What was wrong, naming the field and the rule.")
    log_url: str | None = Field(description="Always null: the hub's logs are the operator's.")


class ErrorEnvelope(BaseModel):
    """The Kombo error envelope: all four keys of ``error`` are always present."""

    status: Literal["error"]
    error: ErrorDetail


ERRORS = {
    400: "Invalid body, query or header (`PLATFORM.INPUT_INVALID`; the message names the field and the rule).",
    401: "Missing or wrong API key (`PLATFORM.AUTHENTICATION_INVALID`).",
    404: "Unknown resource: `PLATFORM.INTEGRATION_NOT_FOUND` for the integration, `PLATFORM.INPUT_INVALID` "
    "for anything else (order, delivery, endpoint).",
    405: "Method not allowed (`PLATFORM.INPUT_INVALID`).",
    409: "The request conflicts with the current state (`PLATFORM.INPUT_INVALID`).",
    413: "Body larger than the configured limit (`PLATFORM.INPUT_INVALID`).",
    414: "URL (path and query string) longer than 32 KiB (`PLATFORM.INPUT_INVALID`; `kit.url_limit`).",
    415: "Body not `application/json`, or a `charset` other than UTF-8 (`PLATFORM.INPUT_INVALID`).",
    429: "Too many write requests of this integration in flight, or the database was busy "
    "(`PLATFORM.CONCURRENCY_LIMIT_EXCEEDED`); nothing was stored. Retry after `Retry-After` seconds.",
    500: "A fault in the hub (`PLATFORM.UNKNOWN_ERROR`); the details are in the server log.",
}

_REMAINING = {
    "Concurrency-Remaining": {
        "description": "How many more write requests of this integration could start now.",
        "schema": {"type": "integer", "minimum": 0},
    }
}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before sending again.", "schema": {"type": "integer"}}}

BODY_KEY = "x-hub-body"
_BODY_MODELS: dict[str, type[BaseModel]] = {}
"""Request body models by name: ``openapi_extra`` carries the name (it must stay JSON-ready)."""


def documented(
    summary: str,
    *,
    description: str | None = None,
    data: Any = None,
    body: type[BaseModel] | None = None,
    errors: Iterable[int] = (),
    writes: bool = False,
) -> dict[str, Any]:
    """Keyword arguments for a route decorator (see the module docstring)."""
    statuses = sorted({*errors, *((400, 413, 415) if body is not None else ()), *((429,) if writes else ())})
    responses: dict[int | str, Any] = {}
    for status in statuses:
        entry: dict[str, Any] = {"model": ErrorEnvelope, "description": ERRORS[status]}
        headers = {**(_REMAINING if writes else {}), **(_RETRY_AFTER if status == 429 else {})}
        if headers:
            entry["headers"] = headers
        responses[status] = entry
    responses[200] = {"description": "Done: the success envelope, with what the hub has to say in `warnings`."}
    if writes:
        responses[200]["headers"] = _REMAINING
    extra: dict[str, Any] = {}
    if body is not None:
        name = f"{body.__module__}.{body.__qualname__}"
        _BODY_MODELS[name] = body
        extra[BODY_KEY] = name
    return {
        "summary": summary,
        "description": description or "",
        "response_model": Success[data] if data is not None else Success[Any],
        "responses": responses,
        "openapi_extra": extra or None,
    }


# ---------------------------------------------------------------------------------------- the document

_AREAS = (
    ("/v1/assessment", "Assessment", "The vendor's packages, orders and results."),
    ("/v1/connect", "Connect", "Connection links for the vendor's customers."),
    ("/v1/", "General", "API key check and integrations."),
    ("/admin", "Admin", "The operator's API (its own key): integrations, webhooks, deliveries, sandbox ATS."),
)
_INTERNAL = re.compile(r"§|kombo-contract|app\.state|``")


def install_openapi(app: FastAPI, tools: dict[str, str]) -> None:
    """Replace ``app.openapi`` with the finished document (built once). ``tools``: ATS tool id -> label,
    for the inbound routes' tags (``/connectors/{tool}/...``)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _finish(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                ),
                app,
                tools,
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _finish(spec: dict[str, Any], app: FastAPI, tools: dict[str, str]) -> dict[str, Any]:
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemes = components.setdefault("securitySchemes", {})
    schemes["bearerAuth"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "A vendor API key (`assessment-hub api-keys create`).",
    }
    for name, scheme in (("atsBasic", "basic"), ("atsBearer", "bearer")):
        schemes[name] = {
            "type": "http",
            "scheme": scheme,
            "description": "The key the hub minted for the integration, as the ATS sends it (see the "
            "integration's set-up): Greenhouse as the Basic user name, Teamtailor as Bearer, Ashby either.",
        }
    schemes["adminAuth"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "The operator's key, `ASSESSMENT_HUB_ADMIN_API_KEY`.",
    }
    _schema_ref(ErrorEnvelope, schemas)
    tags: dict[str, str] = {}
    for path, operations in spec.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.get("responses", {})
            if "HTTPValidationError" in str(responses.get("422", "")):
                responses.pop("422")  # FastAPI's; the hub answers 400 with the envelope instead
            _tidy_parameters(operation)
            operation["operationId"] = _operation_id(path, operation.get("summary") or operation["operationId"])
            tag, about = _area(path, tools)
            operation["tags"] = [tag]
            tags.setdefault(tag, about)
            if path.startswith("/admin"):
                operation.setdefault("security", [{"adminAuth": []}])
                _default_errors(operation, (401, 414, 500))
            elif path.startswith("/connectors/"):
                operation.setdefault("security", [{"atsBasic": []}, {"atsBearer": []}])
            elif path.startswith("/v1/"):
                operation.setdefault("security", [{"bearerAuth": []}])
                _default_errors(operation, (401, 414, 500))
            model = _BODY_MODELS.get(operation.pop(BODY_KEY, ""))
            if model is not None:
                operation["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": _schema_ref(model, schemas)}},
                }
            if _INTERNAL.search(operation.get("description", "")):
                operation["description"] = ""
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    spec["tags"] = [{"name": name, "description": about} for name, about in tags.items()]
    return spec


_REF = "#/components/schemas/{model}"


def _schema_ref(model: type[BaseModel], schemas: dict[str, Any]) -> dict[str, Any]:
    """Add ``model`` (and the models it uses) to ``schemas``; its ``$ref``. A name already taken by another
    schema (Lever's webhook ``Delivery`` beside the admin API's, each ATS's ``CandidateIn``) gets the package's
    name in front (``LeverDelivery``), so no reference points to another model's schema."""
    schema = TypeAdapter(model).json_schema(ref_template=_REF, mode="validation")
    named = {**schema.pop("$defs", {}), model.__name__: schema}
    prefix = model.__module__.split(".")[-2].title().replace("_", "") if "." in model.__module__ else "Model"
    renames: dict[str, str] = {}
    for name, definition in named.items():
        if name in schemas and schemas[name] != definition:
            new, n = f"{prefix}{name}", 2
            while new in schemas and schemas[new] != definition:
                new, n = f"{prefix}{name}{n}", n + 1
            renames[name] = new
    if renames:
        text = json.dumps(named)
        for old, new in renames.items():
            text = text.replace(json.dumps(_REF.format(model=old)), json.dumps(_REF.format(model=new)))
        named = {renames.get(name, name): definition for name, definition in json.loads(text).items()}
    for name, definition in named.items():
        schemas.setdefault(name, definition)
    return {"$ref": _REF.format(model=renames.get(model.__name__, model.__name__))}


def _tidy_parameters(operation: dict[str, Any]) -> None:
    """Authorization is a security scheme, not a parameter; X-Integration-Id is required where asked."""
    kept = []
    for parameter in operation.get("parameters", []):
        name = parameter.get("name", "").lower()
        if parameter.get("in") == "header" and name == "authorization":
            continue
        if parameter.get("in") == "header" and name == "x-integration-id":
            parameter.update(
                name="X-Integration-Id",
                required=True,
                description="The integration (one customer's ATS) the request acts on.",
                schema={"type": "string", "minLength": 1},
            )
        kept.append(parameter)
    if kept:
        operation["parameters"] = kept
    else:
        operation.pop("parameters", None)


def _default_errors(operation: dict[str, Any], statuses: Iterable[int]) -> None:
    responses = operation.setdefault("responses", {})
    for status in statuses:
        responses.setdefault(
            str(status),
            {
                "description": ERRORS[status],
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}},
            },
        )


def _operation_id(path: str, summary: str) -> str:
    """``report_a_result``, ``admin_delete_an_integration``, ``ashby_start_an_assessment``: the summary in
    snake case, prefixed outside the vendor API (generated clients name their functions after it)."""
    slug = re.sub(r"[^a-z0-9]+", "_", re.sub(r"\(.*?\)", "", summary.lower())).strip("_")
    if path.startswith("/admin"):
        return f"admin_{slug}"
    if path.startswith("/connectors/"):
        return f"{path.split('/')[2]}_{slug}"
    return slug


def _area(path: str, tools: dict[str, str]) -> tuple[str, str]:
    if path.startswith("/connectors/"):
        tool = path.split("/")[2]
        label = tools.get(tool, tool)
        return f"{label} (inbound)", f"Routes {label} calls: the URLs pasted into {label}."
    for prefix, tag, about in _AREAS:
        if path.startswith(prefix):
            return tag, about
    return "Other", "Icons, attachment links and the connect page."


def inbound_documented(
    summary: str,
    *,
    description: str = "",
    body: type[BaseModel] | None = None,
    answer: str = "The ATS's success answer.",
    status: int = 200,
    errors: dict[int, str] | None = None,
) -> dict[str, Any]:
    """``documented`` for a connector's inbound route: the ATS's own body and error shapes, so the answers are
    described in words (the request ``body`` is still a schema). ``status``: the success status ``answer``
    describes (Workable's 201, SmartRecruiters' 202). 401, 404 (no active integration at this URL) and 500 are
    added to every inbound route."""
    responses: dict[int | str, Any] = {status: {"description": answer}}
    defaults = {
        401: "The ATS's key is missing or wrong.",
        404: "No active integration at this URL.",
        413: "Body larger than the configured limit.",
        500: "A fault in the hub; the details are in the server log.",
    }
    for other, text in {**defaults, **(errors or {})}.items():
        responses[other] = {"description": text}
    extra: dict[str, Any] = {}
    if body is not None:
        name = f"{body.__module__}.{body.__qualname__}"
        _BODY_MODELS[name] = body
        extra[BODY_KEY] = name
    return {
        "summary": summary,
        "description": description,
        "status_code": status,
        "responses": responses,
        "openapi_extra": extra or None,
    }
