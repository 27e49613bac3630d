"""In-process cost of the order listing: ms per ``GET /v1/assessment/orders?page_size=100&statuses=OPEN``.

    python bench/profile_listing.py --db sqlite:////tmp/l.db [--orders 3000] [--calls 200] [--profile]
                                    [--inline] [--dump pages.json] [--reuse state.json]
    python bench/profile_listing.py --compare before.json after.json

Builds a fresh database (SQLite file, or a PostgreSQL database that is dropped and created), seeds
``--orders`` OPEN orders (``sandbox seed``'s ``seed_orders``) plus a few orders with results (some
with an attachment, one with non-ASCII text) through the API, then times ``--calls`` requests of the
first page through the ASGI app (routing, dependencies, auth, query, encoding; no HTTP server, no
client) and prints the process's CPU time and the wall time per page. ``--profile`` prints a
cProfile of the timed calls; ``--dump`` writes every page of several listings (cursor-walked) to a
file, and ``--compare`` checks that two such files (two versions of the hub on one ``--reuse``
database) hold the same JSON.

Runs against whatever ``assessment_hub`` is importable (put a checkout's ``src`` first on PYTHONPATH).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import json
import pstats
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from assessment_hub.app import create_app
from assessment_hub.assessment.schemas import PackageIn
from assessment_hub.assessment.service import set_packages
from assessment_hub.config import Settings
from assessment_hub.connecting import create_integration
from assessment_hub.connectors.sandbox.orders import create_sandbox_order
from assessment_hub.connectors.sandbox.seed import seed_orders
from assessment_hub.db.engine import build_engine
from assessment_hub.db.migrate import upgrade
from assessment_hub.db.session import unit_of_work
from assessment_hub.integrations.service import create_api_key

PAGE = ("/v1/assessment/orders", "page_size=100&statuses=OPEN")
LISTINGS = [
    ("/v1/assessment/orders", "page_size=100&statuses=OPEN"),
    ("/v1/assessment/orders", "page_size=37"),
    ("/v1/assessment/orders", "statuses=COMPLETED,CANCELLED&page_size=5"),
    ("/v1/assessment/orders/open", ""),
]


def fresh_database(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        Path(parsed.database).unlink(missing_ok=True)
        return
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


async def request(
    app: Any, method: str, path: str, query: str, headers: dict[str, str], body: bytes = b""
) -> tuple[int, bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        + [(b"content-length", str(len(body)).encode())],
    }
    sent = False
    status, chunks = 0, []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


def result_body(i: int) -> bytes:
    body: dict[str, Any] = {
        "status": "COMPLETED" if i % 3 else "CANCELLED",
        "score": 70 + i % 30,
        "max_score": 100,
        "result_url": f"https://vendor.example/r/{i}",
        "completed_at": "2026-11-28T10:00:00.123456Z",
        "attributes": [
            {"type": "TEXT", "label": "Résumé ✓", "value": f'ok {i} — bien\n"q"'},
            {"field": "legacy", "value": "x"},
        ],
        "remote_fields": {"x": [1, 2.5 + i, None, True, "é", 10**30]} if i % 2 else None,
    }
    if i % 4 == 0:
        body["attachments"] = [
            {
                "name": f"report-{i}.txt",
                "content_type": "text/plain",
                "data": base64.b64encode(f"report {i}".encode()).decode(),
            }
        ]
    return json.dumps(body).encode()


async def walk(app: Any, headers: dict[str, str]) -> list[Any]:
    pages = []
    for path, query in LISTINGS:
        cursor = None
        while True:
            q = query + (f"&cursor={cursor}" if cursor else "")
            status, body = await request(app, "GET", path, q, headers)
            assert status == 200, body
            pages.append({"path": path, "query": q, "body": body.decode()})
            cursor = json.loads(body)["data"]["next"]
            if not cursor:
                break
    return pages


def run_threadpool_inline() -> None:
    """Run sync routes and dependencies on the event loop's thread: cProfile then sees them."""
    import anyio.to_thread

    async def run_sync(func: Any, *args: Any, **_kwargs: Any) -> Any:
        return func(*args)

    anyio.to_thread.run_sync = run_sync


def seed(settings: Settings, args: argparse.Namespace) -> tuple[str, str, list[str]]:
    """A fresh database with the orders; returns the API key, the integration id, the orders to give a result."""
    fresh_database(settings.database_url)
    engine = build_engine(settings)
    upgrade(engine)
    sessions = sessionmaker(engine, expire_on_commit=False)
    with unit_of_work(sessions) as session:
        key = create_api_key(session, "profile")
        integration = create_integration(session, "sandbox", "Profile Org", cipher=settings.cipher).id
        set_packages(session, integration, [PackageIn(id="1001", name="P", description="d", type="SKILLS_TEST")])
    with unit_of_work(sessions) as session:
        scored = [create_sandbox_order(session, integration, "1001", seed=s).id for s in range(args.results)]
    with unit_of_work(sessions) as session:  # one OPEN order with non-ASCII, quotes and a newline
        create_sandbox_order(session, integration, "1001", email='zoë+"q"@example.com', seed=7)
    seed_orders(engine, integration, "1001", args.orders)
    engine.dispose()
    return key, integration, scored


async def main(args: argparse.Namespace) -> None:
    if args.inline or args.profile:
        run_threadpool_inline()
    settings = Settings(database_url=args.db, attachments_dir=Path(tempfile.mkdtemp(prefix="profile-listing-")))
    state = Path(args.reuse) if args.reuse else None
    if state and state.exists():
        key, integration, scored = (*json.loads(state.read_text()), [])
    else:
        key, integration, scored = seed(settings, args)
    headers = {"Authorization": f"Bearer {key}", "X-Integration-Id": integration}
    app = create_app(settings, worker=False)
    async with app.router.lifespan_context(app):
        for i, order_id in enumerate(scored):
            status, body = await request(
                app,
                "PUT",
                f"/v1/assessment/orders/{order_id}/result",
                "",
                {**headers, "content-type": "application/json"},
                result_body(i),
            )
            assert status == 200, body
        if state and scored:
            state.write_text(json.dumps([key, integration]))
        if args.dump:
            Path(args.dump).write_text(json.dumps(await walk(app, headers), indent=1))
        for _ in range(20):  # warm-up: compiled-statement caches, pools
            await request(app, "GET", *PAGE, headers)
        profiler = cProfile.Profile() if args.profile else None
        started, cpu_started = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        for _ in range(args.calls):
            status, body = await request(app, "GET", *PAGE, headers)
        if profiler:
            profiler.disable()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        assert status == 200 and len(json.loads(body)["data"]["results"]) == 100, body[:300]
    print(
        f"{make_url(args.db).get_backend_name()}: {cpu / args.calls * 1000:.2f} ms CPU/page, "
        f"{elapsed / args.calls * 1000:.2f} ms wall/page ({args.calls} pages of 100, {len(body):,} bytes each"
        f"{', threadpool calls inline' if args.inline or args.profile else ''})"
    )
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def compare(before: str, after: str) -> None:
    """Two ``--dump`` files of one ``--reuse`` database: every page must parse to the same JSON, key order included."""
    pages = list(zip(json.loads(Path(before).read_text()), json.loads(Path(after).read_text()), strict=True))
    for old, new in pages:
        assert (old["path"], old["query"]) == (new["path"], new["query"])
        assert json.dumps(json.loads(old["body"])) == json.dumps(json.loads(new["body"])), old["query"]
    same = sum(old["body"] == new["body"] for old, new in pages)
    print(f"{len(pages)} pages: the same JSON, key order included ({same} byte for byte)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="sqlite:///FILE or postgresql+psycopg://.../DBNAME (recreated)")
    parser.add_argument("--orders", type=int, default=3000, help="seeded OPEN orders")
    parser.add_argument("--results", type=int, default=24, help="orders given a result through the API")
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--profile", action="store_true", help="cProfile the timed calls (implies --inline)")
    parser.add_argument("--inline", action="store_true", help="no threadpool: sync code runs on the loop's thread")
    parser.add_argument("--dump", help="write every page of several listings to this file")
    parser.add_argument(
        "--reuse",
        metavar="STATE",
        help="seed once, keeping the key and integration in STATE; "
        "later runs with the same STATE reuse the database (to compare two versions' output)",
    )
    parser.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"), help="only compare two --dump files")
    parsed = parser.parse_args()
    if parsed.compare:
        compare(*parsed.compare)
    elif not parsed.db:
        parser.error("--db is required")
    else:
        asyncio.run(main(parsed))
