"""The result write on SQLite, through the ``sqlite3`` driver: its statements without SQLAlchemy's
per-execution work.

``service.record_result`` / ``service.accept_result`` call ``write_result`` on SQLite (PostgreSQL has
``assessment.sql_pg``). It runs inside the caller's write transaction (``db.writer``'s group commit: a
``BEGIN IMMEDIATE`` transaction, one SAVEPOINT per job), which is exclusive: no other writer can change
the order between reading it and writing its next revision, so revision numbers follow each other without
gaps. The statements, in order:

- the order (``NotFound`` if it is not this integration's) and its latest revision;
- the status rule, the revision number and the ``completed_at`` correction, decided in Python
  (``service.revision_values``, shared with PostgreSQL);
- insert the revision and its attachments, point the order at it, supersede the order's pending result
  write-backs and queue the new one (``delivery.outbox``'s rule), optionally take the integration's
  notices (``integrations.notices``).

Values are bound with the bind processors of the tables' own column types (``_Binds``), so what is stored
is byte for byte what SQLAlchemy's Core statements stored: instants as naive UTC text with microseconds,
JSON documents through the dialect's serializer; except ``remote_fields`` when the vendor's own JSON text
of it is given (``NormalizedResult.remote_fields_text``): that text is stored as is (the listing splices
it). Measured (bench/NOTES.md, "The result write on SQLite through the driver"): the same statements
through SQLAlchemy Core cost about twice the CPU per result.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Dialect, Table

from assessment_hub.assessment.attachments import StoredAttachment, new_attachment_rows
from assessment_hub.assessment.models import AttachmentRow, OrderRow, ResultRevisionRow
from assessment_hub.assessment.records import AttachmentRecord, RevisionRecord
from assessment_hub.delivery.models import OutboxRow
from assessment_hub.delivery.states import DeliveryState
from assessment_hub.errors import NotFound
from assessment_hub.integrations.notices import NoticeRow
from assessment_hub.kit.timestamps import utcnow
from assessment_hub.request_context import current_request_id

_REVISION_COLUMNS = (
    "id",
    "order_id",
    "revision",
    "status",
    "score",
    "max_score",
    "result_url",
    "completed_at",
    "attributes",
    "remote_fields",
    "warnings",
    "created_at",
)
_REMOTE_FIELDS = _REVISION_COLUMNS.index("remote_fields")
_ATTACHMENT_COLUMNS = ("id", "revision_id", "position", "name", "content_type", "sha256", "size_bytes", "source_url")


def _insert(table: str, columns: Sequence[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"


_ORDER = "SELECT status, latest_result_id FROM orders WHERE id = ? AND integration_id = ?"
_LATEST_REVISION = "SELECT revision, status, completed_at FROM result_revisions WHERE id = ?"
_INSERT_REVISION = _insert("result_revisions", _REVISION_COLUMNS)
_INSERT_ATTACHMENT = _insert("attachments", _ATTACHMENT_COLUMNS)
_SET_LATEST_RESULT = "UPDATE orders SET status = ?, latest_result_id = ?, updated_at = ? WHERE id = ?"
_SUPERSEDE_RESULTS = (
    f"UPDATE outbox SET state = '{DeliveryState.SUPERSEDED}', updated_at = ?, finished_at = ? "
    f"WHERE order_id = ? AND kind = 'writeback' AND action = 'result' AND state = '{DeliveryState.PENDING}'"
)
_QUEUE_WRITEBACK = (
    "INSERT INTO outbox (kind, action, integration_id, order_id, revision_id, state, next_attempt_at, attempts, "
    f"created_at, updated_at, request_id) VALUES ('writeback', 'result', ?, ?, ?, '{DeliveryState.PENDING}', ?, 0, "
    "?, ?, ?)"
)
_UNDELIVERED_NOTICES = (
    "SELECT id, message FROM notices WHERE integration_id = ? AND delivered_at IS NULL "
    "AND (order_id IS NULL OR order_id = ?) ORDER BY id"
)
# Notices: SELECT, then UPDATE, in the exclusive write transaction (PostgreSQL: one UPDATE ... RETURNING).

RevisionValues = Callable[[str, Any], dict[str, Any]]
"""``(order_status, latest) -> values of the new revision`` (``service.revision_values`` bound to one
result); ``latest`` has ``revision``, ``status``, ``completed_at`` (aware UTC) or is None."""


class _Binds:
    """The column types' bind (and, for ``completed_at``, result) processors for one dialect."""

    def __init__(self, dialect: Dialect) -> None:
        def binder(table: Any, name: str) -> Callable[[Any], Any]:
            process = table.__table__.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            return process if process is not None else _same

        revisions: Table = ResultRevisionRow.__table__  # type: ignore[assignment]
        self.revision = [binder(ResultRevisionRow, name) for name in _REVISION_COLUMNS]
        self.attachment = [binder(AttachmentRow, name) for name in _ATTACHMENT_COLUMNS]
        self.order_instant = binder(OrderRow, "updated_at")
        self.outbox_instant = binder(OutboxRow, "updated_at")
        self.notice_instant = binder(NoticeRow, "delivered_at")
        completed = revisions.c.completed_at.type.dialect_impl(dialect)
        self.read_completed_at = completed.result_processor(dialect, None) or _same


def _same(value: Any) -> Any:
    return value


_binds: dict[tuple[type, Any], _Binds] = {}


def _binds_for(dialect: Dialect) -> _Binds:
    key = (type(dialect), getattr(dialect, "_json_serializer", None))
    binds = _binds.get(key)
    if binds is None:
        binds = _binds[key] = _Binds(dialect)
    return binds


class _Latest:
    __slots__ = ("revision", "status", "completed_at")

    def __init__(self, revision: int, status: str, completed_at: Any) -> None:
        self.revision, self.status, self.completed_at = revision, status, completed_at


def write_result(
    dbapi: Any,
    dialect: Dialect,
    *,
    integration_id: str,
    order_id: str,
    attachments: Sequence[StoredAttachment],
    revision_values: RevisionValues,
    remote_fields_text: str | None = None,
    take_notices: bool = False,
) -> tuple[RevisionRecord, list[str]]:
    """Store the result as the order's next revision on the ``sqlite3`` connection ``dbapi``, in its write
    transaction (the caller commits). ``remote_fields_text``: the vendor's JSON text of ``remote_fields``
    (the same value as ``revision_values`` gives), stored as is; None: the value goes through the column's
    serializer. Returns the stored revision and, with ``take_notices``, the integration's undelivered
    notices (now marked delivered). Raises ``NotFound`` (unknown order of this
    integration) and ``InputInvalid`` (forbidden status change, from ``revision_values``) before writing
    anything, and ``sqlite3`` errors for a failed statement (the caller rolls back)."""
    binds = _binds_for(dialect)
    cursor = dbapi.cursor()
    try:
        order = cursor.execute(_ORDER, (order_id, integration_id)).fetchone()
        if order is None:
            raise NotFound(f"No assessment order with id {order_id!r} in integration {integration_id!r}.")
        order_status, latest_id = order
        latest = None
        if latest_id is not None:
            row = cursor.execute(_LATEST_REVISION, (latest_id,)).fetchone()
            if row is not None:
                latest = _Latest(row[0], row[1], binds.read_completed_at(row[2]))
        values = {**revision_values(order_status, latest), "order_id": order_id}
        row_values = [bind(values[name]) for bind, name in zip(binds.revision, _REVISION_COLUMNS, strict=True)]
        if remote_fields_text is not None:
            row_values[_REMOTE_FIELDS] = remote_fields_text
        cursor.execute(_INSERT_REVISION, row_values)
        attachment_values = new_attachment_rows(values["id"], attachments)
        if attachment_values:
            cursor.executemany(
                _INSERT_ATTACHMENT,
                [
                    [bind(a[name]) for bind, name in zip(binds.attachment, _ATTACHMENT_COLUMNS, strict=True)]
                    for a in attachment_values
                ],
            )
        order_now = binds.order_instant(values["created_at"])
        cursor.execute(_SET_LATEST_RESULT, (values["status"], values["id"], order_now, order_id))
        outbox_now = binds.outbox_instant(utcnow())
        cursor.execute(_SUPERSEDE_RESULTS, (outbox_now, outbox_now, order_id))
        cursor.execute(
            _QUEUE_WRITEBACK,
            (integration_id, order_id, values["id"], outbox_now, outbox_now, outbox_now, current_request_id()),
        )
        notices: list[str] = []
        if take_notices:
            found = cursor.execute(_UNDELIVERED_NOTICES, (integration_id, order_id)).fetchall()
            if found:
                ids = [notice_id for notice_id, _ in found]
                cursor.execute(
                    f"UPDATE notices SET delivered_at = ? WHERE id IN ({', '.join('?' for _ in ids)})",
                    (binds.notice_instant(utcnow()), *ids),
                )
                notices = [message for _, message in found]
    finally:
        cursor.close()
    record = RevisionRecord(**values, attachments=[AttachmentRecord(**a) for a in attachment_values])
    return record, notices
