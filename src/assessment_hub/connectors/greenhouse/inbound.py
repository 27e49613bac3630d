"""The URLs Greenhouse calls, beneath ``/connectors/greenhouse/{connection}`` (ats-protocols.md §2.3-2.8).

``GET list_tests``, ``POST send_test``, ``GET test_status?partner_interview_id=``, ``POST response_error``.
Every call carries ``Authorization: Basic base64(api_key + ":")`` with the key the hub minted for the
integration. Answers are what Greenhouse expects: 200 with the documented body; ``401`` for a
missing or wrong key; ``404`` for an unknown integration URL, ``partner_interview_id`` or
``partner_test_id``; ``400`` for a body Greenhouse should not have sent. Error bodies are
``{"message": ...}`` (Greenhouse documents status codes only); never a stack trace.
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
from assessment_hub.assessment.models import OrderRow, ResultRevisionRow
from assessment_hub.connectors.callbacks import callback_allowed
from assessment_hub.connectors.greenhouse.mapping import status_answer, unified_order
from assessment_hub.connectors.greenhouse.schemas import ResponseErrorIn, SendTestIn
from assessment_hub.connectors.greenhouse.writeback import GREENHOUSE_HOSTS
from assessment_hub.connectors.inbound import Inbound, InboundDep
from assessment_hub.errors import HubError, PayloadTooLarge
from assessment_hub.integrations.models import IntegrationRow
from assessment_hub.integrations.notices import add_notice
from assessment_hub.kit.body import read_body

log = structlog.get_logger("assessment_hub.greenhouse")

HUB_KEY = "hub"
"""``order.remote_data[HUB_KEY]``: what the hub decided about the order (next to Greenhouse's raw body)."""


class GreenhouseError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def error_response(status: int, message: str) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Basic realm="assessment-hub"'} if status == 401 else None
    return JSONResponse({"message": message}, status_code=status, headers=headers)


class GreenhouseRoute(APIRoute):
    """Answers every failure of these routes (dependencies included) with a status Greenhouse knows."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except GreenhouseError as exc:
                return error_response(exc.status, exc.message)
            except HubError as exc:  # no active integration at this URL; body too large
                return error_response(exc.status_code, exc.message)
            except RequestValidationError:
                return error_response(400, "The request is not valid.")
            except Exception:
                log.exception("greenhouse_inbound_error", path=request.url.path)
                return error_response(
                    500, "An unexpected error occurred in the hub; the operator can find it in the server log."
                )

        return route


router = APIRouter(route_class=GreenhouseRoute)


# ------------------------------------------------------------------ helpers


def authenticate(request: Request, inbound: Inbound) -> None:
    """Greenhouse's Basic auth: the integration's key as user name, empty password (§2.2)."""
    expected = str(inbound.settings.get("api_key") or "")
    scheme, _, token = (request.headers.get("authorization") or "").strip().partition(" ")
    given = ""
    if scheme.lower() == "basic" and token.strip():
        try:
            given = base64.b64decode(token.strip(), validate=True).decode("utf-8").partition(":")[0]
        except (ValueError, UnicodeDecodeError):
            given = ""
    if not expected or not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise GreenhouseError(401, "Missing or invalid API key (HTTP Basic: the API key as user name, empty password).")


async def _raw_body(request: Request) -> bytes:
    try:
        return await read_body(request, request.app.state.settings.max_body_bytes)
    except PayloadTooLarge as exc:
        raise GreenhouseError(413, exc.message) from None


BodyDep = Annotated[bytes, Depends(_raw_body)]


def parse(raw: bytes, model: type[BaseModel]) -> tuple[Any, Any]:
    """The body validated by ``model``, and the parsed JSON (kept raw for the operator)."""
    try:
        data = json.loads(raw) if raw.strip() else None
    except ValueError:
        raise GreenhouseError(400, "The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise GreenhouseError(400, "The request body must be a JSON object.")
    try:
        return model.model_validate(data), data
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise GreenhouseError(400, f"The request body is not valid: {problems}") from None


def _lock_integration(inbound: Inbound) -> None:
    """Serialize ``send_test`` per integration so a retried call cannot create a second order
    (PostgreSQL: row lock; SQLite write transactions are exclusive already)."""
    inbound.session.execute(select(IntegrationRow.id).where(IntegrationRow.id == inbound.id).with_for_update())


def _order(inbound: Inbound, order_id: str) -> OrderRow | None:
    return inbound.session.scalar(
        select(OrderRow).where(OrderRow.id == order_id, OrderRow.integration_id == inbound.id)
    )


def _existing_order(inbound: Inbound, url: str) -> OrderRow | None:
    """The order an earlier ``send_test`` with this take-home-test ``url`` created (retry idempotency)."""
    return inbound.session.scalar(
        select(OrderRow)
        .where(OrderRow.integration_id == inbound.id, OrderRow.remote_data["url"].as_string() == url)
        .order_by(OrderRow.created_at, OrderRow.id)
        .limit(1)
    )


# ------------------------------------------------------------------ routes


@router.get("/list_tests")
def list_tests(request: Request, inbound: InboundDep) -> Any:
    """§2.3: a bare array of ``{partner_test_id, partner_test_name}`` from the integration's live packages."""
    authenticate(request, inbound)
    return [
        {"partner_test_id": row.package_id, "partner_test_name": row.name}
        for row in service.list_packages(inbound.session, inbound.id)
    ]


@router.post("/send_test")
def send_test(request: Request, inbound: InboundDep, raw: BodyDep) -> Any:
    """§2.4: create the order (or find the one a retry of this ``url`` created); answer its id."""
    authenticate(request, inbound)
    body, data = parse(raw, SendTestIn)
    _lock_integration(inbound)
    existing = _existing_order(inbound, body.url)
    if existing is not None:
        same = (
            existing.package_id == body.partner_test_id
            and (existing.candidate.get("email") or "").lower() == body.candidate.email.lower()
        )
        if not same:
            raise GreenhouseError(
                409,
                f"The take-home-test url {body.url!r} already belongs to order {existing.id} "
                "for another test or candidate; each Send Test needs its own url.",
            )
        return {"partner_interview_id": existing.id}
    if service.get_live_package(inbound.session, inbound.id, body.partner_test_id) is None:
        raise GreenhouseError(
            404,
            f"partner_test_id {body.partner_test_id!r} is not a test this partner offers "
            "(list_tests shows the current ones).",
        )
    callable_url = callback_allowed(body.url, GREENHOUSE_HOSTS, inbound.settings)
    remote_data = {**data, HUB_KEY: {"callback_allowed": callable_url}}
    order = service.create_order(
        inbound.session, inbound.id, body.partner_test_id, remote_data=remote_data, **unified_order(body)
    )
    if not callable_url:
        add_notice(
            inbound.session,
            inbound.id,
            f"Greenhouse order {order.id}: the take-home-test url {body.url!r} is not on a Greenhouse host "
            "nor in the integration's allowed_callback_hosts, so the hub will not PATCH it; Greenhouse "
            "learns results only if it polls test_status.",
            order_id=order.id,
        )
    return {"partner_interview_id": order.id}


@router.get("/test_status")
def test_status(request: Request, inbound: InboundDep) -> Any:
    """§2.6: the latest result of the order ``partner_interview_id`` in Greenhouse's terms."""
    authenticate(request, inbound)
    order_id = request.query_params.get("partner_interview_id")
    if not order_id:
        raise GreenhouseError(400, "The partner_interview_id query parameter is required.")
    order = _order(inbound, order_id)
    if order is None:
        raise GreenhouseError(404, f"No test with partner_interview_id {order_id!r}.")
    result = inbound.session.get(ResultRevisionRow, order.latest_result_id) if order.latest_result_id else None
    return status_answer(order.status, order.rejection_message, result)


@router.post("/response_error")
def response_error(request: Request, inbound: InboundDep, raw: BodyDep) -> Any:
    """§2.7: Greenhouse found an answer of the hub malformed. Kept as a notice: the vendor sees it as a
    warning on its next result PUT (for that order when Greenhouse names one of this integration's)."""
    authenticate(request, inbound)
    body, _ = parse(raw, ResponseErrorIn)
    order = _order(inbound, body.partner_interview_id) if body.partner_interview_id else None
    about = (
        f" about order {order.id}"
        if order is not None
        else (f" about partner_interview_id {body.partner_interview_id!r}" if body.partner_interview_id else "")
    )
    errors = "; ".join(body.errors) or "(no details)"
    add_notice(
        inbound.session,
        inbound.id,
        f"Greenhouse reported a problem with the hub's {body.api_call} answer{about}: {errors}",
        order_id=order.id if order is not None else None,
    )
    log.warning(
        "greenhouse_response_error",
        integration_id=inbound.id,
        api_call=body.api_call,
        errors=body.errors,
        partner_interview_id=body.partner_interview_id,
    )
    return {"status": 200}
