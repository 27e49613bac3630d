"""The connection link row: one ``create-link`` call, and the integration it became (if any)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from assessment_hub.db.base import Base, JSONType, UTCDateTime
from assessment_hub.kit.timestamps import utcnow


class ConnectLinkRow(Base):
    """A connection link created by a vendor key for one end user (kombo-contract.md §6).

    The link's token and the activation token are stored as SHA-256 only (``token_hash``,
    ``activation_hash``); the activation token is also kept encrypted (``activation_encrypted``) so the
    done page can hand it to the embedding window again after a reload. A link is *open* until
    ``expires_at``, *used* once ``used_at`` is set (then ``integration_id`` names what it created).
    """

    __tablename__ = "connect_links"

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    api_key_id: Mapped[str] = mapped_column(String(24), index=True)
    """The vendor key that created the link; only it can exchange the activation token."""
    link_type: Mapped[str] = mapped_column(String(16))
    """``EMBEDDED`` (valid 1 hour) or ``MAGIC_LINK`` (valid 1 year)."""
    end_user_email: Mapped[str] = mapped_column(String(255))
    end_user_organization_name: Mapped[str] = mapped_column(String(255))
    end_user_origin_id: Mapped[str | None] = mapped_column(String(255))
    integration_tool: Mapped[str | None] = mapped_column(String(40))
    """The one tool the link allows; null: every tool the page offers."""
    language: Mapped[str] = mapped_column(String(8), default="en")
    options: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    """The create-link fields the hub accepts and keeps but does not act on (remote_environment, scope_config_id,
    enable_filtering, enable_field_mapping, enable_static_ips)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    integration_id: Mapped[str | None] = mapped_column(String(80))
    activation_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    activation_encrypted: Mapped[str | None] = mapped_column(Text)
    activation_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
