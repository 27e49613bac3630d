"""Routes Teamtailor calls, beneath ``/connectors/teamtailor/{connection}`` (the setup's ``base_url``).

- ``GET /config``: the trigger form (a ``select`` of the vendor's packages, assessment criteria).
- ``POST /webhook``: the partner event, i.e. the order.

Auth: ``Authorization: Bearer {provider_key}``; with a ``webhook_secret`` the webhook must also carry a
valid ``Teamtailor-Signature``. Every error answer is a plain string with a status >= 400, which
Teamtailor shows on the partner result (ats-protocols.md §7.4); never the Kombo envelope or a trace.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from assessment_hub.assessment import intake
from assessment_hub.connectors.inbound import (
    NOT_JSON,
    BodyRules,
    ErrorEnvelope,
    Inbound,
    InboundDep,
    RawBodyDep,
    Refusal,
    bearer_token,
    body_fingerprint,
    inbound_router,
    key_matches,
    parse_body,
)
from assessment_hub.connectors.teamtailor import orders
from assessment_hub.connectors.teamtailor.mapping import PACKAGE_FIELD, package_choice
from assessment_hub.connectors.teamtailor.schemas import WebhookBody
from assessment_hub.connectors.teamtailor.settings import parse_criteria
from assessment_hub.connectors.teamtailor.signature import HEADER as SIGNATURE_HEADER
from assessment_hub.connectors.teamtailor.signature import REPLAY_WINDOW_S, check_signature
from assessment_hub.errors import describe_validation_error
from assessment_hub.kit.openapi import inbound_documented


def plain_text(refusal: Refusal) -> Response:
    """Teamtailor shows a plain-string error answer on the partner result (§7.4)."""
    return PlainTextResponse(refusal.message, status_code=refusal.status)


def _invalid_request(exc: RequestValidationError) -> Refusal:
    return Refusal(400, "Invalid request")


router = inbound_router(
    ErrorEnvelope(
        "teamtailor",
        plain_text,
        invalid_request=_invalid_request,
        internal_error=(
            "The assessment hub failed to handle this request; its operator can find the error in the server log."
        ),
    )
)


async def _authenticated(inbound: InboundDep, token: Annotated[str | None, Depends(bearer_token)]) -> Inbound:
    """``Authorization: Bearer {provider_key}``: the key the hub minted for the integration."""
    if not key_matches(token, inbound.settings.get("provider_key")):
        raise Refusal(401, "Invalid provider key")
    return inbound


TeamtailorDep = Annotated[Inbound, Depends(_authenticated)]

BODY = BodyRules(
    not_json="The body is not JSON",
    not_object=None,
    invalid="{problems}",
    empty=NOT_JSON,
    describe=lambda exc: describe_validation_error(exc).replace("Invalid request body", "Invalid partner event"),
)
"""A partner event: JSON, refused with the field and rule of each problem."""


@router.get(
    "/config",
    **inbound_documented(
        "Form configuration",
        description="The form Teamtailor shows the recruiter: the vendor's tests and assessment criteria.",
        answer="`{config: {...}}`.",
    ),
)
def config(inbound: TeamtailorDep) -> JSONResponse:
    packages = intake.packages(inbound.session, inbound.id)
    if packages:
        fields: list[dict[str, Any]] = [
            {
                "id": PACKAGE_FIELD,
                "label": "Test",
                "placeholder": "Select test",
                "type": "select",
                "required": True,
                "options": [{"id": p.package_id, "label": p.name} for p in packages],
            }
        ]
    else:
        fields = [{"type": "error", "message": "The assessment vendor has not published any tests yet."}]
    body: dict[str, Any] = {"fields": fields}
    criteria = parse_criteria(inbound.settings.get("assessment_criteria"))
    if criteria:
        body["assessment-criteria"] = criteria
    return JSONResponse({"config": body})


@router.post(
    "/webhook",
    **inbound_documented(
        "Partner event",
        description="Teamtailor sends a partner event; the hub places the order. Answers are plain text.",
        body=WebhookBody,
        answer="An empty answer once the order is stored.",
        errors={400: "The body is not JSON or not a partner event.", 422: "No test chosen, or unknown test."},
    ),
)
def webhook(
    inbound: TeamtailorDep,
    raw_body: RawBodyDep,
    teamtailor_signature: Annotated[str | None, Header(alias=SIGNATURE_HEADER)] = None,
) -> Response:
    body, raw = parse_body(raw_body, WebhookBody, BODY)
    event = body.partner_event
    secret = inbound.settings.get("webhook_secret")
    if secret:
        problem = check_signature(secret, teamtailor_signature, event.id)
        if problem:
            raise Refusal(401, problem)
        # The signature covers "t.<event id>", not the body: the same event id with another body inside the
        # signature's window is a replay (Teamtailor retrying sends the same body, which passes).
        if not intake.remember_event(
            inbound.session, inbound.id, event.id, body_fingerprint(raw), keep_s=REPLAY_WINDOW_S
        ):
            raise Refusal(401, f"{SIGNATURE_HEADER} was already used for partner event {event.id} with another body")
    if event.partner_result is None:
        raise Refusal(422, "The partner event has no partner-result: the hub could not send the result back")
    session = inbound.session
    orders.lock_partner_result(session, inbound.id, event.partner_result.id)
    existing = orders.find_order(session, inbound.id, event.partner_result.id)
    if existing is not None:  # Teamtailor retried the same event: already taken
        return Response(status_code=200)
    package_id = package_choice(event)
    if package_id is None:
        raise Refusal(422, f'No test chosen (webhook-data "{PACKAGE_FIELD}" is missing)')
    if intake.live_package(session, inbound.id, package_id) is None:
        raise Refusal(422, f'Unknown test "{package_id}"')
    orders.create_from_event(session, inbound.id, inbound.settings, package_id, event, raw)
    return Response(status_code=200)
