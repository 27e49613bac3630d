"""Routes Teamtailor calls, beneath ``/connectors/teamtailor/{connection}`` (the setup's ``base_url``).

- ``GET /config``: the trigger form (a ``select`` of the vendor's packages, assessment criteria).
- ``POST /webhook``: the partner event, i.e. the order.

Auth: ``Authorization: Bearer {provider_key}``; with a ``webhook_secret`` the webhook must also carry a
valid ``Teamtailor-Signature``. Every error answer is a plain string with a status >= 400, which
Teamtailor shows on the partner result (ats-protocols.md §7.4); never the Kombo envelope or a trace.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.routing import APIRoute
from pydantic import ValidationError

from assessment_hub.assessment import service
from assessment_hub.connectors.inbound import Inbound, InboundDep
from assessment_hub.connectors.teamtailor import orders
from assessment_hub.connectors.teamtailor.mapping import PACKAGE_FIELD, package_choice
from assessment_hub.connectors.teamtailor.schemas import WebhookBody
from assessment_hub.connectors.teamtailor.settings import parse_criteria
from assessment_hub.connectors.teamtailor.signature import HEADER as SIGNATURE_HEADER
from assessment_hub.connectors.teamtailor.signature import check_signature
from assessment_hub.errors import HubError, describe_validation_error

log = logging.getLogger("assessment_hub.connectors.teamtailor")


class TeamtailorRefusal(Exception):
    """Answer Teamtailor with ``status`` and the plain-string ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class PlainTextErrors(APIRoute):
    """Every failure of these routes (dependencies included) becomes a plain-string answer."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def plain(request: Request) -> Response:
            try:
                return await handler(request)
            except TeamtailorRefusal as exc:
                return PlainTextResponse(exc.message, status_code=exc.status)
            except HubError as exc:
                return PlainTextResponse(exc.message, status_code=exc.status_code)
            except RequestValidationError:
                return PlainTextResponse("Invalid request", status_code=400)
            except Exception:
                log.exception("teamtailor inbound %s %s failed", request.method, request.url.path)
                return PlainTextResponse(
                    "The assessment hub failed to handle this request; its operator can "
                    "find the error in the server log.",
                    status_code=500,
                )

        return plain


router = APIRouter(route_class=PlainTextErrors)


def _authenticated(inbound: InboundDep, authorization: Annotated[str | None, Header()] = None) -> Inbound:
    scheme, _, token = (authorization or "").strip().partition(" ")
    expected = str(inbound.settings.get("provider_key") or "")
    if scheme.lower() != "bearer" or not expected or not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise TeamtailorRefusal(401, "Invalid provider key")
    return inbound


TeamtailorDep = Annotated[Inbound, Depends(_authenticated)]


async def _raw_body(request: Request) -> bytes:
    return await request.body()


@router.get("/config")
def config(inbound: TeamtailorDep) -> JSONResponse:
    packages = service.list_packages(inbound.session, inbound.id)
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


@router.post("/webhook")
def webhook(
    inbound: TeamtailorDep,
    raw_body: Annotated[bytes, Depends(_raw_body)],
    teamtailor_signature: Annotated[str | None, Header(alias=SIGNATURE_HEADER)] = None,
) -> Response:
    try:
        raw = json.loads(raw_body)
    except ValueError:
        raise TeamtailorRefusal(400, "The body is not JSON") from None
    try:
        body = WebhookBody.model_validate(raw)
    except ValidationError as exc:
        raise TeamtailorRefusal(
            400, describe_validation_error(exc).replace("Invalid request body", "Invalid partner event")
        ) from None
    event = body.partner_event
    secret = inbound.settings.get("webhook_secret")
    if secret:
        problem = check_signature(secret, teamtailor_signature, event.id)
        if problem:
            raise TeamtailorRefusal(401, problem)
    if event.partner_result is None:
        raise TeamtailorRefusal(422, "The partner event has no partner-result: the hub could not send the result back")
    session = inbound.session
    orders.lock_partner_result(session, inbound.id, event.partner_result.id)
    existing = orders.find_order(session, inbound.id, event.partner_result.id)
    if existing is not None:  # Teamtailor retried the same event: already taken
        return Response(status_code=200)
    package_id = package_choice(event)
    if package_id is None:
        raise TeamtailorRefusal(422, f'No test chosen (webhook-data "{PACKAGE_FIELD}" is missing)')
    if service.get_live_package(session, inbound.id, package_id) is None:
        raise TeamtailorRefusal(422, f'Unknown test "{package_id}"')
    orders.create_from_event(session, inbound.id, inbound.settings, package_id, event, raw)
    return Response(status_code=200)
