"""The endpoints SmartRecruiters calls beneath ``/connectors/smartrecruiters/{connection}`` (the set-up's ``base_url``;
ats-protocols-2.md §1.1, §1.3, §1.4, SPEC-DERIVED).

- ``POST /oauth/token``: form ``grant_type=client_credentials&client_id&client_secret`` (or the client credentials
  as HTTP Basic, RFC 6749 §2.3.1) -> 200 ``{access_token, token_type, expires_in}``; refusals are 400 with RFC 6749's
  ``{"error", "error_description"}`` (``invalid_client``, ``unsupported_grant_type``, ``invalid_request``).
- ``GET /packages`` -> a bare array of ``AssessmentPackage`` (204 without a body when there is none);
  ``GET /packages/{id}`` -> one, or 404.
- ``POST /packages/orders`` -> 202 ``{}``: the order is stored (``resultCallbackURL`` is its key: the same one again
  makes no second order); an unknown package 404; a body that is not an order 400.

Every other refusal is SmartRecruiters' ``ErrorResponse`` ``{"message", "errors": [{"code", "message"}]}``; the
``requester`` header and the job-field query parameters are accepted and not needed.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPBasic, HTTPBasicCredentials
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
from assessment_hub.connectors.smartrecruiters import tokens
from assessment_hub.connectors.smartrecruiters.mapping import package, unified_order
from assessment_hub.connectors.smartrecruiters.schemas import OrderIn
from assessment_hub.connectors.smartrecruiters.writeback import SMARTRECRUITERS_HOSTS
from assessment_hub.connectors.urls import is_http_url
from assessment_hub.errors import describe_validation_error
from assessment_hub.kit.openapi import inbound_documented

DEFAULT_CODES = {400: "INVALID_REQUEST", 401: "UNAUTHORIZED", 404: "NOT_FOUND", 413: "PAYLOAD_TOO_LARGE", 500: "ERROR"}
ORDER_KEY = ("resultCallbackURL",)
"""Where an order's ``remote_data`` (the order body as received) holds its key."""


def error_response(refusal: Refusal) -> Response:
    """SmartRecruiters' ``ErrorResponse``."""
    code = refusal.code or DEFAULT_CODES.get(refusal.status, "ERROR")
    return JSONResponse(
        {"message": refusal.message, "errors": [{"code": code, "message": refusal.message}]},
        status_code=refusal.status,
    )


def _invalid_request(exc: RequestValidationError) -> Refusal:
    return Refusal(400, "The request is not valid.", code="INVALID_REQUEST")


router = inbound_router(ErrorEnvelope("smartrecruiters", error_response, invalid_request=_invalid_request))
_basic = HTTPBasic(auto_error=False)


def token_error(error: str, description: str) -> JSONResponse:
    """RFC 6749 §5.2, as ``TokenErrorResponse`` (400)."""
    return JSONResponse({"error": error, "error_description": description}, status_code=400)


async def _basic_credentials(request: Request) -> HTTPBasicCredentials | None:
    try:
        return await _basic(request)
    except Exception:  # undecodable Basic credentials: treated as none
        return None


@router.post(
    "/oauth/token",
    **inbound_documented(
        "Exchange client credentials for an access token",
        description="SmartRecruiters trades the client_id and client_secret the hub minted for a Bearer token "
        "(OAuth 2.0 client credentials; a form body `grant_type=client_credentials&client_id&client_secret`, "
        "or the credentials as HTTP Basic).",
        answer="`{access_token, token_type, expires_in}`.",
        errors={400: "`{error, error_description}`: unsupported grant type, unknown client or wrong secret."},
    ),
)
def oauth_token(
    inbound: InboundDep,
    raw: RawBodyDep,
    request: Request,
    basic: Annotated[HTTPBasicCredentials | None, Depends(_basic_credentials)],
) -> Response:
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type == "application/json":  # tolerated: the spec says form-encoded
        try:
            data = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return token_error("invalid_request", "The body is neither a form nor JSON.")
        form = {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    else:
        form = {k: v[-1] for k, v in parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True).items()}
    if form.get("grant_type") != "client_credentials":
        return token_error("unsupported_grant_type", "grant_type must be client_credentials.")
    client_id, client_secret = form.get("client_id"), form.get("client_secret")
    if basic is not None and not client_id:
        client_id, client_secret = basic.username, basic.password
    settings = inbound.settings
    if not (
        key_matches(client_id, settings.get("client_id")) and key_matches(client_secret, settings.get("client_secret"))
    ):
        return token_error("invalid_client", "Unknown client_id or wrong client_secret.")
    token, expires_in = tokens.issue(settings["client_secret"], inbound.id)
    return JSONResponse(
        {"access_token": token, "token_type": "bearer", "expires_in": expires_in},
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


async def _authenticated(inbound: InboundDep, token: Annotated[str | None, Depends(bearer_token)]) -> Inbound:
    """``Authorization: Bearer <access token>`` issued by ``/oauth/token`` for this integration."""
    if not tokens.valid(token, str(inbound.settings.get("client_secret") or ""), inbound.id):
        raise Refusal(401, "Missing, invalid or expired access token.", code="UNAUTHORIZED")
    return inbound


SmartRecruitersDep = Annotated[Inbound, Depends(_authenticated)]


@router.get(
    "/packages",
    **inbound_documented(
        "List assessment packages",
        description="The vendor's published packages, as SmartRecruiters assessment packages.",
        answer="An array of `{id, name, description, type}`.",
        errors={204: "No package is published: no body."},
    ),
)
def list_packages(inbound: SmartRecruitersDep) -> Response:
    packages = intake.packages(inbound.session, inbound.id)
    if not packages:
        return Response(status_code=204)
    return JSONResponse([package(p) for p in packages])


@router.get(
    "/packages/{package_id}",
    **inbound_documented(
        "Get an assessment package",
        description="One published package, as a SmartRecruiters assessment package.",
        answer="`{id, name, description, type}`.",
        errors={404: "No such package, or no active integration at this URL (`ErrorResponse`)."},
    ),
)
def get_package(package_id: str, inbound: SmartRecruitersDep) -> JSONResponse:
    found = intake.live_package(inbound.session, inbound.id, package_id)
    if found is None:
        raise Refusal(404, f"No assessment package with given id {package_id!r}.", code="PACKAGE_NOT_FOUND")
    return JSONResponse(package(found))


@router.post(
    "/packages/orders",
    **inbound_documented(
        "Order an assessment package",
        description="SmartRecruiters orders a package for a candidate; results go back to its resultCallbackURL. "
        "The same resultCallbackURL again makes no second order.",
        body=OrderIn,
        status=202,
        answer="Accepted: an empty object.",
        errors={400: "Invalid body (`ErrorResponse`).", 404: "Unknown package, or no active integration at this URL."},
    ),
)
def order_package(inbound: SmartRecruitersDep, raw: RawBodyDep) -> JSONResponse:
    try:
        payload: Any = json.loads(raw)
    except ValueError:
        raise Refusal(400, "The body is not JSON.", code="INVALID_REQUEST") from None
    try:
        order = OrderIn.model_validate(payload)
    except ValidationError as exc:
        raise Refusal(400, describe_validation_error(exc), code="INVALID_REQUEST") from None
    if not is_http_url(order.resultCallbackURL):
        raise Refusal(400, "resultCallbackURL must be an http(s) URL.", code="INVALID_REQUEST")
    session = inbound.session
    if intake.live_package(session, inbound.id, order.assessmentPackageId) is None:
        raise Refusal(
            404, f"There is no package {order.assessmentPackageId!r} which was ordered.", code="PACKAGE_NOT_FOUND"
        )
    intake.lock_remote_id(session, inbound.id, f"order:{order.resultCallbackURL}")
    if intake.find_order_by_remote(session, inbound.id, ORDER_KEY, order.resultCallbackURL) is None:
        created = intake.create_order(
            session, inbound.id, order.assessmentPackageId, unified_order(order), remote_data=payload
        )
        if not callback_allowed(order.resultCallbackURL, SMARTRECRUITERS_HOSTS, inbound.settings):
            intake.record_notice(
                session,
                inbound.id,
                (
                    f"SmartRecruiters order {created.id}: the resultCallbackURL {order.resultCallbackURL!r} is not on a "
                    "SmartRecruiters host; the hub will not send results there until its host[:port] is added to the "
                    "integration's allowed_callback_hosts."
                ),
                order_id=created.id,
            )
    return JSONResponse({}, status_code=202)


@router.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
def other(path: str, request: Request) -> Response:
    """Anything else (the inline order, the consent page, off-boarding): 404 in SmartRecruiters' shape."""
    raise Refusal(404, f"The hub implements no {request.method} /{path} for SmartRecruiters.", code="NOT_FOUND")
