"""The endpoint Lever calls: ``POST /connectors/lever/{connection}/webhook`` (the set-up's ``webhook_url``, added in
Lever as a Candidate Stage Change webhook; ats-protocols-2.md §4.2, SECONDARY).

A body that is not a delivery (``schemas.Delivery``: e.g. a ``triggeredAt`` that is a boolean, a fraction, or
outside Unix milliseconds 0 to 9999-12-31T23:59:59.999Z) is 400 before anything else. A delivery becomes an
order when its signature is valid and its ``toStageId`` is one of the ``stage_packages``:

1. no ``signature_token`` set yet: 503, the message (and the log) tells the operator to set it;
2. ``signature != hex(HMAC-SHA256(signature_token, token + triggeredAt))``: 401;
3. the signed ``token`` already came with another body (``body_fingerprint`` of the whole parsed body, kept by
   ``intake.remember_event`` until ``triggeredAt`` is 30 days old, ``replay``): 401 (and a notice), since
   Lever does not sign the body, this is a captured signature replayed with other ``data``;
4. another event, a connection test without ``data.opportunityId``, or a stage not in ``stage_packages``: 200,
   ``{"order": null}``, nothing stored;
5. the stage's package is not published: 422 (and a notice for the vendor);
6. the same delivery again (its ``token``), or a contact that already has an OPEN order of that package: 200 with
   that order, no second one;
7. triggered more than 30 days ago or more than an hour in the future (``replay.is_stale``: its token may be
   forgotten, so it cannot be told from a replay): 401 (and a notice);
8. the opportunity is read from Lever (``GET {api_base_url}/opportunities/{id}``, Basic ``api_key``) with no
   database transaction open; Lever answering 404/410 (no such opportunity: a retry would not find it
   either): 422 (and a notice); Lever refusing otherwise or unreachable: 502 (and a notice); no email on it:
   422 (and a notice); else the order is stored: 200 ``{"order": id}``.

The integration is the one in the URL, and the signature is checked with its own token, so a delivery never
lands in another integration. Refusals are JSON ``{"code", "message"}`` (Lever's own error shape, SECONDARY).
"""

from __future__ import annotations

from typing import Any

import httpx
import structlog
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from assessment_hub.assessment import intake
from assessment_hub.connectors.base import ConnectorError
from assessment_hub.connectors.inbound import (
    NOT_JSON,
    BodyRules,
    ErrorEnvelope,
    Inbound,
    InboundDep,
    RawBodyDep,
    Refusal,
    body_fingerprint,
    inbound_router,
    parse_body,
)
from assessment_hub.connectors.lever import replay, signature
from assessment_hub.connectors.lever.mapping import parse_stage_packages, unified_order
from assessment_hub.connectors.lever.schemas import Delivery, OpportunityAnswer, StageChange
from assessment_hub.connectors.lever.writeback import fetch_opportunity
from assessment_hub.kit.openapi import inbound_documented

STAGE_CHANGE = "candidateStageChange"
FETCH_TIMEOUT_S = 10.0
GONE = (404, 410)  # Lever's answers to GET /opportunities/{id} that no retry changes: a 422, not a 502
CODES = {400: "BadRequest", 401: "Unauthorized", 404: "NotFound", 413: "PayloadTooLarge", 422: "UnprocessableEntity"}
DELIVERY_TOKEN = ("hub", "delivery_token")

log = structlog.get_logger("assessment_hub.connectors.lever")


def error_response(refusal: Refusal) -> JSONResponse:
    code = refusal.code or CODES.get(refusal.status, "InternalServerError" if refusal.status >= 500 else "Error")
    return JSONResponse({"code": code, "message": refusal.message}, status_code=refusal.status)


def _invalid_request(exc: RequestValidationError) -> Refusal:
    return Refusal(400, "The request is not valid.")


router = inbound_router(ErrorEnvelope("lever", error_response, invalid_request=_invalid_request))

BODY = BodyRules(
    not_json="The body is not JSON.",
    invalid="Not a Lever webhook delivery: {problems}",
    empty=NOT_JSON,
)


def _answer(status: int, message: str, order: str | None = None) -> JSONResponse:
    """An answer that still commits the request's session (a notice recorded before it stays)."""
    if status >= 400:
        return error_response(Refusal(status, message))
    return JSONResponse({"order": order, "message": message}, status_code=status)


def _refuse_with_notice(inbound: Inbound, status: int, message: str) -> JSONResponse:
    intake.record_notice(inbound.session, inbound.id, f"Lever delivery refused ({status}): {message}")
    log.warning("lever_delivery_refused", integration_id=inbound.id, status=status, reason=message)
    return _answer(status, message)


@router.post(
    "/webhook",
    **inbound_documented(
        "Receive a Candidate Stage Change webhook",
        description="Lever's signed Candidate Stage Change delivery; a stage listed in stage_packages orders that "
        "package for the opportunity's contact (read from Lever). Other events and stages are acknowledged and "
        "ignored; the same delivery again answers the order it made, its token with another body is refused.",
        body=Delivery,
        answer="`{order, message}`: the order's id, or null when the delivery orders nothing.",
        errors={
            400: "Not a Lever webhook delivery.",
            401: "The signature does not match the webhook's signature token, the delivery's token already came "
            "with another body (a replay), or a delivery that would order was triggered more than 30 days ago.",
            422: "The stage's package is not published, or the opportunity does not exist at Lever or has no email.",
            502: "Lever refused or could not be reached when the hub read the opportunity.",
            503: "The integration has no signature_token yet.",
        },
    ),
)
def webhook(inbound: InboundDep, raw: RawBodyDep, request: Request) -> JSONResponse:
    delivery, data = parse_body(raw, Delivery, BODY)
    settings = inbound.settings
    token = str(settings.get("signature_token") or "")
    if not token:
        message = (
            "This Lever integration has no signature_token yet, so deliveries cannot be checked: the operator sets "
            f"the token Lever shows for the webhook with `assessment-hub integrations update {inbound.id} "
            "--setting signature_token=...`."
        )
        log.warning("lever_delivery_refused", integration_id=inbound.id, status=503, reason="no signature_token")
        raise Refusal(503, message, code="ServiceUnavailable")
    if not signature.valid(token, delivery.token, delivery.triggeredAt, delivery.signature):
        raise Refusal(401, "The signature does not match this webhook's signature token.")
    session = inbound.session
    # The signature covers token + triggeredAt, not the body: the same token with another body is a replay
    # (Lever retrying sends the same body, which passes and is answered below as the first time).
    if not intake.remember_event(
        session, inbound.id, delivery.token, body_fingerprint(data), keep_s=replay.keep_s(delivery.triggeredAt)
    ):
        return _refuse_with_notice(
            inbound, 401, f"delivery token {delivery.token!r} was already used with another body (a replayed signature)"
        )
    change = delivery.data
    if delivery.event != STAGE_CHANGE or change is None or not change.opportunityId:
        return _answer(200, "Not a candidate stage change with an opportunity: nothing to do.")
    package_id = parse_stage_packages(settings.get("stage_packages")).get(change.toStageId or "")
    if package_id is None:
        return _answer(200, f"Stage {change.toStageId!r} orders no assessment (stage_packages): nothing to do.")
    if intake.live_package(session, inbound.id, package_id) is None:
        return _refuse_with_notice(
            inbound, 422, f"stage {change.toStageId!r} orders package {package_id!r}, which is not published"
        )
    existing = _existing_order(inbound, change, package_id, delivery.token)
    if existing is not None:
        return _answer(200, "Already ordered.", existing)
    if replay.is_stale(delivery.triggeredAt):
        when = (
            f"more than {replay.CLOCK_MARGIN_S // 3600} hour in the future: the hub remembers no token that long"
            if replay.is_future(delivery.triggeredAt)
            else f"more than {replay.REPLAY_WINDOW_S // 86400} days ago: the hub no longer remembers its token"
        )
        return _refuse_with_notice(
            inbound,
            401,
            f"the delivery for opportunity {change.opportunityId!r} (stage {change.toStageId!r}) was triggered at "
            f"{delivery.triggeredAt!r}, {when}, so it cannot be told from a replayed signature (move the candidate "
            "into the stage again to order)",
        )
    session.commit()  # only the token's memory written: end the transaction before calling Lever (no lock held)
    try:
        answer = fetch_opportunity(request.app.state.http, settings, change.opportunityId, FETCH_TIMEOUT_S)
        opportunity = OpportunityAnswer.model_validate(answer).data
    except ConnectorError as exc:
        if exc.http_status in GONE:  # final: retrying will not make it appear
            return _refuse_with_notice(
                inbound,
                422,
                f"opportunity {change.opportunityId!r} does not exist at Lever ({exc.http_status} on GET "
                "/opportunities/{id}; if every delivery gets this, check the api_base_url setting)",
            )
        return _refuse_with_notice(inbound, 502, f"reading opportunity {change.opportunityId!r}: {exc.message}")
    except (httpx.HTTPError, ValueError, ValidationError) as exc:
        reason = exc.errors(include_url=False)[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        return _refuse_with_notice(
            inbound, 502, f"reading opportunity {change.opportunityId!r}: {type(exc).__name__}: {reason}"
        )
    if not opportunity.emails:
        return _refuse_with_notice(
            inbound, 422, f"opportunity {change.opportunityId!r} has no email: the vendor cannot invite the candidate"
        )
    existing = _existing_order(inbound, change, package_id, delivery.token)  # again: the lock was let go
    if existing is not None:
        return _answer(200, "Already ordered.", existing)
    hub: dict[str, Any] = {
        "opportunity_id": change.opportunityId,
        "stage_id": change.toStageId,
        "delivery_token": delivery.token,
    }
    order = intake.create_order(
        session,
        inbound.id,
        package_id,
        unified_order(change, opportunity),
        remote_data={**data, "opportunity": answer.get("data"), "hub": hub},
    )
    return _answer(200, "Ordered.", order.id)


def _existing_order(inbound: Inbound, change: StageChange, package_id: str, token: str) -> str | None:
    """The order this delivery already made (its ``token``), or the contact's OPEN order of the package; holds
    the contact's lock until the transaction ends."""
    session = inbound.session
    key = change.contactId or change.opportunityId or ""
    intake.lock_remote_id(session, inbound.id, f"contact:{key}")
    found = intake.find_order_by_remote(session, inbound.id, DELIVERY_TOKEN, token)
    if found is None and change.contactId:
        found = intake.open_order_for_candidate(session, inbound.id, package_id, change.contactId)
    return found.id if found is not None else None
