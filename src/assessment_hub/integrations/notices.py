"""Notices: things an ATS told the hub that the vendor should hear (Greenhouse ``response_error``
reports, a refused callback host). Each is shown once, as a warning on the next result PUT for
that integration (and order, when it names one)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from assessment_hub.db.base import Base, UTCDateTime
from assessment_hub.kit.timestamps import utcnow


class NoticeRow(Base):
    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    integration_id: Mapped[str] = mapped_column(String(80), index=True)
    order_id: Mapped[str | None] = mapped_column(String(24))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def add_notice(session: Session, integration_id: str, message: str, order_id: str | None = None) -> None:
    session.add(NoticeRow(integration_id=integration_id, order_id=order_id, message=message, created_at=utcnow()))
    session.flush()


def take_notices(session: Session, integration_id: str, order_id: str) -> list[str]:
    """Undelivered notices for the integration (not tied to an order, or tied to ``order_id``); marks them delivered."""
    rows = session.scalars(select(NoticeRow).where(
        NoticeRow.integration_id == integration_id, NoticeRow.delivered_at.is_(None),
        or_(NoticeRow.order_id.is_(None), NoticeRow.order_id == order_id)).order_by(NoticeRow.id)).all()
    now = utcnow()
    for row in rows:
        row.delivered_at = now
    return [row.message for row in rows]
