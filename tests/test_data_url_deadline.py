"""Slow ``data_url``s do not starve the server: every download of a PUT shares one deadline
(``DATA_URL_TIMEOUT_S``), and waiting for them holds no thread that serves other requests.

No clock is read: the order of events is asserted. While 40 PUTs (200 downloads) wait for a file server that
never answers, an unrelated GET is answered; every PUT then answers 400 naming the deadline while the file
server is still holding every download (it answers none before the test ends).
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support import running_hub, serve_in_thread, wait_until
from tests.test_errors import check

PUTS = 40
URLS_EACH = 5
DEADLINE_S = 8.0
"""Long enough for all 40 PUTs to reach their downloads on a busy 2-core machine before the first gives up."""


class Stalling:
    """A file server whose downloads never finish while ``release`` is unset; counts those it holds."""

    def __init__(self) -> None:
        self.held = 0
        self.answered = 0
        self.release = threading.Event()
        self.app = Starlette(routes=[Route("/file/{n}", self.file)])

    async def file(self, request: Request) -> Response:
        self.held += 1
        while not self.release.is_set():
            await asyncio.sleep(0.05)
        self.answered += 1
        return Response(b"late", media_type="text/plain")


@pytest.mark.live
def test_slow_data_urls_hold_no_threads_and_answer_within_the_deadline(database_url: str, tmp_path: Path) -> None:
    files = Stalling()
    with (
        running_hub(database_url, tmp_path, data_url_timeout_s=DEADLINE_S, concurrency_limit=PUTS) as hub,
        serve_in_thread(files.app) as files_url,
        ThreadPoolExecutor(PUTS) as pool,
    ):
        tenant = hub.new_tenant()
        tenant.publish("1001")
        orders = [tenant.create_order() for _ in range(PUTS)]
        body = {
            "status": "COMPLETED",
            "result_url": "https://vendor.example/r/1",
            "attachments": [{"name": f"f{n}", "data_url": f"{files_url}/file/{n}"} for n in range(URLS_EACH)],
        }
        try:
            puts = [pool.submit(tenant.put_result, order_id, body) for order_id in orders]
            wait_until(lambda: files.held == PUTS * URLS_EACH, timeout=20, what="every download to be waiting")
            with tenant.client() as client:
                packages = client.get("/assessment/packages")
            assert packages.status_code == 200, packages.text
            assert not any(put.done() for put in puts)  # answered while every PUT is still waiting
            for put in puts:
                check(put.result(timeout=30), 400, mentions=f"longer than {DEADLINE_S:g} s")
            assert files.answered == 0  # the PUTs gave up on the deadline, not on the server answering
        finally:
            files.release.set()
        for order_id in orders:
            assert tenant.order(order_id)["result"] is None
