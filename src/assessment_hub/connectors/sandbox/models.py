"""The sandbox ATS's own state: what it received, and its outage switch."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from assessment_hub.db.base import Base, JSONType, UTCDateTime
from assessment_hub.kit.timestamps import utcnow


class SandboxWritebackRow(Base):
    """One write-back the sandbox ATS accepted. A repeated delivery of the same revision is counted,
    not stored twice (the ATS side of "exactly once in effect")."""

    __tablename__ = "sandbox_writebacks"
    __table_args__ = (UniqueConstraint("order_id", "kind", "revision"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    """``result`` or ``rejection``."""
    revision: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    score: Mapped[float | None] = mapped_column(Float)
    max_score: Mapped[float | None] = mapped_column(Float)
    result_url: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    deliveries: Mapped[int] = mapped_column(Integer, default=1)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SandboxStateRow(Base):
    """Per-integration outage switch: ``off``, ``503``, ``timeout`` or ``flaky`` (503 for ``fail_ratio``)."""

    __tablename__ = "sandbox_state"

    integration_id: Mapped[str] = mapped_column(ForeignKey("integrations.id", ondelete="CASCADE"), primary_key=True)
    outage_mode: Mapped[str] = mapped_column(String(16), default="off")
    fail_ratio: Mapped[float] = mapped_column(Float, default=0.0)
    note: Mapped[str | None] = mapped_column(Text)
