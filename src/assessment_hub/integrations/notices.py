"""Notices: things an ATS told the hub that the vendor should hear (Greenhouse ``response_error``
reports, a refused callback host). Each is shown once, as a warning on the next result PUT for
that integration (and order, when it names one)."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import String, Table, Text, bindparam, or_, select, update
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


_notices = cast(Table, NoticeRow.__table__)
_UNDELIVERED = (
    select(_notices.c.id, _notices.c.message)
    .where(
        _notices.c.integration_id == bindparam("b_integration_id"),
        _notices.c.delivered_at.is_(None),
        or_(_notices.c.order_id.is_(None), _notices.c.order_id == bindparam("b_order_id")),
    )
    .order_by(_notices.c.id)
)
_MARK_DELIVERED = update(_notices).where(_notices.c.id.in_(bindparam("b_ids", expanding=True)))


def take_notices(session: Session, integration_id: str, order_id: str) -> list[str]:
    """Undelivered notices for the integration (not tied to an order, or tied to ``order_id``); marks them delivered.

    Core statements built once: this runs on every result write, and there is rarely a notice."""
    conn = session.connection()
    rows = conn.execute(_UNDELIVERED, {"b_integration_id": integration_id, "b_order_id": order_id}).all()
    if rows:
        conn.execute(_MARK_DELIVERED.values(delivered_at=utcnow()), {"b_ids": [row.id for row in rows]})
    return [row.message for row in rows]
