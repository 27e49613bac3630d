"""The URLs Greenhouse calls, beneath ``/connectors/greenhouse/{connection}`` (ats-protocols.md §2.3-2.8).

``GET list_tests``, ``POST send_test``, ``GET test_status?partner_interview_id=``, ``POST response_error``.
Every call carries ``Authorization: Basic base64(api_key + ":")`` with the key the hub minted for the
integration. Answers are what Greenhouse expects: 200 with the documented body; ``401`` for a
missing or wrong key; ``404`` for an unknown integration URL, ``partner_interview_id`` or
``partner_test_id``; ``400`` for a body Greenhouse should not have sent. Error bodies are
``{"message": ...}`` (Greenhouse documents status codes only); never a stack trace.
"""

from __future__ import annotations

from typing import Annotated, Any

import structlog
from fastapi import Depends, Request
from fastapi.responses import JSONResponse

from assessment_hub.assessment import intake
from assessment_hub.connectors.callbacks import callback_allowed
from assessment_hub.connectors.greenhouse.mapping import status_answer, unified_order
from assessment_hub.connectors.greenhouse.schemas import ResponseErrorIn, SendTestIn
from assessment_hub.connectors.greenhouse.writeback import GREENHOUSE_HOSTS
from assessment_hub.connectors.inbound import (
    ErrorEnvelope,
    Inbound,
    InboundDep,
    RawBodyDep,
    Refusal,
    basic_username,
    inbound_router,
    key_matches,
    parse_body,
)
from assessment_hub.kit.openapi import inbound_documented

log = structlog.get_logger("assessment_hub.greenhouse")

HUB_KEY = "hub"
"""``order.remote_data[HUB_KEY]``: what the hub decided about the order (next to Greenhouse's raw body)."""


def error_response(refusal: Refusal) -> JSONResponse:
    """Greenhouse documents status codes only: the body is ``{"message": ...}``; a 401 names the scheme."""
    headers = {"WWW-Authenticate": 'Basic realm="assessment-hub"'} if refusal.status == 401 else None
    return JSONResponse({"message": refusal.message}, status_code=refusal.status, headers=headers)


router = inbound_router(ErrorEnvelope("greenhouse", error_response))


# ------------------------------------------------------------------ helpers


async def _authenticated(inbound: InboundDep, username: Annotated[str | None, Depends(basic_username)]) -> Inbound:
    """Greenhouse's Basic auth: the integration's key as user name, empty password (§2.2)."""
    if not key_matches(username, inbound.settings.get("api_key")):
        raise Refusal(401, "Missing or invalid API key (HTTP Basic: the API key as user name, empty password).")
    return inbound


GreenhouseDep = Annotated[Inbound, Depends(_authenticated)]


# ------------------------------------------------------------------ routes


@router.get(
    "/list_tests",
    **inbound_documented(
        "List tests",
        description="The vendor's published packages, as Greenhouse tests.",
        answer="`[{partner_test_id, partner_test_name}]`.",
    ),
)
def list_tests(inbound: GreenhouseDep) -> Any:
    """§2.3: a bare array of ``{partner_test_id, partner_test_name}`` from the integration's live packages."""
    return [
        {"partner_test_id": p.package_id, "partner_test_name": p.name}
        for p in intake.packages(inbound.session, inbound.id)
    ]


@router.post(
    "/send_test",
    **inbound_documented(
        "Send a test",
        description="Greenhouse places an order for a candidate.",
        body=SendTestIn,
        answer="`{partner_interview_id}`.",
        errors={400: "Invalid body or unknown test.", 409: "The candidate already has this test."},
    ),
)
def send_test(inbound: GreenhouseDep, raw: RawBodyDep) -> Any:
    """§2.4: create the order (or find the one a retry of this ``url`` created); answer its id."""
    body, data = parse_body(raw, SendTestIn)
    intake.lock_integration(inbound.session, inbound.id)
    existing = intake.find_order_by_remote(inbound.session, inbound.id, ("url",), body.url)  # a retry of this url
    if existing is not None:
        same = (
            existing.package_id == body.partner_test_id
            and (existing.candidate.get("email") or "").lower() == body.candidate.email.lower()
        )
        if not same:
            raise Refusal(
                409,
                f"The take-home-test url {body.url!r} already belongs to order {existing.id} "
                "for another test or candidate; each Send Test needs its own url.",
            )
        return {"partner_interview_id": existing.id}
    if intake.live_package(inbound.session, inbound.id, body.partner_test_id) is None:
        raise Refusal(
            404,
            f"partner_test_id {body.partner_test_id!r} is not a test this partner offers "
            "(list_tests shows the current ones).",
        )
    callable_url = callback_allowed(body.url, GREENHOUSE_HOSTS, inbound.settings)
    remote_data = {**data, HUB_KEY: {"callback_allowed": callable_url}}
    order = intake.create_order(
        inbound.session, inbound.id, body.partner_test_id, unified_order(body), remote_data=remote_data
    )
    if not callable_url:
        intake.record_notice(
            inbound.session,
            inbound.id,
            f"Greenhouse order {order.id}: the take-home-test url {body.url!r} is not on a Greenhouse host "
            "nor in the integration's allowed_callback_hosts, so the hub will not PATCH it; Greenhouse "
            "learns results only if it polls test_status.",
            order_id=order.id,
        )
    return {"partner_interview_id": order.id}


@router.get(
    "/test_status",
    **inbound_documented(
        "Test status",
        description="The order's status and latest result, as Greenhouse reads it.",
        answer="`{partner_status, partner_profile_url, partner_score, metadata}`.",
        errors={400: "partner_interview_id missing."},
    ),
)
def test_status(request: Request, inbound: GreenhouseDep) -> Any:
    """§2.6: the latest result of the order ``partner_interview_id`` in Greenhouse's terms."""
    order_id = request.query_params.get("partner_interview_id")
    if not order_id:
        raise Refusal(400, "The partner_interview_id query parameter is required.")
    order = intake.find_order(inbound.session, inbound.id, order_id)
    if order is None:
        raise Refusal(404, f"No test with partner_interview_id {order_id!r}.")
    return status_answer(order.status, order.rejection_message, intake.latest_result(inbound.session, order))


@router.post(
    "/response_error",
    **inbound_documented(
        "Report a write-back error",
        description="Greenhouse tells the hub it could not process a write-back.",
        body=ResponseErrorIn,
        answer="An empty answer.",
        errors={400: "Invalid body."},
    ),
)
def response_error(inbound: GreenhouseDep, raw: RawBodyDep) -> Any:
    """§2.7: Greenhouse found an answer of the hub malformed. Kept as a notice: the vendor sees it as a
    warning on its next result PUT (for that order when Greenhouse names one of this integration's)."""
    body, _ = parse_body(raw, ResponseErrorIn)
    order = (
        intake.find_order(inbound.session, inbound.id, body.partner_interview_id) if body.partner_interview_id else None
    )
    about = (
        f" about order {order.id}"
        if order is not None
        else (f" about partner_interview_id {body.partner_interview_id!r}" if body.partner_interview_id else "")
    )
    errors = "; ".join(body.errors) or "(no details)"
    intake.record_notice(
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
