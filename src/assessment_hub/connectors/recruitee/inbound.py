"""The endpoints Recruitee calls beneath ``/connectors/recruitee/{connection}`` (ats-protocols.md §6.2,
ats-protocols-2.md §3.3; OFFICIAL-PARTIAL): the partner's ``urls.tests`` and ``urls.send_candidate``.

- ``GET /tests`` -> a bare JSON array ``[{"id", "name"}]`` of the vendor's live packages.
- ``POST /send_candidate`` -> 200 ``{"id", "report_id", "status": "sent"}``: the order is stored (``report_id``,
  minted by Recruitee, is its key: the same one again answers the same order and makes no second one); an
  unknown ``test_id`` 422; a body that is not a send-candidate 422.

Auth: ``Authorization: Bearer {token}``, the token the hub minted and the customer pasted into Recruitee; a
missing or wrong one is 401. Refusals are JSON ``{"error": message}`` (Recruitee may show the message to its
user; the body format is UNCONFIRMED, §6.2).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

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
    inbound_router,
    key_matches,
    parse_body,
)
from assessment_hub.connectors.recruitee.mapping import test, unified_order
from assessment_hub.connectors.recruitee.schemas import SendCandidate
from assessment_hub.connectors.recruitee.writeback import REPORT_KEY
from assessment_hub.kit.openapi import inbound_documented


def error_response(refusal: Refusal) -> Response:
    """``{"error": message}`` with the refusal's status."""
    return JSONResponse({"error": refusal.message}, status_code=refusal.status)


def _invalid_request(exc: RequestValidationError) -> Refusal:
    return Refusal(400, "The request is not valid.")


router = inbound_router(ErrorEnvelope("recruitee", error_response, invalid_request=_invalid_request))

BODY = BodyRules(
    not_json="The body is not JSON.",
    not_object="The body must be a JSON object.",
    invalid="Invalid candidate: {problems}",
    empty=NOT_JSON,
    status=422,
)
"""A send-candidate body: a JSON object; every refusal names the fields at fault."""


async def _authenticated(inbound: InboundDep, token: Annotated[str | None, Depends(bearer_token)]) -> Inbound:
    """``Authorization: Bearer {token}``: the token the hub minted for the integration."""
    if not key_matches(token, inbound.settings.get("token")):
        raise Refusal(401, "Invalid or missing token.")
    return inbound


RecruiteeDep = Annotated[Inbound, Depends(_authenticated)]


@router.get(
    "/tests",
    **inbound_documented(
        "List tests",
        description="The vendor's published packages, as Recruitee partner tests.",
        answer="An array of `{id, name}` tests.",
    ),
)
def tests(inbound: RecruiteeDep) -> JSONResponse:
    return JSONResponse([test(p) for p in intake.packages(inbound.session, inbound.id)])


@router.post(
    "/send_candidate",
    **inbound_documented(
        "Send a candidate",
        description="Recruitee orders a test for a candidate; results go back to its report. The same report_id "
        "again answers the order it made and makes no second one.",
        body=SendCandidate,
        answer="`{id, report_id, status}`.",
        errors={400: "The body is not JSON.", 422: "Invalid candidate, or an unknown test."},
    ),
)
def send_candidate(inbound: RecruiteeDep, raw: RawBodyDep) -> JSONResponse:
    body, data = parse_body(raw, SendCandidate, BODY)
    session = inbound.session
    intake.lock_remote_id(session, inbound.id, f"report:{body.report_id}")
    order = intake.find_order_by_remote(session, inbound.id, REPORT_KEY, body.report_id)
    if order is None:
        if intake.live_package(session, inbound.id, body.test_id) is None:
            raise Refusal(422, f"Unknown test {body.test_id!r}.")
        order = intake.create_order(
            session, inbound.id, body.test_id, unified_order(body), remote_data={**data, "report_id": body.report_id}
        )
    return JSONResponse({"id": order.id, "report_id": body.report_id, "status": "sent"})
