"""The endpoints Ashby calls at ``/connectors/ashby/{connection}/assessment.*`` (ats-protocols.md §5.3-5.5).

Every answer is Ashby-shaped, errors included: ``AshbyRoute`` turns any failure (unknown integration,
bad key, bad body, a fault in the hub) into ``{"success": false, "errorInfo": {code, message},
"errors": [message], "message": message}`` with a fitting HTTP status; ``assessment.start`` refusals
are 409 (already being assessed) and 422 with ``message`` (shown to the Ashby user), as Ashby expects.
"""

from __future__ import annotations

import base64
import hmac
import json
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from sqlalchemy import select

from assessment_hub.assessment import service
from assessment_hub.assessment.models import OrderRow
from assessment_hub.connectors.ashby.mapping import unified_order
from assessment_hub.connectors.ashby.schemas import CancelIn, StartIn
from assessment_hub.connectors.inbound import Inbound, InboundDep
from assessment_hub.errors import HubError
from assessment_hub.integrations.models import IntegrationRow

log = structlog.get_logger("assessment_hub.ashby")

ACTIONS = ("assessment.list", "assessment.start", "assessment.cancel")


class AshbyError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"success": False, "errorInfo": {"code": code, "message": message}, "errors": [message], "message": message},
        status_code=status,
    )


class AshbyRoute(APIRoute):
    """Answers every failure of these routes (dependencies included) in Ashby's error shape."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except AshbyError as exc:
                return error_response(exc.status, exc.code, exc.message)
            except HubError as exc:  # e.g. no active integration at this URL
                return error_response(exc.status_code, "not_found" if exc.status_code == 404 else "error", exc.message)
            except RequestValidationError as exc:
                return error_response(400, "invalid_input", f"The request is not valid: {exc.errors()}")
            except Exception:
                log.exception("ashby_inbound_error", path=request.url.path)
                return error_response(
                    500,
                    "internal_error",
                    "An unexpected error occurred in the hub; the operator can find it in the server log.",
                )

        return route


router = APIRouter(route_class=AshbyRoute)


# ------------------------------------------------------------------ helpers


def authenticate(request: Request, inbound: Inbound) -> None:
    """Ashby sends the key the hub minted: ``Basic base64(key + ":")`` expected, ``Bearer key`` accepted
    (the scheme is UNCONFIRMED)."""
    expected = str(inbound.settings.get("inbound_api_key") or "")
    scheme, _, token = (request.headers.get("authorization") or "").strip().partition(" ")
    token = token.strip()
    given = ""
    if scheme.lower() == "basic" and token:
        try:
            given = base64.b64decode(token, validate=True).decode("utf-8").partition(":")[0]
        except (ValueError, UnicodeDecodeError):
            given = ""
    elif scheme.lower() == "bearer":
        given = token
    if not expected or not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise AshbyError(401, "unauthorized", "Missing or invalid API key.")


async def _raw_body(request: Request) -> bytes:
    return await request.body()


BodyDep = Annotated[bytes, Depends(_raw_body)]


def read_body(raw: bytes, model: type[BaseModel], *, refusal_status: int = 400) -> tuple[Any, Any]:
    """The body validated by ``model``, and as parsed JSON (the raw payload kept for the operator)."""
    try:
        data = json.loads(raw) if raw.strip() else {}
    except ValueError:
        raise AshbyError(refusal_status, "invalid_input", "The request body is not valid JSON.") from None
    try:
        return model.model_validate(data), data
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors())
        raise AshbyError(refusal_status, "invalid_input", f"The request is not valid: {problems}") from None


def success(results: Any) -> dict[str, Any]:
    return {"success": True, "results": results}


def _lock_integration(inbound: Inbound) -> None:
    """Serialize starts per integration on PostgreSQL (SQLite write transactions already are)."""
    inbound.session.execute(select(IntegrationRow.id).where(IntegrationRow.id == inbound.id).with_for_update())


def _open_order_for(inbound: Inbound, candidate_id: str, package_id: str) -> OrderRow | None:
    return inbound.session.scalar(
        select(OrderRow)
        .where(
            OrderRow.integration_id == inbound.id,
            OrderRow.status == "OPEN",
            OrderRow.package_id == package_id,
            OrderRow.candidate["remote_id"].as_string() == candidate_id,
        )
        .order_by(OrderRow.created_at)
        .limit(1)
    )


# ------------------------------------------------------------------ endpoints


@router.post("/assessment.list")
def assessment_list(request: Request, inbound: InboundDep) -> dict[str, Any]:
    authenticate(request, inbound)
    return success(
        [
            {"assessment_type_id": p.package_id, "name": p.name, "description": p.description or ""}
            for p in service.list_packages(inbound.session, inbound.id)
        ]
    )


@router.post("/assessment.start")
def assessment_start(request: Request, inbound: InboundDep, raw: BodyDep) -> dict[str, Any]:
    authenticate(request, inbound)
    start, payload = read_body(raw, StartIn, refusal_status=422)
    package = service.get_live_package(inbound.session, inbound.id, start.assessment_type_id)
    if package is None:
        raise AshbyError(
            422,
            "unknown_assessment_type",
            f"Unknown assessment type {start.assessment_type_id!r}: the vendor does not offer it (any more).",
        )
    _lock_integration(inbound)
    existing = _open_order_for(inbound, start.candidate.ashby_id, start.assessment_type_id)
    if existing is not None:
        if existing.remote_data == payload:  # the same start again (a retry): same assessment, nothing new
            return success({"assessment_id": existing.id})
        raise AshbyError(
            409,
            "already_assessed",
            f"The candidate is already being assessed for {package.name!r} (assessment {existing.id}).",
        )
    order = service.create_order(
        inbound.session, inbound.id, start.assessment_type_id, remote_data=payload, **unified_order(start)
    )
    return success({"assessment_id": order.id})


@router.post("/assessment.cancel")
def assessment_cancel(request: Request, inbound: InboundDep, raw: BodyDep) -> Any:
    authenticate(request, inbound)
    cancel, _ = read_body(raw, CancelIn)
    order = inbound.session.scalar(
        select(OrderRow).where(OrderRow.id == cancel.assessment_id, OrderRow.integration_id == inbound.id)
    )
    if order is None:
        return error_response(200, "assessment_not_found", f"No assessment {cancel.assessment_id!r} at this hub.")
    if order.status == "COMPLETED":
        return error_response(
            200, "assessment_completed", f"Assessment {order.id} is already completed and cannot be cancelled."
        )
    service.cancel_order_from_ats(inbound.session, order)  # no-op when already CANCELLED or REJECTED
    return success({"assessment_id": order.id})


@router.api_route("/{action}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
def other(action: str, request: Request) -> JSONResponse:
    if action in ACTIONS:
        return error_response(405, "method_not_allowed", f"{request.method} is not allowed; Ashby calls use POST.")
    return error_response(404, "unknown_endpoint", f"The hub implements no {action!r} endpoint for Ashby.")
