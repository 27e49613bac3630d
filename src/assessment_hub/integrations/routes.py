"""General endpoints (kombo-contract.md §6): /check-api-key and /integrations/{id}.

These answer only ``PLATFORM.*`` error codes, as the SDKs' ``KomboGeneralError`` requires.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from assessment_hub.db.session import SessionDep, unit_of_work
from assessment_hub.integrations.deps import ApiKeyDep
from assessment_hub.integrations.models import IntegrationRow
from assessment_hub.integrations.responses import ApiKeyCheck, IntegrationOut
from assessment_hub.integrations.service import delete_integration, environment_id, get_integration
from assessment_hub.kit.envelope import EnvelopeResponse, success
from assessment_hub.kit.openapi import Empty, documented
from assessment_hub.kit.timestamps import format_instant

router = APIRouter()
icons = APIRouter()


@router.get(
    "/check-api-key",
    **documented(
        "Check the API key", description="Whether the key is valid, and the hub's environment id.", data=ApiKeyCheck
    ),
)
def check_api_key(_key: ApiKeyDep, session: SessionDep) -> EnvelopeResponse:
    env = environment_id(session)
    return success({"environment_id": env, "customer_id": env})


def tool_label(request: Request, tool: str) -> str:
    """The tool's display name from the connector registry the app was built with (``app.state.connectors``)."""
    connector = request.app.state.connectors.get(tool)
    return connector.label if connector is not None else tool


def integration_view(row: IntegrationRow, icon: str, label: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "tool": {
            "id": row.tool,
            "label": label,
            "internal_label": None,
            "logo_url": icon,
            "icon_url": icon,
        },
        "category": "ASSESSMENT",
        "status": row.status,
        "setup_status": "COMPLETED",
        "end_user": {
            "organization_name": row.organization_name,
            "creator_email": row.creator_email,
            "origin_id": row.origin_id,
        },
        "scope_config": {"id": "default", "name": None},
        "data_expired_at": None,
        "created_at": format_instant(row.created_at),
        "beta": False,
        "read_models": [],
        "write_actions": [],
    }


@router.get(
    "/integrations/{integration_id}",
    **documented(
        "Get an integration",
        description="The integration object; a deactivated integration is described with `status: INACTIVE`.",
        data=IntegrationOut,
        errors=(404,),
    ),
)
def get_integration_details(
    integration_id: str, _key: ApiKeyDep, session: SessionDep, request: Request
) -> EnvelopeResponse:
    row = get_integration(session, integration_id)
    return success(
        integration_view(row, str(request.url_for("tool_icon", tool=row.tool)), tool_label(request, row.tool))
    )


@router.delete(
    "/integrations/{integration_id}",
    **documented(
        "Delete an integration",
        description="The integration then answers as unknown; its orders and results stay with the operator.",
        data=Empty,
        errors=(404,),
    ),
)
def delete_integration_route(integration_id: str, _key: ApiKeyDep, request: Request) -> EnvelopeResponse:
    with unit_of_work(request.app.state.sessions) as session:
        delete_integration(session, integration_id)
    request.app.state.lookups.integrations.forget(integration_id)  # after the commit: see integrations.deps
    return success({})


@icons.get("/tools/{tool}.svg", include_in_schema=False)
def tool_icon(tool: str, request: Request) -> Response:
    label = tool_label(request, tool)
    initial = (label[:1] or "?").upper()
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">'
        '<rect width="64" height="64" rx="12" fill="#334155"/>'
        f'<text x="32" y="42" font-size="30" text-anchor="middle" fill="#fff" font-family="sans-serif">{initial}</text>'
        "</svg>"
    )
    return Response(svg, media_type="image/svg+xml")
