"""The endpoints Ashby calls at ``/connectors/ashby/{connection}/assessment.*`` (ats-protocols.md §5.3-5.5).

Every answer is Ashby-shaped, errors included: ``AshbyRoute`` turns any failure (unknown integration,
bad key, bad body, a fault in the hub) into ``{"success": false, "errorInfo": {code, message},
"errors": [message], "message": message}`` with a fitting HTTP status; ``assessment.start`` refusals
are 409 (already being assessed) and 422 with ``message`` (shown to the Ashby user), as Ashby expects.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from assessment_hub.assessment import intake
from assessment_hub.connectors.ashby.mapping import unified_order
from assessment_hub.connectors.ashby.schemas import CancelIn, StartIn
from assessment_hub.connectors.inbound import (
    BodyRules,
    ErrorEnvelope,
    Inbound,
    InboundDep,
    RawBodyDep,
    Refusal,
    basic_username,
    bearer_token,
    inbound_router,
    key_matches,
    parse_body,
)
from assessment_hub.kit.openapi import inbound_documented
from assessment_hub.kit.states import OrderStatus

ACTIONS = ("assessment.list", "assessment.start", "assessment.cancel")
DEFAULT_CODES = {404: "not_found", 500: "internal_error"}
"""``errorInfo.code`` of a refusal that names none (e.g. no active integration at this URL)."""


def error_response(refusal: Refusal) -> JSONResponse:
    """Ashby's error shape, with ``message`` (shown to the Ashby user) and the code in ``errorInfo``."""
    code = refusal.code or DEFAULT_CODES.get(refusal.status, "error")
    message = refusal.message
    return JSONResponse(
        {"success": False, "errorInfo": {"code": code, "message": message}, "errors": [message], "message": message},
        status_code=refusal.status,
    )


def _invalid_request(exc: RequestValidationError) -> Refusal:
    return Refusal(400, f"The request is not valid: {exc.errors()}", code="invalid_input")


router = inbound_router(ErrorEnvelope("ashby", error_response, invalid_request=_invalid_request))


# ------------------------------------------------------------------ helpers


async def _authenticated(
    inbound: InboundDep,
    username: Annotated[str | None, Depends(basic_username)],
    token: Annotated[str | None, Depends(bearer_token)],
) -> Inbound:
    """Ashby sends the key the hub minted: ``Basic base64(key + ":")`` expected, ``Bearer key`` accepted
    (the scheme is UNCONFIRMED)."""
    if not key_matches(username or token, inbound.settings.get("inbound_api_key")):
        raise Refusal(401, "Missing or invalid API key.", code="unauthorized")
    return inbound


AshbyDep = Annotated[Inbound, Depends(_authenticated)]


BODY = BodyRules(not_object=None, invalid="The request is not valid: {problems}", empty={}, code="invalid_input")
"""Ashby's bodies: an empty one reads as ``{}``; refusals are ``invalid_input`` (422 for assessment.start)."""


def success(results: Any) -> dict[str, Any]:
    return {"success": True, "results": results}


# ------------------------------------------------------------------ endpoints


@router.post(
    "/assessment.list",
    **inbound_documented(
        "List assessment types",
        description="The vendor's published packages, as Ashby's assessment types.",
        answer="`{success: true, results: [{assessment_type_id, name, description}]}`.",
    ),
)
def assessment_list(inbound: AshbyDep) -> dict[str, Any]:
    return success(
        [
            {"assessment_type_id": p.package_id, "name": p.name, "description": p.description or ""}
            for p in intake.packages(inbound.session, inbound.id)
        ]
    )


@router.post(
    "/assessment.start",
    **inbound_documented(
        "Start an assessment",
        description="Ashby places an order for a candidate; the same start sent again answers the same assessment.",
        body=StartIn,
        answer="`{success: true, results: {assessment_id}}`.",
        errors={409: "The candidate is already being assessed for this type.", 422: "Invalid body or unknown type."},
    ),
)
def assessment_start(inbound: AshbyDep, raw: RawBodyDep) -> dict[str, Any]:
    start, payload = parse_body(raw, StartIn, replace(BODY, status=422))
    package = intake.live_package(inbound.session, inbound.id, start.assessment_type_id)
    if package is None:
        raise Refusal(
            422,
            f"Unknown assessment type {start.assessment_type_id!r}: the vendor does not offer it (any more).",
            code="unknown_assessment_type",
        )
    intake.lock_integration(inbound.session, inbound.id)
    existing = intake.open_order_for_candidate(
        inbound.session, inbound.id, start.assessment_type_id, start.candidate.ashby_id
    )
    if existing is not None:
        if existing.remote_data == payload:  # the same start again (a retry): same assessment, nothing new
            return success({"assessment_id": existing.id})
        raise Refusal(
            409,
            f"The candidate is already being assessed for {package.name!r} (assessment {existing.id}).",
            code="already_assessed",
        )
    order = intake.create_order(
        inbound.session, inbound.id, start.assessment_type_id, unified_order(start), remote_data=payload
    )
    return success({"assessment_id": order.id})


@router.post(
    "/assessment.cancel",
    **inbound_documented(
        "Cancel an assessment",
        description="Ashby cancels an open assessment; an unknown or completed one is answered 200 with "
        "`success: false` (Ashby's convention).",
        body=CancelIn,
        answer="`{success: true, results: {assessment_id}}`, or `{success: false, errorInfo}`.",
        errors={400: "Invalid body."},
    ),
)
def assessment_cancel(inbound: AshbyDep, raw: RawBodyDep) -> Any:
    cancel, _ = parse_body(raw, CancelIn, BODY)
    order = intake.find_order(inbound.session, inbound.id, cancel.assessment_id)
    if order is None:
        return error_response(
            Refusal(200, f"No assessment {cancel.assessment_id!r} at this hub.", code="assessment_not_found")
        )
    if order.status == OrderStatus.COMPLETED:
        return error_response(
            Refusal(
                200,
                f"Assessment {order.id} is already completed and cannot be cancelled.",
                code="assessment_completed",
            )
        )
    intake.cancel_from_ats(inbound.session, inbound.id, order.id)  # no-op when already CANCELLED or REJECTED
    return success({"assessment_id": order.id})


@router.api_route("/{action}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
def other(action: str, request: Request) -> JSONResponse:
    if action in ACTIONS:
        raise Refusal(405, f"{request.method} is not allowed; Ashby calls use POST.", code="method_not_allowed")
    raise Refusal(404, f"The hub implements no {action!r} endpoint for Ashby.", code="unknown_endpoint")
