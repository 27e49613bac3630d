"""The endpoints Workable calls beneath ``/connectors/workable/{connection}`` (the set-up's ``base_url``;
ats-protocols.md §4.1-4.3, ats-protocols-2.md §2).

- ``GET /tests`` -> ``{"tests": [{"id", "name"}]}`` (OFFICIAL).
- ``POST /assessments`` -> 201 ``{"assessment_id"}`` (the hub's order id); the same ``callback_url`` again -> 200
  with the same id and no second order; unknown ``test_id`` 422; a missing field 422; a body that is not JSON 400.

Auth: ``Authorization: Bearer {token}`` (the token the hub minted, which the customer configures in Workable):
else 401. Every refusal is ``{"status": <code>, "message": "<text>"}`` (SECONDARY).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from assessment_hub.assessment import intake
from assessment_hub.connectors.callbacks import callback_allowed
from assessment_hub.connectors.inbound import (
    ErrorEnvelope,
    Inbound,
    InboundDep,
    RawBodyDep,
    Refusal,
    bearer_token,
    inbound_router,
    key_matches,
)
from assessment_hub.connectors.urls import is_http_url
from assessment_hub.connectors.workable.mapping import unified_order
from assessment_hub.connectors.workable.schemas import AssessmentIn
from assessment_hub.connectors.workable.writeback import WORKABLE_HOSTS
from assessment_hub.errors import describe_validation_error
from assessment_hub.kit.openapi import inbound_documented

ORDER_KEY = ("callback_url",)
"""Where an order's ``remote_data`` (the body as received) holds its key."""


def error_response(refusal: Refusal) -> Response:
    return JSONResponse({"status": refusal.status, "message": refusal.message}, status_code=refusal.status)


def _invalid_request(exc: RequestValidationError) -> Refusal:
    return Refusal(400, "The request is not valid.")


router = inbound_router(ErrorEnvelope("workable", error_response, invalid_request=_invalid_request))


async def _authenticated(inbound: InboundDep, token: Annotated[str | None, Depends(bearer_token)]) -> Inbound:
    if not key_matches(token, inbound.settings.get("token")):
        raise Refusal(401, "Missing or invalid access token.")
    return inbound


WorkableDep = Annotated[Inbound, Depends(_authenticated)]


@router.get(
    "/tests",
    **inbound_documented(
        "List tests",
        description="The vendor's published packages, as Workable assessment tests.",
        answer="`{tests: [{id, name}]}`.",
    ),
)
def list_tests(inbound: WorkableDep) -> dict[str, Any]:
    return {"tests": [{"id": p.package_id, "name": p.name} for p in intake.packages(inbound.session, inbound.id)]}


@router.post(
    "/assessments",
    **inbound_documented(
        "Create an assessment",
        description="Workable orders a test for a candidate; results go back to its callback_url. The same "
        "callback_url again answers the order it made (200) and makes no second one.",
        body=AssessmentIn,
        status=201,
        answer="Created: `{assessment_id}`.",
        errors={
            200: "The same assessment again: `{assessment_id}` of the order it made.",
            400: "The body is not JSON.",
            422: "Invalid body, a callback_url that is not http(s), or an unknown test_id.",
        },
    ),
)
def create_assessment(inbound: WorkableDep, raw: RawBodyDep) -> JSONResponse:
    try:
        payload: Any = json.loads(raw)
    except ValueError:
        raise Refusal(400, "The body is not JSON.") from None
    try:
        body = AssessmentIn.model_validate(payload)
    except ValidationError as exc:
        raise Refusal(422, describe_validation_error(exc)) from None
    if not is_http_url(body.callback_url):
        raise Refusal(422, "callback_url must be an http(s) URL.")
    session = inbound.session
    if intake.live_package(session, inbound.id, body.test_id) is None:
        raise Refusal(422, f"Unknown test_id {body.test_id!r}: the vendor does not offer it (any more).")
    intake.lock_remote_id(session, inbound.id, f"callback:{body.callback_url}")
    existing = intake.find_order_by_remote(session, inbound.id, ORDER_KEY, body.callback_url)
    if existing is not None:  # Workable sent the same assessment again: the same one, nothing new
        return JSONResponse({"assessment_id": existing.id}, status_code=200)
    order = intake.create_order(session, inbound.id, body.test_id, unified_order(body), remote_data=payload)
    if not callback_allowed(body.callback_url, WORKABLE_HOSTS, inbound.settings):
        intake.record_notice(
            session,
            inbound.id,
            (
                f"Workable order {order.id}: the callback_url {body.callback_url!r} is not on a Workable host; the hub "
                "will not send results there until its host[:port] is added to the integration's "
                "allowed_callback_hosts."
            ),
            order_id=order.id,
        )
    return JSONResponse({"assessment_id": order.id}, status_code=201)


@router.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
def other(path: str, request: Request) -> Response:
    """Anything else (e.g. the optional ``GET /assessments/{id}/shared-link``): 404 in Workable's shape."""
    raise Refusal(404, f"The hub implements no {request.method} /{path} for Workable.")
