"""Erasing a candidate's personal data: after a whole round trip (webhook, result with an attachment,
write-back), no table holds their name, email, phone, remote id or raw ATS payload, on each backend;
the orders and their counts stay; an audit entry says when, by which key and which orders."""

from __future__ import annotations

import base64
import json
import os
import random
import secrets
import string
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, inspect, select, text, update

from assessment_hub.assessment import service
from assessment_hub.assessment.models import OrderRow
from assessment_hub.db.session import unit_of_work
from assessment_hub.kit.timestamps import utcnow
from assessment_hub.privacy.erasure import redact
from tests.conftest import BACKENDS, POSTGRES_URL
from tests.receiver import vendor_receiver
from tests.support import (
    ADMIN_KEY,
    Hub,
    Tenant,
    hub_settings,
    key_env,
    running_hub,
    temporary_postgres_database,
    wait_until,
)


def word(n: int = 10) -> str:
    return "".join(random.choice(string.ascii_lowercase) for _ in range(n)).capitalize()


class Candidate:
    """A candidate whose every value is unique to this test run (so a scan of the whole shared database
    finds only this test's data)."""

    def __init__(self) -> None:
        tag = secrets.token_hex(4)
        self.first_name, self.last_name = word(), word(12)
        self.email = f"{self.first_name.lower()}.{tag}@example.net"
        self.phone = f"+44 7700 {random.randrange(100000, 999999)}"
        self.remote_id = f"cand-{tag}-{word(6).lower()}"
        self.raw_marker = f"RAW-{secrets.token_hex(6)}"
        self.street = f"{random.randrange(10, 99)} {word(8)} Lane"

    @property
    def traces(self) -> list[str]:
        return [self.email, self.first_name, self.last_name, self.phone, self.remote_id, self.raw_marker, self.street]

    def order(self, sessions: Any, integration_id: str, *, email: str | None = None) -> str:
        candidate = {
            "remote_id": self.remote_id,
            "email": email or self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "phone": self.phone,
        }
        raw = {"raw_marker": self.raw_marker, "candidate": candidate, "address": {"street": self.street}}
        with unit_of_work(sessions) as session:
            row = service.create_order(
                session,
                integration_id,
                "1001",
                candidate=candidate,
                application={"remote_id": f"app-{secrets.token_hex(3)}"},
                job={"remote_id": "job-1", "name": "Engineer"},
                remote_data=raw,
            )
            return row.id


def scan(hub: Hub, needles: list[str]) -> list[str]:
    """Every text rendering of every column of every table holding one of ``needles`` (case-insensitive):
    ``table.column = value`` for each hit."""
    engine = hub.sessions.kw["bind"]
    hits = []
    lowered = [n.lower() for n in needles]
    with engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            columns = [c["name"] for c in inspect(conn).get_columns(table)]
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                for column, value in zip(columns, row, strict=True):
                    if value is None:
                        continue
                    shown = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
                    if any(n in shown.lower() for n in lowered):
                        hits.append(f"{table}.{column} = {shown[:200]}")
    return hits


def order_count(hub: Hub) -> int:
    with hub.sessions() as session:
        return session.scalar(select(func.count()).select_from(OrderRow)) or 0


def admin(hub: Hub) -> httpx.Client:
    return hub.http(headers={"Authorization": f"Bearer {ADMIN_KEY}"})


def round_trip(hub: Hub, tenant: Tenant, person: Candidate, order_id: str, receiver: Any) -> bytes:
    """Webhook delivered, a result naming the candidate (with an attachment) stored and written back."""
    wait_until(lambda: receiver.events_for(order_id), what="the order-received webhook")
    report = f"Assessment report for {person.first_name} {person.last_name} {secrets.token_hex(8)}".encode()
    body = {
        "status": "COMPLETED",
        "result_url": f"https://vendor.example/results?candidate={person.email}",
        "score": 81,
        "max_score": 100,
        "attributes": [
            {"type": "TEXT", "label": "Summary", "value": f"{person.first_name} {person.last_name} did well"},
            {"type": "TEXT", "label": "Contact", "value": f"reach at {person.phone.upper()} / {person.email.upper()}"},
        ],
        "remote_fields": {"sandbox": {"note": f"candidate {person.remote_id}"}},
        "attachments": [
            {
                "name": f"{person.last_name}-report.txt",
                "content_type": "text/plain",
                "data": base64.b64encode(report).decode(),
            }
        ],
    }
    response = tenant.put_result(order_id, body)
    assert response.status_code == 200, response.text
    with admin(hub) as client:
        wait_until(
            lambda: client.get(f"/admin/sandbox/orders/{order_id}").json()["data"]["writebacks"],
            what="the result's write-back",
        )
    return report


def test_erasure_leaves_no_trace_and_keeps_the_orders(hub: Hub, tenant: Tenant) -> None:
    person = Candidate()
    with vendor_receiver(hub) as receiver:
        first = person.order(hub.sessions, tenant.integration_id)
        report = round_trip(hub, tenant, person, first, receiver)
        second = person.order(
            hub.sessions, tenant.integration_id, email=person.email.upper()
        )  # the same person, as another ATS spelled it
        wait_until(lambda: receiver.events_for(second), what="the second order's webhook")
    other = Candidate()
    kept = other.order(hub.sessions, tenant.integration_id)

    assert scan(hub, person.traces), "the test's candidate data should be in the database before the erasure"
    stored = [p for p in Path(hub.settings.attachments_dir).rglob("*") if p.is_file() and p.read_bytes() == report]
    assert stored, "the attachment bytes should be stored before the erasure"
    orders_before = order_count(hub)

    with admin(hub) as client:
        response = client.post("/admin/erasures", json={"email": f"  {person.email.title()} "})
        assert response.status_code == 200, response.text
        erasure = response.json()["data"]
        assert sorted(erasure["order_ids"]) == sorted([first, second]) and erasure["order_count"] == 2

        hits = scan(hub, person.traces)
        assert hits == [], "\n".join(hits)
        assert not any(p.exists() for p in stored), "the attachment bytes should be deleted"
        assert order_count(hub) == orders_before
        assert scan(hub, other.traces), "another candidate's data must stay"

        erased = tenant.order(first)
        assert erased["status"] == "COMPLETED" and erased["result"]["score"] == 81
        assert erased["candidate"] == {
            "remote_id": None,
            "email": "",
            "first_name": None,
            "last_name": None,
            "phone": None,
        }
        assert erased["result"]["attachments"] == []
        assert "[erased]" in erased["result"]["attributes"][0]["value"]
        assert tenant.order(kept)["candidate"]["email"] == other.email

        audit = client.get("/admin/erasures").json()["data"]["results"]
        (entry,) = [e for e in audit if e["id"] == erasure["id"]]
        assert entry["reason"] == "request" and entry["order_count"] == 2
        assert entry["actor"].startswith("admin-api key sha256:") and ADMIN_KEY not in entry["actor"]
        assert sorted(entry["order_ids"]) == sorted([first, second]) and entry["erased_at"]

        # erasing again finds nothing, and is audited all the same
        again = client.post("/admin/erasures", json={"email": person.email}).json()["data"]
        assert again["order_ids"] == [] and again["order_count"] == 0
        assert client.post("/admin/erasures", json={"email": "not-an-email"}).status_code == 400
    with hub.http() as anonymous:
        assert anonymous.post("/admin/erasures", json={"email": person.email}).status_code == 401


def test_pending_deliveries_of_an_erased_order_are_cancelled(hub: Hub, tenant: Tenant) -> None:
    from assessment_hub.connectors.sandbox.service import set_outage
    from assessment_hub.delivery.models import OutboxRow

    person = Candidate()
    with unit_of_work(hub.sessions) as session:
        set_outage(session, tenant.integration_id, "503", 0.0)
    try:
        order_id = person.order(hub.sessions, tenant.integration_id)
        assert (
            tenant.put_result(order_id, {"status": "COMPLETED", "result_url": "https://v.example/r"}).status_code == 200
        )
        with admin(hub) as client:
            assert client.post("/admin/erasures", json={"email": person.email}).status_code == 200
        with hub.sessions() as session:
            states = set(session.scalars(select(OutboxRow.state).where(OutboxRow.order_id == order_id)))
        assert "pending" not in states and "cancelled" in states, states
    finally:
        with unit_of_work(hub.sessions) as session:
            set_outage(session, tenant.integration_id, "off", 0.0)
    assert scan(hub, person.traces) == []


@pytest.mark.subprocess
def test_cli_data_erase(hub: Hub, tenant: Tenant, tmp_path: Path) -> None:
    person = Candidate()
    order_id = person.order(hub.sessions, tenant.integration_id)
    env = {
        **os.environ,
        "ASSESSMENT_HUB_DATABASE_URL": hub.settings.database_url,
        "ASSESSMENT_HUB_ATTACHMENTS_DIR": str(hub.settings.attachments_dir),
        **key_env(hub.settings.database_url),
    }
    done = subprocess.run(
        [sys.executable, "-m", "assessment_hub.cli", "data", "erase", "--email", person.email],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    erasure_id = done.stdout.strip().splitlines()[-1]
    assert order_id in done.stdout and person.email not in done.stderr
    assert scan(hub, person.traces) == []
    with admin(hub) as client:
        (entry,) = [e for e in client.get("/admin/erasures").json()["data"]["results"] if e["id"] == erasure_id]
    assert entry["order_ids"] == [order_id] and entry["actor"].startswith("cli user ")
    bad = subprocess.run(
        [sys.executable, "-m", "assessment_hub.cli", "data", "erase", "--email", "nobody"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode != 0 and "--email" in bad.stderr and "Traceback" not in bad.stderr


def json_strings(document: str) -> list[str]:
    """Every string (member names too) of every pair of the JSON ``document``: also those a parser drops (a
    key given twice keeps only its last value), escapes decoded."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        for name, value in items:  # every pair, a repeated key's too (nested objects were walked already)
            found.append(name)
            walk(value)
        return {}

    walk(json.loads(document, object_pairs_hook=pairs))
    return found


def test_erasure_rewrites_what_only_the_stored_text_holds(hub: Hub, tenant: Tenant) -> None:
    """``remote_fields`` is stored as the vendor's own text: the candidate's email in a pair that a parser
    drops (a key given twice), or spelled with escapes there, is erased all the same, and the stored text
    is rewritten; a result of the candidate holding nothing personal keeps the vendor's text."""
    person = Candidate()
    local, domain = person.email.split("@")
    escaped = local[0] + "\\u" + format(ord(local[1].upper()), "04X") + local[2:] + "\\u0040" + domain
    texts = [
        '{"n":"' + person.email + '","n":"clean","x":-0.0}',
        '{"o":{"e":"mail ' + escaped + '","e":"clean"},"o":{"e":"clean"}, "k": 1e3}',
        '{"a":{"' + escaped + '":1},"a":{}}',
        '{"deep":[{"v":{"w":"' + person.email.upper() + '","w":2}}]}',
        '{"plain": "' + person.email + '", "in key": {"' + escaped + '": true}}',  # already erased before
    ]
    untouched = '{"k" : 1, "k": 2.50}'
    ids = []
    for text_ in [*texts, untouched]:
        order_id = person.order(hub.sessions, tenant.integration_id)
        body = '{"status": "COMPLETED", "result_url": "https://v.example/r", "remote_fields": ' + text_ + "}"
        with tenant.client() as client:
            response = client.put(
                f"/assessment/orders/{order_id}/result", content=body, headers={"Content-Type": "application/json"}
            )
        assert response.status_code == 200, response.text
        ids.append(order_id)

    def stored(order_id: str) -> str:
        with hub.sessions() as session:
            return session.scalar(
                text("SELECT CAST(remote_fields AS TEXT) FROM result_revisions WHERE order_id = :id"), {"id": order_id}
            )

    assert [stored(i) for i in ids] == [*texts, untouched]
    # another table's JSON column holding such text (jsonb on PostgreSQL keeps only the last pair anyway)
    payload = '{"m":"' + escaped + '","m":"x"}'
    with unit_of_work(hub.sessions) as session:
        session.execute(
            text(
                "INSERT INTO sandbox_writebacks (order_id, kind, revision, status, payload, deliveries, received_at)"
                f" VALUES (:id, 'result', 99, 'COMPLETED', {'CAST(:p AS jsonb)' if hub.backend == 'postgres' else ':p'},"
                " 1, '2026-12-03 10:00:00.000000')"
            ),
            {"id": ids[0], "p": payload},
        )
    with admin(hub) as client:
        response = client.post("/admin/erasures", json={"email": person.email})
    assert response.status_code == 200, response.text
    assert sorted(response.json()["data"]["order_ids"]) == sorted(ids)
    for order_id, before in zip(ids, texts, strict=False):
        after = stored(order_id)
        assert after != before
        assert not [s for s in json_strings(after) if person.email in s.lower()], after
        assert local[2:] not in after.lower() and "\\u0040" not in after, after
        listed = tenant.order(order_id)["result"]["remote_fields"]  # the listing reads it
        assert listed == json.loads(after)
    assert tenant.order(ids[0])["result"]["remote_fields"] == {"n": "clean", "x": -0.0}
    assert tenant.order(ids[4])["result"]["remote_fields"] == {"plain": "[erased]", "in key": {"[erased]": True}}
    assert stored(ids[-1]) == untouched  # nothing of the candidate in it: the vendor's spelling stays
    with hub.sessions() as session:
        (payload_after,) = session.execute(
            text("SELECT CAST(payload AS TEXT) FROM sandbox_writebacks WHERE order_id = :id AND revision = 99"),
            {"id": ids[0]},
        ).one()
    assert "\\u0040" not in payload_after and json.loads(payload_after) == {"m": "x"}
    assert scan(hub, person.traces) == []


def test_redact_replaces_every_spelling_and_keeps_the_shape() -> None:
    data = {"a": ["Ada Lovelace wrote", {"ADA LOVELACE": 1}], "n": 3, "b": None, "t": True}
    assert redact(data, ["Ada Lovelace", "Ada"]) == {
        "a": ["[erased] wrote", {"[erased]": 1}],
        "n": 3,
        "b": None,
        "t": True,
    }
    assert redact("ada ada", ["ada"]) == "[erased] [erased]"
    assert redact("nothing here", []) == "nothing here"


@pytest.fixture(params=BACKENDS)
def own_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'retention.db'}"
    else:
        assert POSTGRES_URL
        with temporary_postgres_database(POSTGRES_URL) as url:
            yield url


@pytest.mark.live
def test_retention_is_applied_by_the_worker(own_database_url: str, tmp_path: Path) -> None:
    """Orders unchanged for longer than RETENTION_DAYS lose their candidate data (the worker sweeps at its
    first heartbeat); newer ones keep it."""
    from sqlalchemy.orm import sessionmaker

    from assessment_hub.connecting import create_integration
    from assessment_hub.db.engine import build_engine
    from assessment_hub.db.migrate import upgrade

    settings = hub_settings(own_database_url, tmp_path)
    engine = build_engine(settings)
    try:
        upgrade(engine)
        sessions = sessionmaker(engine, expire_on_commit=False)
        with unit_of_work(sessions) as session:
            integration_id = create_integration(session, "sandbox", "Org", cipher=settings.cipher).id
        old_person, new_person = Candidate(), Candidate()
        old, new = old_person.order(sessions, integration_id), new_person.order(sessions, integration_id)
        with unit_of_work(sessions) as session:
            session.execute(update(OrderRow).where(OrderRow.id == old).values(updated_at=utcnow() - timedelta(days=31)))
    finally:
        engine.dispose()
    overrides = {"retention_days": 30, "worker_heartbeat_s": 0.2, "ready_heartbeat_max_age_s": 5.0}
    with running_hub(own_database_url, tmp_path, **overrides) as hub:

        def erased() -> bool:
            with hub.sessions() as session:
                return session.scalar(select(OrderRow.erased_at).where(OrderRow.id == old)) is not None

        wait_until(erased, what="the worker's retention sweep")
        assert scan(hub, old_person.traces) == []
        assert scan(hub, new_person.traces)
        with admin(hub) as client:
            (entry,) = [e for e in client.get("/admin/erasures").json()["data"]["results"] if old in e["order_ids"]]
        assert entry["reason"] == "retention" and entry["actor"] == "retention RETENTION_DAYS=30"
        assert new not in entry["order_ids"]
        with hub.sessions() as session:
            assert session.scalar(select(func.count()).select_from(OrderRow)) == 2
