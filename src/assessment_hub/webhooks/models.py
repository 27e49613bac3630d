"""Vendor webhook endpoints: where the hub POSTs signed events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from assessment_hub.db.base import Base, JSONType, UTCDateTime
from assessment_hub.kit.timestamps import utcnow


class WebhookEndpointRow(Base):
    """A URL of the vendor's, with its signing secret (encrypted) and the event types it receives.

    ``events`` empty means every event type. The URL is set by the operator and may be private or
    loopback: the hub often runs beside the vendor's own app.
    """

    __tablename__ = "webhook_endpoints"

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    secret_encrypted: Mapped[str] = mapped_column(Text)
    events: Mapped[list[str]] = mapped_column(JSONType, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
