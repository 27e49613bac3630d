"""What the framework costs: CPU ms per result PUT and per listing page, with and without it, in-process.

    PYTHONPATH=src:. python bench/profile_floor.py [--db sqlite:////tmp/f.db] [--orders 12000] [--puts 5000] [--gets 1000]
    PYTHONPATH=src:. python bench/profile_floor.py --db postgresql+psycopg://postgres@127.0.0.1:5432/pf_x

Seeds a fresh database (a SQLite file, by default in a temporary directory removed afterwards, or a
PostgreSQL database that is dropped and created; its secret key is ``ASSESSMENT_HUB_SECRET_KEY``, else a fixed
one) with ``--orders`` OPEN sandbox orders, then drives, from ``--lanes`` concurrent callers on one event loop
(no HTTP server, no client: the ASGI call itself):

* ``hub``: the hub's ASGI app, as uvicorn calls it (request log, middleware, routing, FastAPI's
  dependency solving, the route);
* ``floor``: the hub's own dependency functions (``_api_key``, ``_integration``, ``json_body``) and route
  functions (``put_result``, ``get_orders``) called directly, in order, and their response sent: the same
  work and guarantees (authenticated, validated, stored durably with its outbox row before the answer, the
  same listing bytes) without the request log, the middleware, the routing or FastAPI;
* ``ceiling``: ``bench.ceiling``'s app (the figure every ratio in RESULTS.md is divided by).

The hub writes its access line for every request as ``serve`` does (its cost is in the ``hub`` figure),
to ``/dev/null``. It prints the process's CPU time per call for each (``time.process_time``: every thread of this process;
a PostgreSQL server's own CPU is not in it). ``--puts`` results go to distinct orders, once per mode (the
database is seeded with enough for all three modes); the listing reads the first page of
``GET /v1/assessment/orders?page_size=100&statuses=OPEN``. ``bench/NOTES.md`` ("The floor") uses it to
bound the ratios the hub can reach on a machine: ``ceiling_wrk / (floor + server)``, where ``ceiling_wrk``
is the ceiling process's CPU per request under wrk and ``server`` = ``ceiling_wrk`` minus the ceiling's
in-process CPU printed here (uvicorn's own share of a request).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy.orm import sessionmaker
from starlette.requests import Request

from assessment_hub.app import create_app
from assessment_hub.assessment.routes import get_orders, put_result
from assessment_hub.assessment.schemas import PackageIn, ResultIn
from assessment_hub.assessment.service import set_packages
from assessment_hub.config import Settings
from assessment_hub.connecting import create_integration
from assessment_hub.connectors.sandbox.seed import seed_orders
from assessment_hub.db.engine import build_engine
from assessment_hub.db.migrate import upgrade
from assessment_hub.db.session import unit_of_work
from assessment_hub.integrations.deps import _api_key, _integration
from assessment_hub.integrations.service import create_api_key
from assessment_hub.kit.body import json_body
from bench.ceiling import app as ceiling_app
from bench.profile_listing import fresh_database, request
from bench.run import TYPICAL_RESULT

LIST_QUERY = "page_size=100&statuses=OPEN"
_BENCH_KEY = "q1X3bQeVJ0dWv0mJr2b5m3nN6G0m7a1x9cQ0V9oUw8Q="
"""A fixed key for the scratch database (PostgreSQL needs one; ``ASSESSMENT_HUB_SECRET_KEY`` wins)."""
Call = Callable[[str, str, str, bytes], Awaitable[tuple[int, bytes]]]


def seed(settings: Settings, orders: int) -> tuple[str, str, list[str]]:
    """A fresh database with ``orders`` OPEN orders; the API key, the integration id and the order ids."""
    fresh_database(settings.database_url)
    engine = build_engine(settings)
    upgrade(engine)
    sessions = sessionmaker(engine, expire_on_commit=False)
    with unit_of_work(sessions) as session:
        key = create_api_key(session, "floor")
        integration = create_integration(session, "sandbox", "Floor Org", cipher=settings.cipher).id
        set_packages(session, integration, [PackageIn(id="1001", name="P", description="d", type="SKILLS_TEST")])
    seed_orders(engine, integration, "1001", orders)
    with engine.connect() as conn:
        ids = [
            row[0]
            for row in conn.exec_driver_sql(
                "SELECT id FROM orders WHERE integration_id = ? ORDER BY created_at, id"
                if engine.dialect.name == "sqlite"
                else "SELECT id FROM orders WHERE integration_id = %s ORDER BY created_at, id",
                (integration,),
            )
        ]
    engine.dispose()
    return key, integration, ids


def floor_app(hub: Any) -> Any:
    """An ASGI app that runs the hub's route functions for the two benchmarked calls directly."""
    parse_result = json_body(ResultIn)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        scope["app"] = hub
        scope.setdefault("state", {})
        req = Request(scope, receive)
        headers = req.headers
        key = await _api_key(req, headers.get("authorization"))
        integration = await _integration(req, key, headers.get("x-integration-id"))
        if scope["method"] == "PUT":
            body = await parse_result(req)
            response = await put_result(scope["path"].split("/")[4], req, integration, body)
        else:
            response = await get_orders(req, integration, page_size="100", statuses="OPEN")
        await response(scope, receive, send)

    return app


def caller(app: Any, headers: dict[str, str]) -> Call:
    async def call(method: str, path: str, query: str, body: bytes) -> tuple[int, bytes]:
        return await request(app, method, path, query, headers, body)

    return call


async def measure(call: Call, ids: Iterator[str], puts: int, gets: int, lanes: int) -> tuple[float, float, int]:
    """CPU ms per PUT and per page from ``lanes`` concurrent callers, and the page's size in bytes."""
    body = json.dumps(TYPICAL_RESULT).encode()
    todo = iter([next(ids) for _ in range(puts)])

    async def put_lane() -> None:
        for order_id in todo:
            status, answer = await call("PUT", f"/v1/assessment/orders/{order_id}/result", "", body)
            if status != 200:
                raise SystemExit(f"PUT answered {status}: {answer[:300]!r}")

    status, page = await call("GET", "/v1/assessment/orders", LIST_QUERY, b"")
    if status != 200:
        raise SystemExit(f"GET answered {status}: {page[:300]!r}")
    left = [gets]

    async def get_lane() -> None:
        while left[0] > 0:
            left[0] -= 1
            await call("GET", "/v1/assessment/orders", LIST_QUERY, b"")

    started = time.process_time()
    await asyncio.gather(*(put_lane() for _ in range(lanes)))
    put_ms = (time.process_time() - started) / max(puts, 1) * 1000
    started = time.process_time()
    await asyncio.gather(*(get_lane() for _ in range(lanes)))
    get_ms = (time.process_time() - started) / max(gets, 1) * 1000
    return put_ms, get_ms, len(page)


async def main(args: argparse.Namespace, scratch: Path) -> None:
    # lookups cached for the whole run in both modes: the hub reloads them every LOOKUP_CACHE_S (5 s) otherwise
    settings = Settings(
        database_url=args.db or f"sqlite:///{scratch}/hub.db",
        attachments_dir=scratch / "attachments",
        lookup_cache_s=3600,
        secret_key=os.environ.get("ASSESSMENT_HUB_SECRET_KEY") or _BENCH_KEY,
    )
    key, integration, ids = seed(settings, max(args.orders, 2 * args.puts + 100 * 3))
    headers = {"Authorization": f"Bearer {key}", "X-Integration-Id": integration, "content-type": "application/json"}
    hub = create_app(settings, worker=False)
    remaining = iter(ids[100 * 3 :])  # the first three pages stay OPEN: the listing reads a full page
    async with hub.router.lifespan_context(hub):
        await request(hub, "GET", "/v1/assessment/orders", LIST_QUERY, headers)  # caches warm, routes built
        figures = {
            "hub": await measure(caller(hub, headers), remaining, args.puts, args.gets, args.lanes),
            "floor": await measure(caller(floor_app(hub), headers), remaining, args.puts, args.gets, args.lanes),
        }
    figures["ceiling"] = await measure(
        caller(ceiling_app, headers), iter(f"c{i}" for i in range(args.puts)), args.puts, args.gets, args.lanes
    )
    print(f"{'mode':<8} {'CPU ms per PUT':>15} {'CPU ms per page':>16} {'page bytes':>11}")
    for mode, (put_ms, get_ms, size) in figures.items():
        print(f"{mode:<8} {put_ms:>15.3f} {get_ms:>16.3f} {size:>11}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--db", default=None, help="SQLAlchemy URL (default: a SQLite file in a temporary directory)")
    p.add_argument("--orders", type=int, default=12_000, help="OPEN orders to seed (at least 2 x --puts + 300)")
    p.add_argument("--puts", type=int, default=5_000, help="result PUTs per mode")
    p.add_argument("--gets", type=int, default=1_000, help="listing pages per mode")
    p.add_argument("--lanes", type=int, default=24, help="concurrent callers (below CONCURRENCY_LIMIT, 30)")
    return p.parse_args(argv)


if __name__ == "__main__":
    with (
        tempfile.TemporaryDirectory(prefix="profile-floor-") as scratch,
        open(os.devnull, "w") as quiet,
        contextlib.redirect_stderr(quiet),  # the access lines (structlog writes to the current sys.stderr)
    ):
        asyncio.run(main(parse_args(sys.argv[1:]), Path(scratch)))
