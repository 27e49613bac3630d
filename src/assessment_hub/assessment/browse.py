"""The operator's view of orders: every integration's orders, newest first, and one order in full.

Used by the operator console (``console/``); the vendor API's listing is ``service.list_orders``.

Listing: keyset pagination over ``(created_at, id)`` descending, so a deep page costs what the first
does. Indexes: ``ix_orders_created`` (no filter), ``ix_orders_status_created`` (status),
``ix_orders_integration_created`` / ``ix_orders_integration_status_created`` (integration, with or
without status). The package filter and the search narrow the rows walked on one of those indexes:
a search for something rare walks far (it is a scan in ``created_at`` order that stops at a full page).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, or_, select, tuple_
from sqlalchemy.orm import Session, selectinload

from assessment_hub.assessment.models import OrderRow, ResultRevisionRow
from assessment_hub.db.base import UTCDateTime
from assessment_hub.errors import InputInvalid, NotFound
from assessment_hub.kit.cursors import decode_cursor, encode_cursor

ORDER_STATUSES = ("OPEN", "COMPLETED", "CANCELLED", "REJECTED")
MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class BrowsedOrder:
    """One row of the operator's order list."""

    id: str
    integration_id: str
    package_id: str
    status: str
    candidate: dict[str, Any]
    created_at: Any
    updated_at: Any
    latest_revision: int | None
    latest_score: float | None
    latest_max_score: float | None


@dataclass(frozen=True)
class BrowsePage:
    orders: list[BrowsedOrder]
    next_cursor: str | None
    """Cursor of the page after this one (older orders); None on the last page."""


_orders = OrderRow.__table__
_revisions = ResultRevisionRow.__table__
_BROWSED = select(
    _orders.c.id,
    _orders.c.integration_id,
    _orders.c.package_id,
    _orders.c.status,
    _orders.c.candidate,
    _orders.c.created_at,
    _orders.c.updated_at,
    _orders.c.latest_result_id,
)
_LATEST = select(_revisions.c.id, _revisions.c.revision, _revisions.c.score, _revisions.c.max_score).where(
    _revisions.c.id.in_(bindparam("b_ids", expanding=True))
)


def browse_orders(
    session: Session,
    *,
    integration_id: str | None = None,
    status: str | None = None,
    package_id: str | None = None,
    search: str | None = None,
    cursor: str | None = None,
    page_size: int = 50,
) -> BrowsePage:
    """One page of orders of every integration (or one), newest first.

    ``search`` matches an order id, the candidate's email (case-insensitive), or the remote id of the
    candidate, the application or the job, exactly. Raises ``InputInvalid`` for an unknown status, a
    page size outside 1..``MAX_PAGE_SIZE`` or a cursor this function did not return.
    """
    if status is not None and status not in ORDER_STATUSES:
        raise InputInvalid(f"status: must be one of {', '.join(ORDER_STATUSES)} (got {status!r}).")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InputInvalid(f"page_size: must be between 1 and {MAX_PAGE_SIZE}.")
    query = _BROWSED
    if integration_id:
        query = query.where(_orders.c.integration_id == integration_id)
    if status:
        query = query.where(_orders.c.status == status)
    if package_id:
        query = query.where(_orders.c.package_id == package_id)
    if search and search.strip():
        query = query.where(_matches(search.strip()))
    if cursor:
        try:
            after_created, after_id = decode_cursor(cursor)
        except ValueError as exc:
            raise InputInvalid(f"cursor: {exc}") from None
        query = query.where(
            tuple_(_orders.c.created_at, _orders.c.id)
            < tuple_(bindparam("b_created", after_created, type_=UTCDateTime()), bindparam("b_id", after_id))
        )
    query = query.order_by(_orders.c.created_at.desc(), _orders.c.id.desc()).limit(page_size + 1)
    conn = session.connection()
    rows = conn.execute(query).all()
    next_cursor = None
    if len(rows) > page_size:
        rows = rows[:page_size]
        next_cursor = encode_cursor(rows[-1].created_at, rows[-1].id)
    latest_ids = [row.latest_result_id for row in rows if row.latest_result_id]
    latest = {r.id: r for r in conn.execute(_LATEST, {"b_ids": latest_ids})} if latest_ids else {}
    orders = []
    for row in rows:
        revision = latest.get(row.latest_result_id) if row.latest_result_id else None
        orders.append(
            BrowsedOrder(
                id=row.id,
                integration_id=row.integration_id,
                package_id=row.package_id,
                status=row.status,
                candidate=row.candidate or {},
                created_at=row.created_at,
                updated_at=row.updated_at,
                latest_revision=revision.revision if revision else None,
                latest_score=revision.score if revision else None,
                latest_max_score=revision.max_score if revision else None,
            )
        )
    return BrowsePage(orders, next_cursor)


def _matches(term: str) -> ColumnElement[bool]:
    candidate, application, job = OrderRow.candidate, OrderRow.application, OrderRow.job
    return or_(
        OrderRow.id == term,
        func.lower(candidate["email"].as_string()) == term.lower(),
        candidate["remote_id"].as_string() == term,
        application["remote_id"].as_string() == term,
        job["remote_id"].as_string() == term,
    )


def get_any_order(session: Session, order_id: str) -> OrderRow:
    """The order, whatever its integration (deleted ones included), with its latest result loaded.
    Raises ``NotFound``."""
    row = session.scalar(
        select(OrderRow)
        .where(OrderRow.id == order_id)
        .options(selectinload(OrderRow.latest_result).selectinload(ResultRevisionRow.attachments))
    )
    if row is None:
        raise NotFound(f"No order with id {order_id!r}.")
    return row


@dataclass(frozen=True)
class RevisionChange:
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class RevisionEntry:
    revision: ResultRevisionRow
    changes: list[RevisionChange]
    """What differs from the previous revision (every set field for the first one)."""


COMPARED_FIELDS = ("status", "score", "max_score", "result_url", "completed_at", "attributes", "remote_fields")


def revisions_of(session: Session, order_id: str) -> list[RevisionEntry]:
    """Every result revision of the order in revision order, each with what changed from the one before
    (``COMPARED_FIELDS``, attachments compared by name and sha256)."""
    rows: Sequence[ResultRevisionRow] = session.scalars(
        select(ResultRevisionRow)
        .where(ResultRevisionRow.order_id == order_id)
        .order_by(ResultRevisionRow.revision)
        .options(selectinload(ResultRevisionRow.attachments))
    ).all()
    entries = []
    previous: ResultRevisionRow | None = None
    for row in rows:
        entries.append(RevisionEntry(row, revision_changes(previous, row)))
        previous = row
    return entries


def revision_changes(previous: ResultRevisionRow | None, current: ResultRevisionRow) -> list[RevisionChange]:
    """The fields of ``current`` that differ from ``previous`` (None: the first revision, every non-empty field)."""
    changes = []
    for name in COMPARED_FIELDS:
        before = getattr(previous, name) if previous is not None else None
        after = getattr(current, name)
        if before != after and not (previous is None and after in (None, [], {})):
            changes.append(RevisionChange(name, before, after))
    before_files = [(a.name, a.sha256) for a in previous.attachments] if previous is not None else []
    after_files = [(a.name, a.sha256) for a in current.attachments]
    if before_files != after_files:
        changes.append(
            RevisionChange("attachments", [n for n, _ in before_files] or None, [n for n, _ in after_files] or None)
        )
    return changes


__all__ = [
    "ORDER_STATUSES",
    "BrowsePage",
    "BrowsedOrder",
    "RevisionChange",
    "RevisionEntry",
    "browse_orders",
    "get_any_order",
    "revision_changes",
    "revisions_of",
]
