"""A stand-in for the hub, used ONLY to exercise the harness's hub code paths
(figures 2-7) before the real hub exists, and by tests/test_bench_quick.py.

It is not a model of the hub's performance.  It speaks the contract the
harness relies on:

    python -m bench.testing.fake_hub migrate
    python -m bench.testing.fake_hub api-keys create --name N            -> key on last line
    python -m bench.testing.fake_hub integrations create --tool sandbox --organization N  -> id
    python -m bench.testing.fake_hub sandbox create-order --integration I --package P [--email E] -> id
    python -m bench.testing.fake_hub serve --host H --port P

State lives in a SQLite file derived from ASSESSMENT_HUB_DATABASE_URL (a
PostgreSQL URL maps to a file in the temp dir: the fake never talks to
PostgreSQL).  Delivery: FAKE_HUB_ATS_URL receives a POST per stored result,
FAKE_HUB_VENDOR_URL a POST per order created with POST /fake/orders.
"""

import hashlib
import json
import os
import queue
import sqlite3
import sys
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (n INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL,
    integration_id TEXT NOT NULL, status TEXT NOT NULL, email TEXT, result TEXT);
CREATE INDEX IF NOT EXISTS orders_status ON orders (integration_id, status, n);
CREATE TABLE IF NOT EXISTS api_keys (key TEXT PRIMARY KEY, name TEXT);
CREATE TABLE IF NOT EXISTS integrations (id TEXT PRIMARY KEY, tool TEXT, organization TEXT);
"""


def db_path() -> str:
    url = os.environ.get("ASSESSMENT_HUB_DATABASE_URL", "sqlite:///fake-hub.db")
    if url.startswith("sqlite:///"):
        return url[len("sqlite:///"):]
    return str(Path(tempfile.gettempdir()) / f"fake-hub-{hashlib.sha1(url.encode()).hexdigest()[:12]}.db")


def connect() -> sqlite3.Connection:
    conn = sqlite3.connect(db_path(), timeout=30, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def seed_orders(database_url: str, integration_id: str, count: int, ids_path: str) -> int:
    """The bulk seeding hook (``--seed-hook bench.testing.fake_hub:seed_orders``)."""
    os.environ["ASSESSMENT_HUB_DATABASE_URL"] = database_url
    conn = connect()
    with open(ids_path, "w") as f:
        done = 0
        while done < count:
            batch = [uuid.uuid4().hex for _ in range(min(10_000, count - done))]
            conn.executemany("INSERT INTO orders (id, integration_id, status) VALUES (?, ?, 'OPEN')",
                             [(i, integration_id) for i in batch])
            conn.commit()
            f.write("\n".join(batch) + "\n")
            done += len(batch)
    return count


def make_app() -> Any:
    import httpx
    from fastapi import FastAPI, Header, HTTPException, Request

    from bench.ceiling import Envelope, ResultIn

    app = FastAPI()
    local = threading.local()
    outbox: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue(maxsize=100_000)

    def db() -> sqlite3.Connection:
        if not hasattr(local, "conn"):
            local.conn = connect()
        return local.conn

    def deliver() -> None:
        with httpx.Client(timeout=5) as client:
            while True:
                url, payload = outbox.get()
                try:
                    client.post(url, json=payload)
                except httpx.HTTPError:
                    pass

    for _ in range(4):
        threading.Thread(target=deliver, daemon=True).start()

    def auth(authorization: str | None, integration: str | None) -> str:
        if not authorization or not authorization.startswith("Bearer ") or not integration:
            raise HTTPException(401, "missing credentials")
        return integration

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/assessment/orders")
    def list_orders(page_size: int = 100, statuses: str = "OPEN", cursor: str | None = None,
                    authorization: str | None = Header(None), x_integration_id: str | None = Header(None)) -> Envelope:
        integ = auth(authorization, x_integration_id)
        after = int(cursor) if cursor else 0
        rows = db().execute(
            "SELECT n, id, status, email FROM orders WHERE integration_id = ? AND status = ? AND n > ? ORDER BY n LIMIT ?",
            (integ, statuses.split(",")[0], after, page_size)).fetchall()
        nxt = str(rows[-1][0]) if len(rows) == page_size else None
        return Envelope(data={"next": nxt, "results": [
            {"id": r[1], "status": r[2], "candidate": {"email": r[3]}} for r in rows]})

    @app.put("/v1/assessment/orders/{order_id}/result")
    def put_result(order_id: str, body: ResultIn, authorization: str | None = Header(None),
                   x_integration_id: str | None = Header(None)) -> Envelope:
        auth(authorization, x_integration_id)
        conn = db()
        cur = conn.execute("UPDATE orders SET status = ?, result = ? WHERE id = ? AND status = 'OPEN'",
                           (body.status, body.model_dump_json(exclude={"attachments"}), order_id))
        conn.commit()
        if cur.rowcount != 1:
            raise HTTPException(404, "no open order with that id")
        ats = os.environ.get("FAKE_HUB_ATS_URL")
        if ats:
            outbox.put_nowait((ats + "/writeback", {"order_id": order_id, "status": body.status}))
        return Envelope(data={"id": order_id, "status": body.status})

    @app.post("/fake/orders")
    async def create_order(request: Request, authorization: str | None = Header(None),
                           x_integration_id: str | None = Header(None)) -> Envelope:
        integ = auth(authorization, x_integration_id)
        payload = await request.json()
        oid = uuid.uuid4().hex
        conn = db()
        conn.execute("INSERT INTO orders (id, integration_id, status, email) VALUES (?, ?, 'OPEN', ?)",
                     (oid, integ, payload.get("email")))
        conn.commit()
        vendor = os.environ.get("FAKE_HUB_VENDOR_URL")
        if vendor:
            outbox.put_nowait((vendor + "/webhook", {"order": {"id": oid}}))
        return Envelope(data={"id": oid})

    return app


def main(argv: list[str]) -> int:
    cmd = " ".join(a for a in argv if not a.startswith("-"))[:40]
    opts = {argv[i]: argv[i + 1] for i in range(len(argv) - 1) if argv[i].startswith("--")}
    if argv[:1] == ["migrate"]:
        conn = connect()
        conn.executescript(SCHEMA)
        conn.commit()
    elif argv[:2] == ["api-keys", "create"]:
        key = "ak_" + uuid.uuid4().hex
        conn = connect()
        conn.execute("INSERT INTO api_keys VALUES (?, ?)", (key, opts.get("--name")))
        conn.commit()
        print("created api key\n" + key)
    elif argv[:2] == ["integrations", "create"]:
        iid = "int_" + uuid.uuid4().hex[:16]
        conn = connect()
        conn.execute("INSERT INTO integrations VALUES (?, ?, ?)", (iid, opts.get("--tool"), opts.get("--organization")))
        conn.commit()
        print("created integration\n" + iid)
    elif argv[:2] == ["sandbox", "create-order"]:
        oid = uuid.uuid4().hex
        conn = connect()
        conn.execute("INSERT INTO orders (id, integration_id, status, email) VALUES (?, ?, 'OPEN', ?)",
                     (oid, opts["--integration"], opts.get("--email")))
        conn.commit()
        print(oid)
    elif argv[:1] == ["serve"]:
        import uvicorn

        uvicorn.run(make_app(), host=opts.get("--host", "127.0.0.1"), port=int(opts.get("--port", "8000")),
                    access_log=False, log_level="warning")
    else:
        print(f"fake hub: unknown command {cmd!r}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
