"""Response shapes of the admin API. Secrets never appear, except a new webhook's signing secret, once."""

from __future__ import annotations

from typing import Any

from assessment_hub.integrations.models import IntegrationRow
from assessment_hub.integrations.service import integration_settings
from assessment_hub.kit.crypto import Cipher
from assessment_hub.kit.timestamps import format_instant
from assessment_hub.webhooks.models import WebhookEndpointRow


def integration_view(row: IntegrationRow, cipher: Cipher) -> dict[str, Any]:
    """``{id, tool, organization_name, creator_email, origin_id, status, setting_keys, created_at, deleted_at}``;
    ``setting_keys`` names the stored connector settings, never their values."""
    return {
        "id": row.id,
        "tool": row.tool,
        "organization_name": row.organization_name,
        "creator_email": row.creator_email,
        "origin_id": row.origin_id,
        "status": row.status,
        "setting_keys": sorted(integration_settings(row, cipher)),
        "created_at": format_instant(row.created_at),
        "deleted_at": format_instant(row.deleted_at),
    }


def endpoint_view(row: WebhookEndpointRow, secret: str | None = None) -> dict[str, Any]:
    """``{id, url, events, enabled, created_at}``, plus ``secret`` when given (at creation only)."""
    view: dict[str, Any] = {
        "id": row.id,
        "url": row.url,
        "events": row.events,
        "enabled": row.enabled,
        "created_at": format_instant(row.created_at),
    }
    if secret is not None:
        view["secret"] = secret
    return view
