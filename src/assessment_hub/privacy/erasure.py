"""Erasing candidates' personal data: on request (by email) and after the retention period.

What an erasure does to each order (the order row, its status and its result scores stay: listings,
counts and the vendor's billing still add up):

| table | change |
|---|---|
| ``orders`` | ``candidate`` becomes ``{remote_id: null, email: "", first_name: null, last_name: null, phone: null}``; ``application`` keeps only its ``remote_id``; ``remote_data`` (the ATS's raw payload) null; ``erased_at`` set |
| ``result_revisions`` | every occurrence of the candidate's name, email, phone or remote id in ``attributes``, ``remote_fields``, ``result_url``, ``warnings`` becomes ``[erased]``; a JSON document is searched in its stored text, every pair of it (``remote_fields`` is the vendor's own text: a key given twice, ``\\u0040`` escapes), and one that names the candidate is rewritten in the hub's serialization of its redacted value |
| ``attachments`` | deleted, and their bytes too once no other attachment holds the same content (reports name the candidate) |
| ``outbox`` | webhook bodies and errors redacted as above; messages not delivered yet (``pending``, ``in_flight``, ``dead``) are ``cancelled`` (a send in progress is recorded ``late-...`` and changes nothing) |
| ``delivery_attempts`` | the request sent and the response excerpt dropped, error messages redacted |
| every other table with an ``order_id`` column (``sandbox_writebacks``, ``notices``, and any a later feature adds) | its text and JSON columns redacted as above (JSON searched in its stored text too) |

Each erasure writes one ``erasures`` row (``privacy.models.ErasureRow``): when, the reason, who asked
(a fingerprint of the key, never the key) and which order ids; never the email or any erased value.

Matching by email is case-insensitive on the whole address (trimmed). Source: GDPR art. 17 (right to
erasure) and art. 5(1)(e) (storage limitation) as the issue states them for the hub.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, Table, Text, cast, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from assessment_hub.assessment.models import AttachmentRow, OrderRow, ResultRevisionRow
from assessment_hub.delivery.models import DeliveryAttemptRow, OutboxRow
from assessment_hub.kit.ids import new_id
from assessment_hub.kit.timestamps import utcnow
from assessment_hub.privacy.models import ErasureRow

log = logging.getLogger("assessment_hub.privacy")

ERASED = "[erased]"
ERASED_CANDIDATE: dict[str, Any] = {
    "remote_id": None,
    "email": "",
    "first_name": None,
    "last_name": None,
    "phone": None,
}
MIN_VALUE_CHARS = 3
"""Shorter candidate values (an initial) are not searched for inside other text: they would erase every
``a`` in a result."""


@dataclass
class Erasure:
    """What an erasure did: its audit row's id, the orders it changed, and the attachment contents
    (sha256) no longer referenced anywhere, to delete from the store once the transaction committed."""

    id: str
    erased_at: datetime
    order_ids: list[str]
    orphaned_sha256: list[str] = field(default_factory=list)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def orders_of_candidate(session: Session, email: str) -> list[str]:
    """Ids of the orders whose candidate has ``email`` (case-insensitive), oldest first."""
    wanted = normalize_email(email)
    if not wanted:
        return []
    return list(
        session.scalars(
            select(OrderRow.id)
            .where(func.lower(OrderRow.candidate["email"].as_string()) == wanted)
            .order_by(OrderRow.created_at, OrderRow.id)
        )
    )


def erase_candidate(session: Session, email: str, *, actor: str) -> Erasure:
    """Erase the personal data of every order of the candidate with ``email``; one audit row (also when
    no order matched). Only flushes: the caller's unit of work commits."""
    return erase_orders(session, orders_of_candidate(session, email), reason="request", actor=actor)


def erase_orders(session: Session, order_ids: list[str], *, reason: str, actor: str) -> Erasure:
    """Erase the candidate data of ``order_ids`` (see the module docstring) and write the audit row."""
    now = utcnow()
    orders = list(session.scalars(select(OrderRow).where(OrderRow.id.in_(order_ids)))) if order_ids else []
    orphaned: set[str] = set()
    for order in orders:
        values = _personal_values(order)
        _erase_order(session, order, values, now)
        orphaned |= _erase_results(session, order.id, values)
        _erase_deliveries(session, order.id, values, now)
        _erase_other_tables(session, order.id, values)
    session.flush()
    still_used = (
        set(session.scalars(select(AttachmentRow.sha256).where(AttachmentRow.sha256.in_(orphaned))))
        if orphaned
        else set()
    )
    audit = ErasureRow(
        id=new_id(),
        erased_at=now,
        reason=reason,
        actor=actor[:160],
        order_ids=[o.id for o in orders],
        order_count=len(orders),
    )
    session.add(audit)
    session.flush()
    log.info("candidate data erased: erasure %s, %d order(s), reason %s, by %s", audit.id, len(orders), reason, actor)
    return Erasure(audit.id, now, audit.order_ids, sorted(orphaned - still_used))


def _personal_values(order: OrderRow) -> list[str]:
    """The candidate's values to search for in other text, longest first (so a full name goes before its parts)."""
    candidate = order.candidate or {}
    found = {
        str(value).strip()
        for key in ("email", "first_name", "last_name", "phone", "remote_id")
        if (value := candidate.get(key)) is not None
    }
    first, last = candidate.get("first_name"), candidate.get("last_name")
    if first and last:
        found.add(f"{first} {last}".strip())
    return sorted((v for v in found if len(v) >= MIN_VALUE_CHARS), key=len, reverse=True)


def redact(value: Any, values: list[str]) -> Any:
    """``value`` (a string, or JSON data: dicts, lists, scalars) with every occurrence of ``values`` replaced
    by ``[erased]``, case-insensitively; other data unchanged."""
    if isinstance(value, str):
        if not values:
            return value
        lowered = value.lower()
        for needle in values:
            low = needle.lower()
            start = lowered.find(low)
            while start != -1:
                value = value[:start] + ERASED + value[start + len(needle) :]
                lowered = value.lower()
                start = lowered.find(low, start + len(ERASED))
        return value
    if isinstance(value, dict):
        return {redact(k, values): redact(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, values) for v in value]
    return value


def _erase_order(session: Session, order: OrderRow, values: list[str], now: datetime) -> None:
    application = order.application or {}
    order.candidate = dict(ERASED_CANDIDATE)
    order.application = {"remote_id": application.get("remote_id")}
    order.remote_data = None
    order.rejection_message = redact(order.rejection_message, values)
    order.job = redact(order.job, values)  # a job text that names the candidate (rare): only those words
    order.erased_at = now
    order.updated_at = now


def names_any(document: str, values: list[str]) -> bool:
    """True when a string of the JSON text ``document`` (a member name or a value, at any depth) holds one of
    ``values`` (case-insensitive), in any pair of it: also one that a parser drops (a key given twice keeps
    only its last value), and spelled in any way JSON allows (``\\u0040`` escapes are decoded). Numbers are
    not read (``len`` stands in: no conversion, no limit on their digits)."""
    if not values:
        return False
    needles = [v.lower() for v in values]
    found = False

    def look(value: Any) -> None:
        nonlocal found
        if isinstance(value, str):
            lowered = value.lower()
            found = found or any(n in lowered for n in needles)
        elif isinstance(value, list):
            for item in value:
                look(item)

    def pairs(items: list[tuple[str, Any]]) -> None:
        for name, value in items:  # every pair, each of a repeated key's; nested objects were looked at
            look(name)
            look(value)

    look(json.loads(document, object_pairs_hook=pairs, parse_int=len, parse_float=len, parse_constant=len))
    return found


_STORED_TEXT = (ResultRevisionRow.attributes, ResultRevisionRow.remote_fields)
"""The result columns that hold JSON as text written (``db.base.JSONTextType``): ``remote_fields`` holds the
vendor's own text, in which a parsed value does not show every pair (a key given twice)."""


def _erase_results(session: Session, order_id: str, values: list[str]) -> set[str]:
    revisions = list(session.scalars(select(ResultRevisionRow).where(ResultRevisionRow.order_id == order_id)))
    texts = {
        row[0]: row[1:]
        for row in session.execute(
            select(ResultRevisionRow.id, *(cast(c, Text) for c in _STORED_TEXT)).where(
                ResultRevisionRow.order_id == order_id
            )
        )
    }
    for revision in revisions:
        for column, stored in zip(_STORED_TEXT, texts.get(revision.id, ()), strict=False):
            if stored is not None and names_any(stored, values):
                # rewritten in the hub's serialization, also when the parsed value shows nothing to redact
                setattr(revision, column.key, redact(getattr(revision, column.key), values))
                flag_modified(revision, column.key)
        revision.result_url = redact(revision.result_url, values)
        revision.warnings = redact(revision.warnings, values)
    if not revisions:
        return set()
    attachments = list(
        session.scalars(select(AttachmentRow).where(AttachmentRow.revision_id.in_([r.id for r in revisions])))
    )
    for attachment in attachments:
        session.delete(attachment)
    return {a.sha256 for a in attachments}


def _erase_deliveries(session: Session, order_id: str, values: list[str], now: datetime) -> None:
    rows = list(session.scalars(select(OutboxRow).where(OutboxRow.order_id == order_id)))
    for row in rows:
        if row.body is not None:
            try:
                row.body = json.dumps(redact(json.loads(row.body), values), separators=(",", ":"), ensure_ascii=False)
            except ValueError:
                row.body = redact(row.body, values)
        row.last_error = redact(row.last_error, values)
        if row.state in ("pending", "in_flight", "dead"):  # an in-flight send's late outcome changes nothing
            row.state, row.finished_at, row.updated_at = "cancelled", now, now
            row.last_error = "cancelled: the candidate's data was erased"
    if rows:
        ids = [row.id for row in rows]
        for attempt in session.scalars(select(DeliveryAttemptRow).where(DeliveryAttemptRow.outbox_id.in_(ids))):
            attempt.response_excerpt = None
            attempt.request_text = None  # the request sent (a write-back's body names the candidate)
            attempt.error_message = redact(attempt.error_message, values)


HANDLED = frozenset({"orders", "result_revisions", "attachments", "outbox", "delivery_attempts"})
"""Tables erased column by column above; every other table with an ``order_id`` column is redacted whole."""


def _erase_other_tables(session: Session, order_id: str, values: list[str]) -> None:
    """Redact the text and JSON columns of the rows of ``order_id`` in every other table that names orders
    (found in ``Base.metadata``, so a table a later feature adds is covered without a change here)."""
    from assessment_hub.db.models import Base  # every table registered

    for table in Base.metadata.sorted_tables:
        if table.name in HANDLED or "order_id" not in table.c:
            continue
        _redact_rows(session, table, order_id, values)


def _redact_rows(session: Session, table: Table, order_id: str, values: list[str]) -> None:
    columns = [
        c for c in table.c if isinstance(c.type, String | Text | JSON) and not c.primary_key and c.name != "order_id"
    ]
    keys = list(table.primary_key.columns)
    if not columns or not keys:
        return
    documents = [c for c in columns if isinstance(c.type, JSON)]
    texts = [cast(c, Text).label(f"{c.name} as stored") for c in documents]  # the stored text: every pair
    for row in session.execute(select(*keys, *columns, *texts).where(table.c.order_id == order_id)).all():
        data = row._mapping
        changed = {c.name: redact(data[c.name], values) for c in columns if data[c.name] is not None}
        rewrite = {c.name for c in documents if (t := data[f"{c.name} as stored"]) is not None and names_any(t, values)}
        changed = {name: value for name, value in changed.items() if value != data[name] or name in rewrite}
        if changed:
            session.execute(update(table).where(*(k == data[k.name] for k in keys)).values(**changed))
