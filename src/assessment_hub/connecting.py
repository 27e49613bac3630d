"""Connecting an ATS, the operator's side: the use cases that need the connector registry.

Above the registry and the features (admin, the CLI, bootstrap and the demo call these): creating an
integration with its connector's settings checked and completed, and what the customer pastes into the ATS.
Features never import the registry for this; routes that need a connector use ``app.state.connectors``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from assessment_hub.connectors.base import check_given_settings
from assessment_hub.connectors.inbound import integration_base_url
from assessment_hub.connectors.registry import connector_class
from assessment_hub.integrations.models import IntegrationRow
from assessment_hub.integrations.service import add_integration, get_integration, integration_settings
from assessment_hub.integrations.tool_settings import TOOL_SETTINGS
from assessment_hub.kit.crypto import Cipher


def create_integration(
    session: Session,
    tool: str,
    organization_name: str,
    *,
    settings: dict[str, Any] | None = None,
    cipher: Cipher | None = None,
    creator_email: str | None = None,
    origin_id: str | None = None,
) -> IntegrationRow:
    """Create an ACTIVE integration and queue ``integration-created``.

    ``settings`` (connector credentials and URLs) are checked and completed by the tool's connector
    (``prepare_settings``: raises ``SettingsError``) and stored encrypted with ``cipher``.
    Raises ``KeyError`` for an unknown tool.
    """
    connector = connector_class(tool)
    prepared = connector.prepare_settings(check_given_settings(connector, settings or {}))
    return add_integration(
        session,
        tool,
        organization_name,
        settings=prepared,
        cipher=cipher,
        creator_email=creator_email,
        origin_id=origin_id,
    )


def integration_setup(integration: IntegrationRow, cipher: Cipher, base_url: str) -> dict[str, Any]:
    """What the customer pastes into the ATS for ``integration`` (its connector's ``setup``), with URLs
    under ``base_url`` (the hub's public base URL)."""
    return connector_class(integration.tool).setup(
        integration_settings(integration, cipher), integration_base_url(base_url, integration.id)
    )


def update_integration(
    session: Session, integration_id: str, updates: dict[str, str], *, cipher: Cipher
) -> IntegrationRow:
    """Change some of a live integration's connector settings (values the ATS shows only after the customer
    pasted the hub's set-up into it, e.g. Lever's ``signature_token``, SmartRecruiters' API credentials).

    The operator's settings (``integrations.tool_settings.TOOL_SETTINGS``) already stored, with ``updates`` over
    them (an empty value removes the setting), are checked again by the connector (``prepare_settings``: raises
    ``SettingsError``); what the hub minted at creation (keys the ATS sends) is kept as it was, so the customer
    pastes nothing again. Raises ``IntegrationNotFound`` for an unknown or deleted integration."""
    row = get_integration(session, integration_id)
    current = integration_settings(row, cipher)
    operator_keys = {key for key, _required, _meaning in TOOL_SETTINGS.get(row.tool, ())}
    given = {k: str(v) for k, v in current.items() if k in operator_keys}
    connector = connector_class(row.tool)
    for key, value in check_given_settings(connector, updates, blank_removes=True).items():
        if value.strip():
            given[key] = value
        else:
            given.pop(key, None)
    prepared = connector.prepare_settings(given)
    prepared.update({k: v for k, v in current.items() if k not in operator_keys and k not in updates})
    row.settings_encrypted = cipher.encrypt_json(prepared) if prepared else None
    session.flush()
    return row
