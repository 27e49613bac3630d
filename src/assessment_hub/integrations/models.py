"""Rows for integrations (one customer's ATS connection), vendor API keys and hub-wide metadata."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from assessment_hub.db.base import Base, UTCDateTime
from assessment_hub.kit.timestamps import utcnow


class IntegrationRow(Base):
    """An integration: one customer's ATS (``tool``) connected to the hub.

    ``status`` is Kombo's ``ACTIVE | INVALID | INACTIVE``; a deleted integration keeps its row
    (``deleted_at`` set) so its orders and deliveries stay inspectable, but the API treats it as unknown.
    """

    __tablename__ = "integrations"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    tool: Mapped[str] = mapped_column(String(40), index=True)
    organization_name: Mapped[str] = mapped_column(String(255))
    creator_email: Mapped[str | None] = mapped_column(String(255))
    origin_id: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    settings_encrypted: Mapped[str | None] = mapped_column(Text)
    """The connector settings (credentials, base URLs) as encrypted JSON; see ``integration_settings``."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiKeyRow(Base):
    """A vendor API key. Only the SHA-256 of the key is stored; the key itself is shown once."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class HubMetaRow(Base):
    """Hub-wide key/value facts set once, e.g. ``environment_id`` (answered by /check-api-key)."""

    __tablename__ = "hub_meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class InboundEventRow(Base):
    """A signed ATS event id (Teamtailor's partner-event id, Lever's delivery ``token``) the hub took from an
    integration, with a digest of the body that came with it, kept until ``expires_at``, the end of the
    window in which that signature can still be used (``intake.remember_event``): a captured signature
    replayed with another body is refused, in every process. Expired rows are deleted by the next event of
    the integration and by the worker's ``inbound-events-prune`` chore (``privacy.retention``)."""

    __tablename__ = "inbound_events"
    __table_args__ = (
        # the integration's expired ids (remember_event): without it the planner walks the integration's whole
        # primary-key range (100k remembered Lever tokens: 99 ms per delivery on SQLite instead of 1.9 ms)
        Index("ix_inbound_events_integration_expiry", "integration_id", "expires_at"),
    )

    integration_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    """sha256 (hex) of the event's body, canonical JSON (``connectors.inbound.body_fingerprint``)."""
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    """When the event id is forgotten: the connector's window for it (Teamtailor 10 min, Lever ~30 days); the
    single-column index serves the prune chore, which deletes every integration's expired ids."""


__all__ = ["ApiKeyRow", "HubMetaRow", "InboundEventRow", "IntegrationRow"]
