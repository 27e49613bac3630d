"""The vendor API's use cases: packages, order listing, result revisions, order creation.

Functions take a session and only ``flush()``; the caller's unit of work commits. They raise
``HubError`` subclasses, never HTTP exceptions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import psycopg
from sqlalchemy import (
    Connection,
    Integer,
    Row,
    Select,
    String,
    Table,
    Text,
    bindparam,
    cast,
    select,
    tuple_,
    type_coerce,
)
from sqlalchemy.orm import Session

from assessment_hub.assessment import sql_pg, sql_sqlite
from assessment_hub.assessment.attachments import StoredAttachment
from assessment_hub.assessment.lifecycle import check_result_transition
from assessment_hub.assessment.models import AttachmentRow, OrderRow, PackageRow, ResultRevisionRow
from assessment_hub.assessment.records import RevisionRecord
from assessment_hub.assessment.results import NormalizedResult
from assessment_hub.assessment.schemas import PackageIn
from assessment_hub.assessment.views import normalize_application, normalize_candidate, normalize_job
from assessment_hub.concurrency.slots import SlotInWrite
from assessment_hub.db.base import UTCDateTime
from assessment_hub.delivery.wakeup import note_outbox_added
from assessment_hub.errors import InputInvalid, NotFound
from assessment_hub.kit.cursors import decode_cursor, encode_cursor
from assessment_hub.kit.ids import new_id
from assessment_hub.kit.states import OrderStatus
from assessment_hub.kit.timestamps import format_instant, utcnow
from assessment_hub.webhooks.events import ORDER_CANCELLED, ORDER_RECEIVED, order_data
from assessment_hub.webhooks.service import enqueue_event

# ---------------------------------------------------------------- packages


def set_packages(session: Session, integration_id: str, packages: Sequence[PackageIn]) -> None:
    """Replace the integration's package list: upsert those given, soft-delete the others.

    A package sent again after being left out is restored. ``updated_at`` changes only when the
    package's content changed (or it was restored).
    """
    now = utcnow()
    existing = {
        row.package_id: row
        for row in session.scalars(select(PackageRow).where(PackageRow.integration_id == integration_id))
    }
    wanted = {package.id for package in packages}
    for package in packages:
        row = existing.get(package.id)
        if row is None:
            session.add(
                PackageRow(
                    integration_id=integration_id,
                    package_id=package.id,
                    name=package.name,
                    description=package.description,
                    type=package.type,
                    updated_at=now,
                )
            )
            continue
        changed = (row.name, row.description, row.type) != (package.name, package.description, package.type)
        if changed or row.deleted_at is not None:
            row.name, row.description, row.type = package.name, package.description, package.type
            row.deleted_at = None
            row.updated_at = now
    for package_id, row in existing.items():
        if package_id not in wanted and row.deleted_at is None:
            row.deleted_at = now
            row.updated_at = now
    session.flush()


def list_packages(session: Session, integration_id: str) -> list[PackageRow]:
    """The integration's live packages, ordered by package id."""
    return list(
        session.scalars(
            select(PackageRow)
            .where(PackageRow.integration_id == integration_id, PackageRow.deleted_at.is_(None))
            .order_by(PackageRow.package_id)
        )
    )


def get_live_package(session: Session, integration_id: str, package_id: str) -> PackageRow | None:
    return session.scalar(
        select(PackageRow).where(
            PackageRow.integration_id == integration_id,
            PackageRow.package_id == package_id,
            PackageRow.deleted_at.is_(None),
        )
    )


# ---------------------------------------------------------------- orders


def create_order(
    session: Session,
    integration_id: str,
    package_id: str,
    *,
    candidate: dict[str, Any],
    application: dict[str, Any],
    job: dict[str, Any],
    remote_data: dict[str, Any] | None = None,
    inline: bool = False,
) -> OrderRow:
    """Store a new OPEN order and queue ``assessment:order-received`` to the vendor's endpoints.

    Sub-objects are normalized so every contract key is present. Inline orders get no queued event:
    the caller sends ``inline-assessment:order-received`` synchronously (``delivery.inline``).
    """
    now = utcnow()
    row = OrderRow(
        id=new_id(),
        integration_id=integration_id,
        package_id=package_id,
        status=OrderStatus.OPEN,
        candidate=normalize_candidate(candidate),
        application=normalize_application(application),
        job=normalize_job(job),
        remote_data=remote_data,
        inline=inline,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    if not inline:
        enqueue_event(session, ORDER_RECEIVED, order_data(row), integration_id=integration_id, order_id=row.id)
    return row


def cancel_order_from_ats(session: Session, order: OrderRow) -> bool:
    """The ATS cancelled the order: an OPEN order becomes CANCELLED and the vendor gets
    ``assessment:order-cancelled`` (a hub extension). Returns False when the order was not OPEN."""
    if order.status != OrderStatus.OPEN:
        return False
    order.status, order.updated_at = OrderStatus.CANCELLED, utcnow()
    session.flush()
    enqueue_event(session, ORDER_CANCELLED, order_data(order), integration_id=order.integration_id, order_id=order.id)
    return True


@dataclass(frozen=True)
class OrderPage:
    """One page of ``list_orders``.

    ``orders``: rows of ``_LISTED_ORDER`` -- ``candidate``/``application``/``job`` as the JSON text the
    database holds (every writer stores them normalized: ``create_order``, ``sandbox seed``), instants
    (naive UTC) as the driver gives them: SQLite's stored text, psycopg's datetime
    (``kit.timestamps.format_listed_instant`` formats either). ``results``: each listed order's latest
    revision by revision id (``attributes`` and ``remote_fields`` as JSON text, instants as above), with
    its attachments in position order. ``next_cursor``: the next page's cursor, None on the last page.
    """

    orders: Sequence[Row[Any]]
    results: dict[str, tuple[Any, list[Any]]]
    next_cursor: str | None


def list_orders(
    conn: Connection,
    integration_id: str,
    *,
    page_size: int,
    cursor: str | None = None,
    ids: Sequence[str] = (),
    statuses: Sequence[str] = (),
    created_after: datetime | None = None,
) -> OrderPage:
    """One page of orders by ``(created_at, id)`` (see ``OrderPage``).

    Keyset pagination: the cost of a page does not grow with its depth (index
    ``ix_orders_integration_status_created`` / ``ix_orders_integration_created``). Core statements
    built once per filter combination; the JSON columns are read as text, never decoded.
    """
    params: dict[str, Any] = {"b_integration_id": integration_id, "b_limit": page_size + 1}
    if statuses:
        params["b_statuses"] = list(statuses)
    if ids:
        params["b_ids"] = list(ids)
    if created_after is not None:
        params["b_created_after"] = created_after
    if cursor:
        try:
            params["b_after_created"], params["b_after_id"] = decode_cursor(cursor)
        except ValueError as exc:
            raise InputInvalid(f"cursor: {exc}") from None
    statement = _listing(bool(statuses), bool(ids), created_after is not None, bool(cursor))
    rows = conn.execute(statement, params).all()
    next_cursor = None
    if len(rows) > page_size:
        rows = rows[:page_size]
        last = rows[-1].created_at
        next_cursor = encode_cursor(datetime.fromisoformat(last) if isinstance(last, str) else last, rows[-1].id)
    revision_ids = [row.latest_result_id for row in rows if row.latest_result_id is not None]
    results: dict[str, tuple[Any, list[Any]]] = {}  # revision id -> (revision, its attachments)
    if revision_ids:
        for revision in conn.execute(_LISTED_REVISIONS, {"b_ids": revision_ids}):
            results[revision.id] = (revision, [])
        for attachment in conn.execute(_LISTED_ATTACHMENTS, {"b_ids": revision_ids}):
            results[attachment.revision_id][1].append(attachment)
    return OrderPage(rows, results, next_cursor)


_orders: Table = OrderRow.__table__  # type: ignore[assignment]  # a mapped class's Table
_revisions: Table = ResultRevisionRow.__table__  # type: ignore[assignment]  # a mapped class's Table
_attachments: Table = AttachmentRow.__table__  # type: ignore[assignment]  # a mapped class's Table
_LISTED_ORDER = select(
    _orders.c.id,
    _orders.c.package_id,
    _orders.c.status,
    cast(_orders.c.candidate, Text).label("candidate"),
    cast(_orders.c.application, Text).label("application"),
    cast(_orders.c.job, Text).label("job"),
    # read as the driver gives them (views.format_listed_instant): SQLite's stored text, psycopg's datetime
    type_coerce(_orders.c.created_at, String()).label("created_at"),
    type_coerce(_orders.c.updated_at, String()).label("updated_at"),
    _orders.c.rejection_message,
    _orders.c.latest_result_id,
)
_LISTED_REVISIONS = select(
    _revisions.c.id,
    _revisions.c.revision,
    _revisions.c.status,
    _revisions.c.score,
    _revisions.c.max_score,
    _revisions.c.result_url,
    type_coerce(_revisions.c.completed_at, String()).label("completed_at"),  # as _LISTED_ORDER's instants
    cast(_revisions.c.attributes, Text).label("attributes"),  # JSON text, spliced in (views.listed_result)
    cast(_revisions.c.remote_fields, Text).label("remote_fields"),
    type_coerce(_revisions.c.created_at, String()).label("created_at"),
).where(_revisions.c.id.in_(bindparam("b_ids", expanding=True)))
_LISTED_ATTACHMENTS = (
    select(
        _attachments.c.revision_id,
        _attachments.c.name,
        _attachments.c.content_type,
        _attachments.c.sha256,
        _attachments.c.size_bytes,
    )
    .where(_attachments.c.revision_id.in_(bindparam("b_ids", expanding=True)))
    .order_by(_attachments.c.revision_id, _attachments.c.position)
)


@cache
def _listing(statuses: bool, ids: bool, created_after: bool, cursor: bool) -> Select[Any]:
    """The listing statement for one combination of filters, with bind parameters ``b_*`` (see ``list_orders``)."""
    query = _LISTED_ORDER.where(_orders.c.integration_id == bindparam("b_integration_id"))
    if statuses:
        query = query.where(_orders.c.status.in_(bindparam("b_statuses", expanding=True)))
    if ids:
        query = query.where(_orders.c.id.in_(bindparam("b_ids", expanding=True)))
    if created_after:
        query = query.where(_orders.c.created_at >= bindparam("b_created_after", type_=UTCDateTime()))
    if cursor:
        query = query.where(
            tuple_(_orders.c.created_at, _orders.c.id)
            > tuple_(bindparam("b_after_created", type_=UTCDateTime()), bindparam("b_after_id", type_=String()))
        )
    return query.order_by(_orders.c.created_at, _orders.c.id).limit(bindparam("b_limit", type_=Integer()))


def get_order(session: Session, integration_id: str, order_id: str, *, for_update: bool = False) -> OrderRow:
    query = select(OrderRow).where(OrderRow.id == order_id, OrderRow.integration_id == integration_id)
    if for_update:
        query = query.with_for_update()
    row = session.scalar(query)
    if row is None:
        raise NotFound(f"No assessment order with id {order_id!r} in integration {integration_id!r}.")
    return row


def check_result_allowed(conn: Connection, integration_id: str, order_id: str, status: str) -> None:
    """Fail early (before attachments are fetched) when the order is unknown or the status change is forbidden."""
    order = conn.execute(_ORDER_FOR_RESULT, {"b_id": order_id, "b_integration_id": integration_id}).first()
    if order is None:
        raise NotFound(f"No assessment order with id {order_id!r} in integration {integration_id!r}.")
    check_result_transition(order.status, status)


# The pre-attachment check's statement, built once (the write itself: assessment.sql_sqlite / sql_pg).
_ORDER_FOR_RESULT = select(_orders.c.id, _orders.c.status, _orders.c.latest_result_id).where(
    _orders.c.id == bindparam("b_id"), _orders.c.integration_id == bindparam("b_integration_id")
)


def revision_values(result: NormalizedResult, order_status: str, latest: Any) -> dict[str, Any]:
    """The values of the order's next revision (the ``result_revisions`` columns), both backends.

    ``order_status``: the locked order's status; ``latest``: its latest revision (``revision``, ``status``,
    ``completed_at``) or None. Raises ``InputInvalid`` for a forbidden status change. A correction that
    leaves ``completed_at`` out keeps the time the assessment was completed (``result`` is updated: its
    ``completed_at`` and ``warnings``)."""
    check_result_transition(order_status, result.status)
    if (
        result.completed_at_defaulted
        and latest is not None
        and latest.status == result.status
        and latest.completed_at is not None
    ):
        result.completed_at = latest.completed_at
        result.warnings = [w for w in result.warnings if not w.startswith("completed_at:")] + [
            f"completed_at: missing; kept {format_instant(latest.completed_at)} from revision {latest.revision}."
        ]
    return dict(
        id=new_id(),
        order_id=None,  # set by the caller
        revision=(latest.revision if latest is not None else 0) + 1,
        status=result.status,
        score=result.score,
        max_score=result.max_score,
        result_url=result.result_url,
        completed_at=result.completed_at,
        attributes=result.attributes,
        remote_fields=result.remote_fields,
        warnings=result.warnings,
        created_at=utcnow(),
    )


def record_result(
    session: Session,
    integration_id: str,
    order_id: str,
    result: NormalizedResult,
    attachments: Sequence[StoredAttachment],
) -> RevisionRecord:
    """Store ``result`` as the order's next immutable revision and make it the latest.

    The order row is locked (``FOR UPDATE`` on PostgreSQL; SQLite write transactions are exclusive),
    so concurrent results for one order get consecutive revision numbers.
    Raises ``NotFound`` for an unknown order and ``InputInvalid`` for a forbidden status change.

    SQLite: the statements through the ``sqlite3`` driver (``assessment.sql_sqlite``). PostgreSQL: through
    psycopg in pipeline mode (``assessment.sql_pg``: two round trips). The returned revision (with
    its ``attachments``) is a plain record (``assessment.records.RevisionRecord``) with the attributes of a
    ``ResultRevisionRow``, holding exactly what was inserted.
    """
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        record, _ = _write_result_pg(session, integration_id, order_id, result, attachments)
        return record
    record, _ = _write_result_sqlite(session, integration_id, order_id, result, attachments)
    return record


def accept_result(
    session: Session,
    integration_id: str,
    order_id: str,
    result: NormalizedResult,
    attachments: Sequence[StoredAttachment],
    *,
    slot: SlotInWrite | None = None,
) -> tuple[RevisionRecord, list[str]]:
    """``record_result`` and ``integrations.notices.take_notices`` for ``PUT .../result``: the stored
    revision and the integration's notices for the vendor (now marked delivered). ``slot``: the
    integration's write slot, taken in this transaction (PostgreSQL; raises ``ConcurrencyLimitExceeded``
    with nothing written when all are in flight).

    PostgreSQL: also commits, in the write's second round trip (one round trip plus commit in all; the
    caller's unit of work then has nothing left to commit). SQLite: the caller's unit of work commits
    (the group-committing writer, ``db.writer``)."""
    if session.connection().dialect.name == "postgresql":
        return _write_result_pg(
            session, integration_id, order_id, result, attachments, take=True, commit=True, slot=slot
        )
    if slot is not None:
        raise ValueError("a write slot is taken in the write's transaction on PostgreSQL only")
    return _write_result_sqlite(session, integration_id, order_id, result, attachments, take=True)


def _write_result_pg(
    session: Session,
    integration_id: str,
    order_id: str,
    result: NormalizedResult,
    attachments: Sequence[StoredAttachment],
    *,
    take: bool = False,
    commit: bool = False,
    slot: SlotInWrite | None = None,
) -> tuple[RevisionRecord, list[str]]:
    def values(order_status: str, latest: Any) -> dict[str, Any]:
        return {**revision_values(result, order_status, latest), "order_id": order_id}

    conn = session.connection()
    dbapi = conn.connection.dbapi_connection
    try:
        record, notices = sql_pg.write_result(
            dbapi,
            integration_id=integration_id,
            order_id=order_id,
            result=result,
            attachments=attachments,
            revision_values=values,
            take_notices=take,
            commit=commit,
            slot=slot,
        )
    except psycopg.OperationalError:
        if dbapi is None or dbapi.broken or dbapi.closed:  # a lost connection: the pool must not hand it out again
            conn.invalidate()
        raise
    note_outbox_added(session, notified=True)
    return record, notices


def _write_result_sqlite(
    session: Session,
    integration_id: str,
    order_id: str,
    result: NormalizedResult,
    attachments: Sequence[StoredAttachment],
    *,
    take: bool = False,
) -> tuple[RevisionRecord, list[str]]:
    conn = session.connection()
    record, notices = sql_sqlite.write_result(
        conn.connection.dbapi_connection,
        conn.dialect,
        integration_id=integration_id,
        order_id=order_id,
        attachments=attachments,
        revision_values=lambda order_status, latest: revision_values(result, order_status, latest),
        remote_fields_text=result.remote_fields_text,
        take_notices=take,
    )
    note_outbox_added(session)
    return record, notices
