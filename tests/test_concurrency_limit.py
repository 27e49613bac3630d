"""Kombo's concurrency cap: at most CONCURRENCY_LIMIT write requests in flight per integration, the next
refused with 429 PLATFORM.CONCURRENCY_LIMIT_EXCEEDED and Retry-After; Concurrency-Remaining on every
write response. Requests are held in flight by a data_url server that answers only when released."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from assessment_hub.concurrency.slots import (
    PG_TAKE_IN_TRANSACTION,
    FileSlots,
    PostgresSlots,
    build_slots,
    integration_key,
)
from tests.support import Hub, running_hub, wait_until

LIMIT = 30


class HeldFiles:
    """An HTTP file server whose every GET waits until ``release()``; counts the requests waiting."""

    def __init__(self) -> None:
        self.released = threading.Event()
        self.arrived = 0
        self._lock = threading.Lock()
        held = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with held._lock:
                    held.arrived += 1
                held.released.wait(timeout=60)
                body = b"report"
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/report.txt"

    def __enter__(self) -> HeldFiles:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def capped_hub(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    # data_url downloads may wait as long as the test holds them
    with running_hub(
        database_url, tmp_path_factory.mktemp("capped"), concurrency_limit=LIMIT, data_url_timeout_s=30
    ) as hub:
        yield hub


def _result(data_url: str | None = None) -> dict:
    body: dict = {"status": "COMPLETED", "result_url": "https://vendor.example/r/1", "score": 1, "max_score": 2}
    if data_url:
        body["attachments"] = [{"name": "report.txt", "data_url": data_url}]
    return body


@pytest.mark.live  # capped_hub: uvicorn, parallel writes on real connections
def test_limit_plus_one_parallel_result_puts_refuse_exactly_the_excess(capped_hub: Hub) -> None:
    tenant = capped_hub.new_tenant()
    tenant.publish("1001")
    orders = [tenant.create_order() for _ in range(LIMIT + 1)]
    with HeldFiles() as files, tenant.client() as client, ThreadPoolExecutor(LIMIT) as pool:
        held = []
        for index, order_id in enumerate(orders[:LIMIT]):
            held.append(pool.submit(client.put, f"/assessment/orders/{order_id}/result", json=_result(files.url)))
            # the next is sent once this one is in flight, so the figures it sees are in sending order
            wait_until(lambda n=index + 1: files.arrived >= n, timeout=30, what=f"request {index + 1} in flight")

        excess = client.put(f"/assessment/orders/{orders[LIMIT]}/result", json=_result())
        assert excess.status_code == 429, excess.text
        assert excess.json() == {
            "status": "error",
            "error": {
                "code": "PLATFORM.CONCURRENCY_LIMIT_EXCEEDED",
                "title": "Concurrency limit exceeded",
                "message": excess.json()["error"]["message"],
                "log_url": f"urn:assessment-hub:request:{excess.headers['X-Request-Id']}",
            },
        }
        assert excess.headers["Retry-After"] == "1"
        assert excess.headers["Concurrency-Remaining"] == "0"
        # a read is not an action: it is served while the integration is full
        assert client.get("/assessment/orders", params={"ids": orders[0]}).status_code == 200

        files.released.set()
        answers = [future.result(timeout=60) for future in held]

    assert [a.status_code for a in answers] == [200] * LIMIT, [a.text for a in answers if a.status_code != 200]
    remaining = [int(a.headers["Concurrency-Remaining"]) for a in answers]
    assert remaining == list(range(LIMIT - 1, -1, -1))  # 29, 28, ... 0
    # the refused one was not stored: once room is back it is accepted as the order's first result
    again = tenant.put_result(orders[LIMIT], _result())
    assert again.status_code == 200, again.text
    assert again.headers["Concurrency-Remaining"] == str(LIMIT - 1)
    assert tenant.order(orders[LIMIT])["status"] == "COMPLETED"


@pytest.mark.live  # capped_hub: uvicorn, parallel writes on real connections
def test_the_cap_is_per_integration_and_every_write_answer_carries_the_header(capped_hub: Hub) -> None:
    busy, other = capped_hub.new_tenant(), capped_hub.new_tenant()
    for tenant in (busy, other):
        tenant.publish("1001")
    orders = [busy.create_order() for _ in range(LIMIT)]
    with HeldFiles() as files, busy.client() as client, ThreadPoolExecutor(LIMIT) as pool:
        held = [
            pool.submit(client.put, f"/assessment/orders/{order_id}/result", json=_result(files.url))
            for order_id in orders
        ]
        wait_until(lambda: files.arrived >= LIMIT, timeout=30, what="the integration full")
        with other.client() as other_client:
            published = other_client.put(
                "/assessment/packages",
                json={"packages": [{"id": "2", "type": "SKILLS_TEST", "name": "n", "description": "d"}]},
            )
            assert published.status_code == 200, published.text
            assert published.headers["Concurrency-Remaining"] == str(LIMIT - 1)
            unknown = other_client.put("/assessment/orders/nope/result", json=_result())
            assert unknown.status_code == 404
            assert unknown.headers["Concurrency-Remaining"] == str(LIMIT - 1)  # errors carry it too
        refused = client.put("/assessment/packages", json={"packages": []})
        assert refused.status_code == 429  # the packages PUT is an action as well
        files.released.set()
        assert all(f.result(timeout=60).status_code == 200 for f in held)


# ------------------------------------------------------------------------ across processes and machines

_HOLDER = """
import asyncio, sys
from assessment_hub.concurrency.slots import FileSlots
async def main():
    slots = FileSlots(sys.argv[1], int(sys.argv[2]))
    held = [await slots.acquire("integration-a") for _ in range(int(sys.argv[3]))]
    print(" ".join(str(remaining) for _slot, remaining in held), flush=True)
    sys.stdin.readline()
asyncio.run(main())
"""


@pytest.mark.subprocess
def test_file_slots_are_shared_between_processes_and_freed_when_one_dies(tmp_path: Path) -> None:
    path = str(tmp_path / "hub.db-concurrency.lock")
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, path, "5", "3"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().split() == ["4", "3", "2"]

        async def here() -> list[int]:
            slots = FileSlots(path, 5)
            first, second, third = [await slots.acquire("integration-a") for _ in range(3)]
            assert third == (None, 0)  # 3 held by the other process + 2 here = the limit
            other, other_remaining = await slots.acquire("integration-b")
            assert other_remaining == 4  # another integration has its own room
            for slot in (first[0], second[0], other):
                assert slot is not None
                await slots.release(slot)
            return [first[1], second[1]]

        assert asyncio.run(here()) == [1, 0]
    finally:
        holder.kill()
        holder.wait(timeout=10)

    async def after() -> int:
        slot, remaining = await FileSlots(path, 5).acquire("integration-a")
        assert slot is not None
        return remaining

    assert asyncio.run(after()) == 4  # the dead process's slots went with it


def test_file_slots_count_their_own_and_the_others_slots_in_any_order(tmp_path: Path) -> None:
    """Two ``FileSlots`` on one file stand for two processes (OFD locks of two descriptions conflict within a
    process too), each knowing only its own slots; random takes and gives back, with holes, must always
    answer the true count. ``acquire`` counts its own process's slots from memory (no syscall) and asks the
    kernel only for the others'."""
    import random

    path = str(tmp_path / "hub.db-concurrency.lock")
    limit = 12
    rng = random.Random(15)

    async def run() -> None:
        sides = [FileSlots(path, limit), FileSlots(path, limit)]
        held: list[list] = [[], []]
        for _ in range(400):
            side = rng.randrange(2)
            if held[side] and rng.random() < 0.45:
                await sides[side].release(held[side].pop(rng.randrange(len(held[side]))))
                continue
            slot, remaining = await sides[side].acquire("integration-a")
            total = len(held[0]) + len(held[1])
            if total == limit:
                assert (slot, remaining) == (None, 0)
                continue
            assert slot is not None and remaining == limit - total - 1, (total, remaining)
            assert all(slot.number != other.number for both in held for other in both)
            held[side].append(slot)
        for side, slots in zip(sides, held, strict=True):
            for slot in slots:
                await side.release(slot)

    asyncio.run(run())


@pytest.mark.postgres
@pytest.mark.skipif(not os.environ.get("ASSESSMENT_HUB_TEST_POSTGRES_URL"), reason="needs PostgreSQL")
def test_postgres_slots_are_shared_between_connections_and_freed_when_one_drops(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the PostgreSQL backend runs against the PostgreSQL database")

    async def scenario() -> None:
        machine_a, machine_b = build_slots(database_url, 4), build_slots(database_url, 4)
        assert isinstance(machine_a, PostgresSlots)
        a1, a2 = await machine_a.acquire("integration-x"), await machine_a.acquire("integration-x")
        assert (a1[1], a2[1]) == (3, 2)
        b1 = await machine_b.acquire("integration-x")
        b2 = await machine_b.acquire("integration-x")
        assert (b1[1], b2[1]) == (1, 0)
        assert await machine_b.acquire("integration-x") == (None, 0)
        assert b1[0] is not None
        await machine_b.release(b1[0])
        b3 = await machine_b.acquire("integration-x")
        assert b3[0] is not None and b3[1] == 0
        # machine A dies (its database session is killed): its two slots come free for machine B
        import psycopg

        async with await psycopg.AsyncConnection.connect(machine_b.conninfo, autocommit=True) as admin:
            await admin.execute("SELECT pg_terminate_backend(%s)", (machine_a._conn.info.backend_pid,))
        for _ in range(100):
            c = await machine_b.acquire("integration-x")
            if c[0] is not None:
                break
            await asyncio.sleep(0.05)
        assert c[0] is not None and c[1] == 1
        # A comes back on a new connection and finds the one slot left
        a3 = await machine_a.acquire("integration-x")
        assert a3[0] is not None and a3[1] == 0
        await machine_a.close()
        await machine_b.close()

    asyncio.run(scenario())


def test_a_slot_taken_in_a_write_transaction_counts_with_the_held_ones_until_its_commit(database_url: str) -> None:
    """``SlotInWrite``'s statement (a result PUT without attachments on PostgreSQL) takes the same locks as
    ``PostgresSlots.acquire``: one limit for both kinds; the transaction's slot is free again once it ends."""
    if not database_url.startswith("postgresql"):
        pytest.skip("transaction slots are PostgreSQL's")
    import psycopg

    async def scenario() -> None:
        slots = build_slots(database_url, 2)
        assert isinstance(slots, PostgresSlots) and slots.takes_in_transaction
        key = integration_key("integration-t")
        with psycopg.connect(slots.conninfo) as write:  # a write's transaction holds one slot
            taken, in_flight = write.execute(PG_TAKE_IN_TRANSACTION, {"key": key, "limit": 2}).fetchone()
            assert (taken, in_flight) == (0, 1)
            held, remaining = await slots.acquire("integration-t")
            assert held is not None and remaining == 0
            assert await slots.acquire("integration-t") == (None, 0)
            with psycopg.connect(slots.conninfo) as second:  # a second write finds none free
                assert second.execute(PG_TAKE_IN_TRANSACTION, {"key": key, "limit": 2}).fetchone() == (None, 2)
            write.commit()  # the write's slot is given back with its commit
            again, remaining = await slots.acquire("integration-t")
            assert again is not None and remaining == 0
        await slots.close()

    asyncio.run(scenario())


@pytest.mark.live  # capped_hub: uvicorn, parallel writes on real connections
def test_http_client_sees_the_header_only_on_writes(capped_hub: Hub) -> None:
    tenant = capped_hub.new_tenant()
    tenant.publish("1001")
    with httpx.Client(base_url=capped_hub.api_url, headers=tenant.headers) as client:
        assert "Concurrency-Remaining" not in client.get("/assessment/packages").headers
        unauthenticated = client.put("/assessment/packages", json={"packages": []}, headers={"Authorization": "x"})
        assert unauthenticated.status_code == 401
        assert "Concurrency-Remaining" not in unauthenticated.headers  # no slot before authentication


@pytest.mark.live
@pytest.mark.subprocess
def test_the_cap_holds_across_the_processes_of_serve_workers(database_url: str, tmp_path: Path) -> None:
    """``serve --workers 2``: writes held in flight in either API process count against one limit; every
    further write, each on a new connection (so both processes take some), is refused."""
    from sqlalchemy.orm import sessionmaker

    from assessment_hub.config import Settings
    from assessment_hub.connecting import create_integration
    from assessment_hub.connectors.sandbox.orders import create_sandbox_order
    from assessment_hub.db.engine import build_engine
    from assessment_hub.db.migrate import upgrade
    from assessment_hub.db.session import unit_of_work
    from assessment_hub.integrations.service import create_api_key
    from tests.support import free_port, key_env, key_settings

    limit = 4
    settings = Settings(database_url=database_url, **key_settings(database_url))
    engine = build_engine(settings)
    upgrade(engine)
    sessions = sessionmaker(engine, expire_on_commit=False)
    with unit_of_work(sessions) as session:
        key = create_api_key(session, "workers")
        integration = create_integration(session, "sandbox", "Workers Org", cipher=settings.cipher).id
    env = {
        **os.environ,
        "ASSESSMENT_HUB_DATABASE_URL": database_url,
        "ASSESSMENT_HUB_ATTACHMENTS_DIR": str(tmp_path / "att"),
        "ASSESSMENT_HUB_CONCURRENCY_LIMIT": str(limit),
        "ASSESSMENT_HUB_ALLOW_PRIVATE_NETWORK": "true",
        "ASSESSMENT_HUB_DATA_URL_TIMEOUT_S": "30",
        **key_env(database_url),
    }
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "assessment_hub", "serve", "--port", str(port), "--workers", "2", "--no-worker"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}/v1"
    headers = {"Authorization": f"Bearer {key}", "X-Integration-Id": integration}
    try:
        wait_until(lambda: _answers(f"{base}/check-api-key", headers), timeout=60, what="serve --workers 2 up")
        published = httpx.put(
            f"{base}/assessment/packages",
            headers=headers,
            json={"packages": [{"id": "1001", "type": "SKILLS_TEST", "name": "T", "description": "d"}]},
        )
        assert published.status_code == 200, published.text
        with unit_of_work(sessions) as session:
            orders = [create_sandbox_order(session, integration, "1001").id for _ in range(limit + 8)]
        with HeldFiles() as files, ThreadPoolExecutor(limit) as pool:
            held = [
                pool.submit(
                    httpx.put,
                    f"{base}/assessment/orders/{o}/result",
                    headers=headers,
                    json=_result(files.url),
                    timeout=60,
                )
                for o in orders[:limit]
            ]
            wait_until(lambda: files.arrived >= limit, timeout=30, what="the limit in flight")
            refused = [
                httpx.put(f"{base}/assessment/orders/{o}/result", headers=headers, json=_result(), timeout=30)
                for o in orders[limit:]
            ]
            files.released.set()
            answers = [f.result(timeout=60) for f in held]
        assert [r.status_code for r in refused] == [429] * 8, [r.text for r in refused]
        assert all(r.headers["Concurrency-Remaining"] == "0" for r in refused)
        assert [a.status_code for a in answers] == [200] * limit
        after = httpx.put(f"{base}/assessment/orders/{orders[limit]}/result", headers=headers, json=_result())
        assert after.status_code == 200 and after.headers["Concurrency-Remaining"] == str(limit - 1)
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
        engine.dispose()
    assert "Traceback" not in output, output


def _answers(url: str, headers: dict[str, str]) -> bool:
    try:
        return httpx.get(url, headers=headers, timeout=1).status_code == 200
    except httpx.TransportError:
        return False
