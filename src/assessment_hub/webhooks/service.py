"""Vendor webhook endpoints, and turning an event into one outbox row per subscribed endpoint."""

from __future__ import annotations

import json
import secrets
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from assessment_hub.delivery.models import OutboxRow
from assessment_hub.delivery.states import DeliveryState
from assessment_hub.errors import InputInvalid, NotFound
from assessment_hub.kit.crypto import Cipher
from assessment_hub.kit.ids import new_id
from assessment_hub.kit.timestamps import utcnow
from assessment_hub.webhooks.events import EVENT_TYPES
from assessment_hub.webhooks.models import WebhookEndpointRow


def check_endpoint_url(url: str) -> None:
    """Raise ``InputInvalid`` unless ``url`` is an absolute http(s) URL with a host (and a valid port, if any)."""
    problem = None
    try:
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https"):
            problem = "must be an http(s) URL"
        elif not parts.hostname:
            problem = "must name a host"
        elif any(c.isspace() for c in url):
            problem = "must not contain spaces"
        else:
            parts.port  # noqa: B018 -- raises ValueError for a port outside 0..65535 or not a number
    except ValueError as exc:
        problem = f"is not a valid URL ({exc})"
    if problem:
        raise InputInvalid(f"url: {problem} (got {url!r}).")


def create_endpoint(
    session: Session, cipher: Cipher, url: str, events: list[str] | None = None
) -> tuple[WebhookEndpointRow, str]:
    """Register ``url`` for ``events`` (all when empty); returns the row and the generated secret."""
    check_endpoint_url(url)
    unknown = sorted(set(events or ()) - set(EVENT_TYPES))
    if unknown:
        raise InputInvalid(f"events: unknown event type {', '.join(unknown)}; known: {', '.join(EVENT_TYPES)}.")
    secret = "whsec_" + secrets.token_urlsafe(32)
    row = WebhookEndpointRow(
        id=new_id(),
        url=url,
        secret_encrypted=cipher.encrypt_json(secret),
        events=sorted(set(events or ())),
        enabled=True,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row, secret


def list_endpoints(session: Session) -> list[WebhookEndpointRow]:
    return list(session.scalars(select(WebhookEndpointRow).order_by(WebhookEndpointRow.created_at)))


def delete_endpoint(session: Session, endpoint_id: str) -> None:
    row = session.get(WebhookEndpointRow, endpoint_id)
    if row is None:
        raise NotFound(f"No webhook endpoint with id {endpoint_id!r}.")
    session.delete(row)
    session.flush()


def endpoint_secret(row: WebhookEndpointRow, cipher: Cipher) -> str:
    return cipher.decrypt_json(row.secret_encrypted)


def subscribed_endpoints(session: Session, event_type: str) -> list[WebhookEndpointRow]:
    return [
        row
        for row in session.scalars(select(WebhookEndpointRow).where(WebhookEndpointRow.enabled.is_(True)))
        if not row.events or event_type in row.events
    ]


def encode_event(event_id: str, event_type: str, data: dict[str, Any]) -> str:
    """The exact body sent and signed, fixed once so every retry sends the same bytes."""
    return json.dumps({"id": event_id, "type": event_type, "data": data}, separators=(",", ":"), ensure_ascii=False)


def enqueue_event(
    session: Session,
    event_type: str,
    data: dict[str, Any],
    *,
    integration_id: str | None,
    order_id: str | None = None,
) -> str:
    """Add one outbox row per endpoint subscribed to ``event_type`` (same event id for all); returns the event id."""
    event_id = new_id()
    body = encode_event(event_id, event_type, data)
    now = utcnow()
    for endpoint in subscribed_endpoints(session, event_type):
        session.add(
            OutboxRow(
                kind="webhook",
                action=event_type,
                integration_id=integration_id,
                order_id=order_id,
                endpoint_id=endpoint.id,
                event_id=event_id,
                body=body,
                state=DeliveryState.PENDING,
                next_attempt_at=now,
                created_at=now,
                updated_at=now,
            )
        )
    session.flush()
    return event_id
