"""Where ATSs reach the hub: one base URL per integration, ``/connectors/{tool}/{connection}``, and the one
way a connector builds the routes beneath it.

``connection`` is the 24-character part of the integration id (``greenhouse:HWUT...`` -> ``HWUT...``):
unguessable, and free of the ``:`` that some ATS forms refuse.

A connector's inbound module makes its router with ``inbound_router(ErrorEnvelope(...))``: every failure
of its routes (dependencies included) is answered in that ATS's own error shape, never the Kombo envelope
or a traceback. Handlers raise ``Refusal(status, message, code=...)``; a ``HubError`` (no active
integration at this URL: 404, body too large: 413) and a request FastAPI cannot validate (400) are answered
the same way, and so is a database that cannot serve the request now (``errors.database_problem``: 503 or
429, with ``Retry-After``); anything else is logged and answered 500. ``RawBodyDep`` + ``parse_body(raw,
Model, BodyRules)`` read a JSON body and refuse a bad one in the ATS's words; ``body_fingerprint`` digests it for
the replay guard of ATSs that sign an event id rather than the body (``intake.remember_event``). Auth helpers read the ATS's key with FastAPI's
security utilities (``HTTPBasic``, ``HTTPBearer``) and compare it in constant time.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, TypeVar

import structlog
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import HTTPBasic, HTTPBearer
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from assessment_hub.assessment import intake
from assessment_hub.connectors.base import Connector
from assessment_hub.db.session import SessionDep
from assessment_hub.errors import HubError, NotFound, database_problem, first_line
from assessment_hub.kit.body import read_body

PREFIX = "/connectors/{tool}/{connection}"

log = structlog.get_logger("assessment_hub.connectors.inbound")


def connection_of(integration_id: str) -> str:
    return integration_id.split(":", 1)[1]


def integration_base_url(base_url: str, integration_id: str) -> str:
    tool = integration_id.split(":", 1)[0]
    return f"{base_url.rstrip('/')}/connectors/{tool}/{connection_of(integration_id)}"


# ------------------------------------------------------------------ the integration a request is for


class Inbound:
    """The integration an inbound request is for: ``id``, its decrypted ``settings``, and the request's
    ``session`` (committed after the route returns, rolled back on error)."""

    def __init__(self, integration: intake.Integration, session: Session) -> None:
        self.integration = integration
        self.settings = integration.settings
        self.session = session

    @property
    def id(self) -> str:
        return self.integration.id


def _tool_of(request: Request, connection: str) -> str:
    """The ``{tool}`` segment before ``connection``: mounting fills it in as a literal, not a path parameter."""
    segments = request.url.path.split("/")
    for index in range(len(segments) - 2):
        if segments[index] == "connectors" and segments[index + 2] == connection:
            return segments[index + 1]
    return ""


def _inbound(request: Request, session: SessionDep, connection: Annotated[str, Path()]) -> Inbound:
    integration_id = f"{_tool_of(request, connection)}:{connection}"
    integration = intake.inbound_integration(session, integration_id, request.app.state.settings.cipher)
    if integration is None:
        raise NotFound("No active integration at this URL.")
    return Inbound(integration, session)


InboundDep = Annotated[Inbound, Depends(_inbound)]
"""The live integration addressed by the URL; the connector's own auth check comes after."""


async def _raw_body(request: Request) -> bytes:
    return await read_body(request, request.app.state.settings.max_body_bytes)


RawBodyDep = Annotated[bytes, Depends(_raw_body)]
"""The request body as bytes, refused with 413 above the ``max_body_bytes`` setting."""


class Refusal(Exception):
    """Answer the ATS with HTTP ``status`` and ``message`` (``code``: the ATS's error code, where it has them)."""

    def __init__(self, status: int, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


Model = TypeVar("Model", bound=BaseModel)
NOT_JSON: Any = object()
"""``BodyRules.empty``: an empty body is refused as not JSON."""


def field_problems(exc: ValidationError) -> str:
    """``"candidate.email: Field required; url: ..."``: each failing field and pydantic's message."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors(include_url=False)
    )


@dataclass(frozen=True)
class BodyRules:
    """How one ATS's JSON body is read and refused (``parse_body``), in that ATS's words.

    ``empty``: what an empty body reads as (``NOT_JSON``: refused as not JSON); ``not_object``: the refusal
    of JSON that is not an object (None: left to the model); ``invalid``: the refusal of a body the model
    rejects, ``{problems}`` filled by ``describe``; refusals have ``status`` and ``code``."""

    not_json: str = "The request body is not valid JSON."
    not_object: str | None = "The request body must be a JSON object."
    invalid: str = "The request body is not valid: {problems}"
    empty: Any = None
    status: int = 400
    code: str | None = None
    describe: Callable[[ValidationError], str] = field_problems


def parse_body(raw: bytes, model: type[Model], rules: BodyRules = BodyRules()) -> tuple[Model, Any]:
    """The body validated by ``model``, and the parsed JSON (kept raw on the order for the operator);
    raises ``Refusal`` as ``rules`` say."""
    if raw.strip():
        try:
            data = json.loads(raw)
        except ValueError:
            raise Refusal(rules.status, rules.not_json, code=rules.code) from None
    elif rules.empty is NOT_JSON:
        raise Refusal(rules.status, rules.not_json, code=rules.code)
    else:
        data = copy.deepcopy(rules.empty)  # never hand out the shared default
    if rules.not_object is not None and not isinstance(data, dict):
        raise Refusal(rules.status, rules.not_object, code=rules.code)
    try:
        return model.model_validate(data), data
    except ValidationError as exc:
        raise Refusal(rules.status, rules.invalid.format(problems=rules.describe(exc)), code=rules.code) from None


def body_fingerprint(body: Any) -> str:
    """sha256 (hex) of a parsed JSON body in canonical form (keys sorted, no spaces): what
    ``intake.remember_event`` keeps beside a signed event id, so that the same body sent again (an ATS
    retrying, however it serializes it) matches and any other body does not."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


# ------------------------------------------------------------------ auth


_basic = HTTPBasic(auto_error=False)
_bearer = HTTPBearer(auto_error=False)


async def basic_username(request: Request) -> str | None:
    """The user name of ``Authorization: Basic base64(user:password)`` (RFC 7617, decoded by FastAPI's
    ``HTTPBasic``); None when the header is missing, of another scheme, or not valid Basic credentials."""
    try:
        credentials = await _basic(request)
    except HTTPException:  # HTTPBasic refuses undecodable credentials even with auto_error=False
        return None
    return credentials.username if credentials is not None else None


async def bearer_token(request: Request) -> str | None:
    """The token of ``Authorization: Bearer <token>`` (FastAPI's ``HTTPBearer``); None when absent."""
    credentials = await _bearer(request)
    return credentials.credentials.strip() if credentials is not None else None


def key_matches(given: str | None, expected: object) -> bool:
    """True when ``given`` equals the integration's key ``expected`` (constant-time; never for an empty key)."""
    expected_text = str(expected or "")
    return bool(given) and bool(expected_text) and hmac.compare_digest(str(given).encode(), expected_text.encode())


# ------------------------------------------------------------------ the router factory


INTERNAL_ERROR = "An unexpected error occurred in the hub; the operator can find it in the server log."


@dataclass(frozen=True)
class ErrorEnvelope:
    """How one ATS wants refusals answered.

    ``render(refusal)`` builds the response in the ATS's shape; ``invalid_request(exc)`` says what a request
    FastAPI could not validate is refused with (default: 400 ``"The request is not valid."``);
    ``internal_error`` is the message of the 500 answer to a fault in the hub (logged with ``tool``).
    """

    tool: str
    render: Callable[[Refusal], Response]
    invalid_request: Callable[[RequestValidationError], Refusal] = lambda exc: Refusal(400, "The request is not valid.")
    internal_error: str = INTERNAL_ERROR


class InboundRoute(APIRoute):
    """Answers every failure of a connector's routes (dependencies included) through its ``envelope``."""

    envelope: ClassVar[ErrorEnvelope]

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        envelope = self.envelope

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except Refusal as exc:
                return envelope.render(exc)
            except HubError as exc:  # no active integration at this URL; body too large
                return envelope.render(Refusal(exc.status_code, exc.message))
            except RequestValidationError as exc:
                return envelope.render(envelope.invalid_request(exc))
            except Exception as exc:
                problem = database_problem(exc)
                if problem is not None:  # the database cannot serve it now: a retryable answer, not a fault
                    event, error = problem
                    log.warning(
                        event, tool=envelope.tool, method=request.method, path=request.url.path, error=first_line(exc)
                    )
                    response = envelope.render(Refusal(error.status_code, error.message))
                    response.headers.update(error.headers or {})
                    return response
                log.exception(
                    "connector_inbound_error", tool=envelope.tool, method=request.method, path=request.url.path
                )
                return envelope.render(Refusal(500, envelope.internal_error))

        return route


def inbound_router(envelope: ErrorEnvelope) -> APIRouter:
    """A router for one connector's inbound routes, every failure answered through ``envelope``."""
    route_class = type(f"{envelope.tool.title()}Route", (InboundRoute,), {"envelope": envelope})
    return APIRouter(route_class=route_class)


def mount_inbound_routes(app: FastAPI, connectors: Mapping[str, type[Connector]]) -> None:
    """Mount each connector's ``inbound`` router at ``/connectors/{tool}/{connection}``."""
    for tool, connector in connectors.items():
        if connector.inbound is not None:
            app.include_router(connector.inbound, prefix=PREFIX.replace("{tool}", tool))
