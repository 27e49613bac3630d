"""Where ATSs reach the hub: one base URL per integration, ``/connectors/{tool}/{connection}``.

``connection`` is the 24-character part of the integration id (``greenhouse:HWUT...`` ->
``HWUT...``): unguessable, and free of the ``:`` that some ATS forms refuse. Each connector's
``inbound`` router is mounted beneath it and authenticates the ATS its own way.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Path, Request
from sqlalchemy.orm import Session

from assessment_hub.db.session import SessionDep
from assessment_hub.errors import NotFound
from assessment_hub.integrations.models import IntegrationRow
from assessment_hub.integrations.service import integration_settings
from assessment_hub.kit.crypto import Cipher

PREFIX = "/connectors/{tool}/{connection}"


def connection_of(integration_id: str) -> str:
    return integration_id.split(":", 1)[1]


def public_base_url(request: Request) -> str:
    configured = request.app.state.settings.public_base_url
    return (configured or str(request.base_url)).rstrip("/")


def integration_base_url(base_url: str, integration_id: str) -> str:
    tool = integration_id.split(":", 1)[0]
    return f"{base_url.rstrip('/')}/connectors/{tool}/{connection_of(integration_id)}"


def integration_setup(integration: IntegrationRow, cipher: Cipher, base_url: str) -> dict[str, Any]:
    """What the customer pastes into the ATS for ``integration`` (its connector's ``setup``), with URLs
    under ``base_url`` (the hub's public base URL)."""
    from assessment_hub.connectors.registry import connector_class

    return connector_class(integration.tool).setup(
        integration_settings(integration, cipher), integration_base_url(base_url, integration.id)
    )


class Inbound:
    """The integration an inbound request is for, with its decrypted settings."""

    def __init__(self, integration: IntegrationRow, settings: dict[str, Any], session: Session) -> None:
        self.integration = integration
        self.settings = settings
        self.session = session

    @property
    def id(self) -> str:
        return self.integration.id


def _tool_of(request: Request, connection: str) -> str:
    """The ``{tool}`` segment before ``connection``: mounting fills it in as a literal, not a path parameter."""
    segments = request.url.path.split("/")
    for index in range(len(segments) - 2):
        if segments[index] == "connectors" and segments[index + 2] == connection:
            return segments[index + 1]
    return ""


def _inbound(request: Request, session: SessionDep, connection: Annotated[str, Path()]) -> Inbound:
    integration = session.get(IntegrationRow, f"{_tool_of(request, connection)}:{connection}")
    if integration is None or integration.deleted_at is not None or integration.status == "INACTIVE":
        raise NotFound("No active integration at this URL.")
    return Inbound(integration, integration_settings(integration, request.app.state.settings.cipher), session)


InboundDep = Annotated[Inbound, Depends(_inbound)]
"""The live integration addressed by the URL; the connector's own auth check comes after."""


def mount_inbound_routes(app: FastAPI) -> None:
    from assessment_hub.connectors.registry import CONNECTORS

    for tool, connector in CONNECTORS.items():
        if connector.inbound is not None:
            app.include_router(connector.inbound, prefix=PREFIX.replace("{tool}", tool))
