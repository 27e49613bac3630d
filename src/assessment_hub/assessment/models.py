"""Rows for packages, orders, result revisions and attachments.

An order points at its latest accepted result revision; revisions are immutable and numbered
1, 2, ... per order, so every result the vendor ever sent stays visible.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from assessment_hub.db.base import Base, JSONTextType, JSONType, UTCDateTime
from assessment_hub.kit.states import OrderStatus
from assessment_hub.kit.timestamps import utcnow


class PackageRow(Base):
    """A vendor package (a test) published to one integration; ``package_id`` is the vendor's id."""

    __tablename__ = "packages"
    __table_args__ = (UniqueConstraint("integration_id", "package_id"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    integration_id: Mapped[str] = mapped_column(ForeignKey("integrations.id", ondelete="CASCADE"))
    package_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    type: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OrderRow(Base):
    """A unified assessment order. ``candidate``/``application``/``job`` hold the Kombo sub-objects."""

    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_integration_created", "integration_id", "created_at", "id"),
        Index("ix_orders_integration_status_created", "integration_id", "status", "created_at", "id"),
        # the operator console lists every integration's orders newest first (assessment.browse)
        Index("ix_orders_created", "created_at", "id"),
        Index("ix_orders_status_created", "status", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    integration_id: Mapped[str] = mapped_column(ForeignKey("integrations.id", ondelete="CASCADE"))
    package_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default=OrderStatus.OPEN)
    candidate: Mapped[dict[str, Any]] = mapped_column(JSONType)
    application: Mapped[dict[str, Any]] = mapped_column(JSONType)
    job: Mapped[dict[str, Any]] = mapped_column(JSONType)
    remote_data: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    """The ATS's own order payload as received, kept for the operator."""
    inline: Mapped[bool] = mapped_column(Boolean, default=False)
    rejection_message: Mapped[str | None] = mapped_column(Text)
    assessment_url: Mapped[str | None] = mapped_column(Text)
    """Inline orders: the URL the vendor answered, handed to the ATS for the candidate."""
    latest_result_id: Mapped[str | None] = mapped_column(String(24))
    """The latest accepted revision (no FK: revisions reference their order, not the reverse)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When the candidate's personal data was erased (``privacy.erasure``); the order itself stays."""

    latest_result: Mapped[ResultRevisionRow | None] = relationship(
        primaryjoin="foreign(OrderRow.latest_result_id) == ResultRevisionRow.id", lazy="raise", viewonly=True
    )


class ResultRevisionRow(Base):
    """One accepted ``PUT .../result``, normalized to today's shape; never updated after insert."""

    __tablename__ = "result_revisions"
    __table_args__ = (UniqueConstraint("order_id", "revision"),)

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    revision: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    score: Mapped[float | None] = mapped_column(Float)
    max_score: Mapped[float | None] = mapped_column(Float)
    result_url: Mapped[str] = mapped_column(Text)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attributes: Mapped[list[dict[str, Any]]] = mapped_column(JSONTextType)
    """Today's shape, as the hub serialized it (the same text on both backends: the listing splices it)."""
    remote_fields: Mapped[dict[str, Any] | None] = mapped_column(JSONTextType)
    """The JSON text the vendor sent (``NormalizedResult.remote_fields_text``), kept as written and spliced
    into the listing: the vendor's spelling on both backends. Rows stored before migration 0007 keep the
    spelling they were stored in: ``jsonb``'s on PostgreSQL, the hub's serialization of the value on SQLite;
    an erasure that redacts it writes the hub's serialization."""
    warnings: Mapped[list[str]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    attachments: Mapped[list[AttachmentRow]] = relationship(
        order_by="AttachmentRow.position", lazy="raise", cascade="all, delete-orphan"
    )


class AttachmentRow(Base):
    """An attachment of a result revision; the bytes live in the attachment store under ``sha256``."""

    __tablename__ = "attachments"
    __table_args__ = (UniqueConstraint("revision_id", "position"),)

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    revision_id: Mapped[str] = mapped_column(ForeignKey("result_revisions.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size_bytes: Mapped[int] = mapped_column(Integer)
    source_url: Mapped[str | None] = mapped_column(Text)
