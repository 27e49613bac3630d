"""``sandbox seed`` writes through COPY / a plain executemany: the stored rows must be those Core would store."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import insert, select, text

from assessment_hub.assessment.models import OrderRow
from assessment_hub.assessment.views import normalize_application, normalize_candidate, normalize_job
from assessment_hub.connectors.sandbox.orders import fake_order_data
from assessment_hub.connectors.sandbox.seed import POOL_SIZE, bulk_ids, seed_orders
from tests.support import Hub

COLUMNS = [
    "integration_id",
    "package_id",
    "status",
    "candidate",
    "application",
    "job",
    "remote_data",
    "inline",
    "rejection_message",
    "assessment_url",
    "latest_result_id",
]


def stored(hub: Hub, where: str, **params: object) -> list[dict[str, object]]:
    """The stored text of each column (what the database holds, not what the ORM makes of it)."""
    cols = ", ".join(f"CAST({c} AS TEXT) AS {c}" for c in COLUMNS + ["created_at", "updated_at"])
    with hub.sessions.kw["bind"].connect() as conn:
        rows = conn.execute(text(f"SELECT id, {cols} FROM orders WHERE {where} ORDER BY created_at, id"), params)
        return [dict(r._mapping) for r in rows]


def test_seeded_rows_are_what_core_would_store(hub: Hub) -> None:
    tenant = hub.new_tenant()
    tenant.publish("1001")
    engine = hub.sessions.kw["bind"]
    count = POOL_SIZE + 3  # every pool record, and wrapping around
    seed_orders(engine, tenant.integration_id, "1001", count, batch_size=7, commit_every=20)
    seeded = stored(hub, "integration_id = :i", i=tenant.integration_id)
    assert len(seeded) == count and len({r["id"] for r in seeded}) == count
    assert all(re.fullmatch(r"[A-Za-z0-9]{24}", str(r["id"])) for r in seeded)

    # the same orders written by Core's insert(OrderRow), as the previous implementation did
    other = hub.new_tenant()
    with engine.connect() as conn:
        start = conn.execute(select(OrderRow.created_at).where(OrderRow.id == seeded[0]["id"])).scalar_one()
    rows = []
    for i in range(count):
        data = fake_order_data(i % POOL_SIZE)
        created = start + timedelta(milliseconds=i)
        rows.append(
            {
                "id": f"core{i:020d}",
                "integration_id": other.integration_id,
                "package_id": "1001",
                "status": "OPEN",
                "candidate": normalize_candidate(
                    {**data["candidate"], "remote_id": f"cand_seed_{i}", "email": f"seed{i}@example.com"}
                ),
                "application": normalize_application({"remote_id": f"app_seed_{i}"}),
                "job": normalize_job(data["job"]),
                "remote_data": None,
                "inline": False,
                "rejection_message": None,
                "assessment_url": None,
                "latest_result_id": None,
                "created_at": created,
                "updated_at": created,
            }
        )
    with engine.begin() as conn:
        conn.execute(insert(OrderRow), rows)
    core = stored(hub, "integration_id = :i", i=other.integration_id)
    for mine, theirs in zip(seeded, core, strict=True):
        for col in COLUMNS[1:] + ["created_at", "updated_at"]:
            assert mine[col] == theirs[col], (col, mine[col], theirs[col])

    # the API lists them, newest last, as any order
    with tenant.client() as client:
        page = client.get("/assessment/orders", params={"page_size": 100, "statuses": "OPEN"}).json()["data"]
    listed = [o["id"] for o in page["results"]]
    assert listed == [r["id"] for r in seeded]


def test_bulk_ids_shape() -> None:
    ids = bulk_ids(10_000)
    assert len(ids) == 10_000 == len(set(ids))
    assert all(re.fullmatch(r"[A-Za-z0-9]{24}", i) for i in ids)
    letters = "".join(ids)
    counts = [letters.count(c) for c in set(letters)]
    assert len(counts) == 62 and min(counts) > 0.8 * len(letters) / 62  # no letter starved
