"""A result written through the driver (``assessment.sql_sqlite``, ``assessment.sql_pg``) is stored exactly
as SQLAlchemy stores the same values: every column of the revision, the order's update and the queued
write-back, compared as the database holds them (text, on SQLite) with a copy written through Core; except
``remote_fields``, stored as the JSON text the vendor sent (``NormalizedResult.remote_fields_text``)."""

from __future__ import annotations

import base64
import json
from typing import Any

from sqlalchemy import Table, cast, insert, select
from sqlalchemy.types import Text

from assessment_hub.assessment.models import AttachmentRow, OrderRow, ResultRevisionRow
from assessment_hub.delivery.models import OutboxRow
from assessment_hub.kit.ids import new_id
from tests.support import Tenant

RESULT = {
    "status": "COMPLETED",
    "score": 7.25,
    "max_score": 10,
    "result_url": "https://vendor.example/r/1",
    "completed_at": "2026-11-28T10:00:00.123456Z",
    "attributes": [
        {"type": "TEXT", "label": "Résumé ✓", "value": 'très "bien"\nok'},
        {"type": "SUB_RESULT", "id": "s1", "label": "Part", "score": {"value": 3, "max": 4}, "status": "COMPLETED"},
    ],
    "attachments": [{"name": "report.txt", "content_type": "text/plain", "data": base64.b64encode(b"report").decode()}],
}
REMOTE_FIELDS = '{"x":[1, 2.50, null,true,"é", "\\u00e9"] , "x" :-0.0}'
"""As the vendor wrote it: stored as this text (the value is ``{"x": -0.0}``)."""


def _texts(table: Table) -> list[Any]:
    return [cast(c, Text).label(f"text_{c.name}") for c in table.columns]


def _stored(sessions: Any, table: Table, where: Any) -> dict[str, Any]:
    """The row as the database holds it: every column cast to text (SQLite's storage; PostgreSQL's output)."""
    with sessions() as session:
        row = session.execute(select(*_texts(table)).where(where)).one()
    return {name.removeprefix("text_"): value for name, value in row._mapping.items()}


def _copy_through_core(sessions: Any, table: Table, where: Any, overrides: dict[str, Any]) -> tuple[dict, dict]:
    """The row as stored, and a copy of it inserted through Core from the values SQLAlchemy's types read
    back (in the same statement), as stored; ``overrides`` change the copy's values (None drops a key)."""
    with sessions() as session:
        row = dict(session.execute(select(table, *_texts(table)).where(where)).one()._mapping)
    original = {name.removeprefix("text_"): row.pop(name) for name in list(row) if name.startswith("text_")}
    values = {**row, **overrides}
    values = {name: value for name, value in values.items() if not (name in overrides and value is None)}
    with sessions.begin() as session:
        new_id_ = session.execute(insert(table).values(values).returning(table.c.id)).scalar_one()
    return original, _stored(sessions, table, table.c.id == new_id_)


def test_a_result_is_stored_as_sqlalchemy_stores_the_same_values(tenant: Tenant) -> None:
    order_id = tenant.create_order()
    body = json.dumps(RESULT)[:-1] + ', "remote_fields": ' + REMOTE_FIELDS + "}"
    with tenant.client() as client:
        response = client.put(
            f"/assessment/orders/{order_id}/result", content=body, headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 200, response.text
    sessions = tenant.hub.sessions
    revisions: Table = ResultRevisionRow.__table__  # type: ignore[assignment]
    attachments: Table = AttachmentRow.__table__  # type: ignore[assignment]
    orders: Table = OrderRow.__table__  # type: ignore[assignment]
    outbox: Table = OutboxRow.__table__  # type: ignore[assignment]

    written, copy = _copy_through_core(
        sessions, revisions, revisions.c.order_id == order_id, {"id": new_id(), "revision": 2}
    )
    assert written["revision"] == "1" and written["status"] == "COMPLETED"
    assert written["remote_fields"] == REMOTE_FIELDS  # the vendor's text; Core serializes the value it reads
    assert (copy["remote_fields"], json.loads(written["remote_fields"])) == ('{"x": -0.0}', {"x": -0.0})
    ignored = {"id": None, "revision": None, "remote_fields": None}
    assert {**copy, **ignored} == {**written, **ignored}

    attachment, copy = _copy_through_core(
        sessions, attachments, attachments.c.revision_id == written["id"], {"id": new_id(), "position": 1}
    )
    assert attachment["name"] == "report.txt"
    assert {**copy, "id": None, "position": None} == {**attachment, "id": None, "position": None}

    order, copy = _copy_through_core(
        sessions, orders, orders.c.id == order_id, {"id": new_id(), "latest_result_id": None}
    )
    assert order["status"] == "COMPLETED" and order["latest_result_id"] == written["id"]
    assert {**copy, "id": None, "latest_result_id": None} == {**order, "id": None, "latest_result_id": None}

    where = (outbox.c.order_id == order_id) & (outbox.c.kind == "writeback")
    queued, copy = _copy_through_core(sessions, outbox, where, {"id": None})
    assert queued["revision_id"] == written["id"] and queued["request_id"]
    assert {**copy, "id": None} == {**queued, "id": None}
