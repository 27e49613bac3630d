"""An API process whose database refuses it at start-up says so on one line and ``serve`` exits with status 2.

``serve`` checks the database before it prints its serving line; each API process opens it again in its
lifespan. Found in review: with a PostgreSQL connection limit that the worker's process had used up in
between, that second open failed with a ~150-line traceback and exit status 3, after "serving".
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette

from assessment_hub.app import create_app
from assessment_hub.config import Settings
from assessment_hub.ops.startup import one_line_refusals
from tests.support import TEST_SECRET_KEY, free_port

REFUSED_URL = "postgresql+psycopg://hub:secret-password@127.0.0.1:1/hub"
"""Nothing listens on port 1: every connection is refused (a database that cannot be used)."""


async def _start(app) -> list[dict]:
    """Drive ``app``'s lifespan start-up as an ASGI server does; the messages it sent back."""
    sent: list[dict] = []
    incoming = [{"type": "lifespan.startup"}]

    async def receive() -> dict:
        return incoming.pop(0) if incoming else {"type": "lifespan.shutdown"}

    async def send(message: dict) -> None:
        sent.append(message)

    try:
        await app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)
    except BaseException:  # Starlette re-raises after it sent startup.failed, as uvicorn expects
        pass
    return sent


def test_a_refused_database_at_start_up_is_one_line_without_the_password(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=REFUSED_URL, secret_key=TEST_SECRET_KEY, attachments_dir=str(tmp_path)))
    sent = asyncio.run(_start(app))
    failed = [m for m in sent if m["type"] == "lifespan.startup.failed"]
    assert len(failed) == 1, sent
    line = failed[0]["message"]
    assert "\n" not in line and "Traceback" not in line
    assert line.startswith("cannot open the database at postgresql+psycopg://hub:***@127.0.0.1:1/hub: ")
    assert "secret-password" not in line and "ASSESSMENT_HUB_DATABASE_URL" in line


def test_any_other_start_up_failure_keeps_its_traceback() -> None:
    @asynccontextmanager
    async def broken(app):
        raise RuntimeError("a fault in start-up")
        yield

    router = Starlette(lifespan=broken).router
    sent = asyncio.run(_start(one_line_refusals(router.lifespan)))
    failed = [m for m in sent if m["type"] == "lifespan.startup.failed"]
    assert len(failed) == 1 and "Traceback" in failed[0]["message"] and "a fault in start-up" in failed[0]["message"]


def test_the_supervised_serve_exits_2_with_one_line_after_its_serving_and_console_lines(tmp_path: Path) -> None:
    """``serve`` on PostgreSQL runs as ``assessment_hub.supervise`` after its own checks; started here directly,
    as ``serve`` execs it, against a database that refuses every connection (no worker: the API alone)."""
    port = free_port()
    env = dict(
        os.environ,
        ASSESSMENT_HUB_DATABASE_URL=REFUSED_URL,
        ASSESSMENT_HUB_SECRET_KEY=TEST_SECRET_KEY,
        ASSESSMENT_HUB_ATTACHMENTS_DIR=str(tmp_path / "attachments"),
    )
    console = f"assessment-hub console http://127.0.0.1:{port}/console"
    args = ["127.0.0.1", str(port), "1", "0", "5", "postgresql+psycopg://hub:***@127.0.0.1:1/hub", console]
    done = subprocess.run(
        [sys.executable, "-m", "assessment_hub.supervise", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, (done.stdout, done.stderr)
    out = done.stdout.splitlines()
    assert out[0].startswith("assessment-hub serving http://") and out[1] == console  # in that order
    assert "Traceback" not in done.stderr and "secret-password" not in done.stderr
    refusals = [ln for ln in done.stderr.splitlines() if "cannot open the database at" in ln]
    assert len(refusals) == 1, done.stderr
    assert len(done.stderr.splitlines()) <= 3, done.stderr  # that line and uvicorn's "startup failed. Exiting."
