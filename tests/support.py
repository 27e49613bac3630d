"""Test support: a hub in-process or live on loopback, databases, the project's test data, and builders.

Two ways to run a hub, with the same ``Hub``/``Tenant`` helpers:
- ``in_process_hub``: the ASGI app driven by Starlette's ``TestClient`` (its lifespan runs, so the
  delivery worker thread runs too); clients from ``Hub.http()`` send requests straight into the app over
  one shared event loop. Nothing listens on a port: ``base_url`` is ``IN_PROCESS_URL``, which no socket
  reaches, so a test that needs a real socket fails loudly instead of passing by accident.
- ``running_hub``: the same app served by uvicorn on a free loopback port (tests marked ``live``).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from assessment_hub.app import create_app
from assessment_hub.config import Settings
from assessment_hub.db.engine import build_engine
from assessment_hub.db.migrate import upgrade
from assessment_hub.db.session import unit_of_work

DATA = Path(__file__).resolve().parent / "data"
"""The project's own test data: ``cases/*.json`` (bug inputs, copied byte for byte from the team's cases)."""
IN_PROCESS_URL = "http://testserver"
"""The base URL of an in-process hub (Starlette's test host; not resolvable, never a socket)."""
ADMIN_KEY = "test-admin-key"
"""The admin key of every hub started by ``running_hub`` (unless overridden)."""
TEST_SECRET_KEY = "q1X3bQeVJ0dWv0mJr2b5m3nN6G0m7a1x9cQ0V9oUw8Q="
"""The secret key of the test suite's PostgreSQL databases (PostgreSQL needs one set; a SQLite database's key
is generated in the key file beside it at the first start, as in a real installation)."""


def key_env(database_url: str) -> dict[str, str]:
    """The environment a hub command needs beside ``ASSESSMENT_HUB_DATABASE_URL`` for the secret key."""
    return {} if database_url.startswith("sqlite") else {"ASSESSMENT_HUB_SECRET_KEY": TEST_SECRET_KEY}


def key_settings(database_url: str) -> dict[str, str]:
    """``Settings`` keyword arguments for the secret key of ``database_url`` (see ``key_env``)."""
    return {} if database_url.startswith("sqlite") else {"secret_key": TEST_SECRET_KEY}


def load_case(name: str) -> dict[str, Any]:
    """The case ``tests/data/cases/<name>.json`` as JSON."""
    return json.loads((DATA / "cases" / f"{name}.json").read_text(encoding="utf-8"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve_in_thread(app: Any, *, start_timeout: float = 20.0, **config: Any) -> Iterator[str]:
    """Run an ASGI app with uvicorn (more ``uvicorn.Config`` options in ``config``) on a free loopback port;
    yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", **config)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def temporary_postgres_database(admin_url: str) -> Iterator[str]:
    """Create an empty PostgreSQL database for one test run and drop it afterwards."""
    admin = make_url(admin_url).set(drivername="postgresql+psycopg")
    name = f"ahub_test_{uuid.uuid4().hex[:10]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


class InProcessTransport(httpx.BaseTransport):
    """An httpx transport into an app entered in a ``TestClient``: every client built on it shares the
    client's event loop and the app's lifespan state; closing a client leaves the transport usable."""

    def __init__(self, client: TestClient) -> None:
        self._client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._client._transport.handle_request(request)


@dataclass
class Hub:
    """A running hub: its base URL, settings and a session factory on the same database; ``transport``
    is set for an in-process hub (``None``: a live server on loopback)."""

    base_url: str
    settings: Settings
    sessions: sessionmaker[Session]
    backend: str
    transport: httpx.BaseTransport | None = None

    @property
    def api_url(self) -> str:
        return self.base_url + "/v1"

    @property
    def live(self) -> bool:
        return self.transport is None

    def http(self, path: str = "", **kwargs: Any) -> httpx.Client:
        """An HTTP client on ``base_url + path`` (``"/v1"``, ``"/admin"``): over loopback to a live hub,
        straight into the app for an in-process one. ``kwargs`` go to ``httpx.Client`` (timeout 30 s)."""
        kwargs.setdefault("timeout", 30)
        return httpx.Client(base_url=self.base_url + path, transport=self.transport, **kwargs)

    def kombo(self, api_key: str, integration_id: str | None = None) -> Any:
        """The official ``kombo`` SDK on this hub (for an in-process hub, with a ``Hub.http()`` client)."""
        from kombo import Kombo

        return Kombo(
            api_key=api_key,
            integration_id=integration_id,
            server_url=self.api_url,
            timeout_ms=30_000,
            client=None if self.live else self.http(),
        )

    def new_tenant(self, tool: str = "sandbox", settings: dict[str, Any] | None = None) -> Tenant:
        """A fresh API key and a ``tool`` integration with connector ``settings``."""
        from assessment_hub.connecting import create_integration
        from assessment_hub.integrations.service import create_api_key

        with unit_of_work(self.sessions) as session:
            key = create_api_key(session, "test")
            integration = create_integration(session, tool, "Test Org", settings=settings, cipher=self.settings.cipher)
        return Tenant(self, key, integration.id)


@dataclass
class Tenant:
    """An API key and one integration of it, with helpers to call the API and build data."""

    hub: Hub
    api_key: str
    integration_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}", "X-Integration-Id": self.integration_id}

    def client(self) -> httpx.Client:
        return self.hub.http("/v1", headers=self.headers)

    def sdk(self) -> Any:
        """The official ``kombo`` SDK as this tenant."""
        return self.hub.kombo(self.api_key, self.integration_id)

    def publish(self, *package_ids: str) -> None:
        with self.client() as client:
            response = client.put(
                "/assessment/packages",
                json={
                    "packages": [
                        {"id": pid, "type": "SKILLS_TEST", "name": f"Test {pid}", "description": "d"}
                        for pid in package_ids
                    ]
                },
            )
            assert response.status_code == 200, response.text

    def create_order(self, package_id: str = "1001", *, email: str | None = None, seed: int | None = None) -> str:
        from assessment_hub.connectors.sandbox.orders import create_sandbox_order

        with unit_of_work(self.hub.sessions) as session:
            return create_sandbox_order(session, self.integration_id, package_id, email=email, seed=seed).id

    def put_result(self, order_id: str, body: dict[str, Any]) -> httpx.Response:
        with self.client() as client:
            return client.put(f"/assessment/orders/{order_id}/result", json=body)

    def order(self, order_id: str) -> dict[str, Any]:
        with self.client() as client:
            response = client.get("/assessment/orders", params={"ids": order_id})
        assert response.status_code == 200, response.text
        (order,) = response.json()["data"]["results"]
        return order


def hub_settings(database_url: str, tmp: Path, **overrides: Any) -> Settings:
    """The settings of a test hub: private data_url hosts allowed, admin key ``ADMIN_KEY``, fast retries."""
    defaults: dict[str, Any] = {
        "attachments_dir": tmp / "attachments",
        "allow_private_network": True,
        "max_body_bytes": 8 * 1024 * 1024,
        "admin_api_key": ADMIN_KEY,
        # Fast delivery for tests: retries within a second, quick timeouts, short leases.
        "retry_base_s": 0.2,
        "retry_cap_s": 1.0,
        "worker_poll_s": 0.05,
        "delivery_timeout_s": 1.5,
        "worker_lease_s": 5.0,
        "inline_timeout_s": 1.5,
        "needs_human_delay_s": 0.2,
        "needs_human_max_attempts": 2,
        # A revoked key or deactivated integration is seen within a second (production: 5 s).
        "lookup_cache_s": 1.0,
    }
    return Settings(database_url=database_url, **{**defaults, **key_settings(database_url), **overrides})


@contextmanager
def running_hub(database_url: str, tmp: Path, **overrides: Any) -> Iterator[Hub]:
    """A migrated database and a live hub (API and delivery worker) served by uvicorn on loopback;
    settings as ``hub_settings``."""
    settings = hub_settings(database_url, tmp, **overrides)
    engine = build_engine(settings)
    try:
        upgrade(engine)
        with serve_in_thread(create_app(settings, worker=True)) as base_url:
            yield Hub(base_url, settings, sessionmaker(engine, expire_on_commit=False), _backend(settings))
    finally:
        engine.dispose()


@contextmanager
def in_process_hub(database_url: str, tmp: Path, **overrides: Any) -> Iterator[Hub]:
    """A migrated database and the hub (API and delivery worker) in this process, no socket; settings as
    ``hub_settings``. An error the app does not turn into a response is a 500, as on a live server."""
    settings = hub_settings(database_url, tmp, **overrides)
    engine = build_engine(settings)
    try:
        upgrade(engine)
        app = create_app(settings, worker=True)
        with TestClient(app, base_url=IN_PROCESS_URL, raise_server_exceptions=False) as client:
            sessions = sessionmaker(engine, expire_on_commit=False)
            yield Hub(IN_PROCESS_URL, settings, sessions, _backend(settings), InProcessTransport(client))
    finally:
        engine.dispose()


def _backend(settings: Settings) -> str:
    return "sqlite" if settings.is_sqlite else "postgres"


def wait_until(predicate: Any, *, timeout: float = 15.0, interval: float = 0.05, what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


@contextmanager
def serve_process(database_url: str, tmp: Path, workers: str, **env: str) -> Iterator[str]:
    """``assessment-hub serve --workers N`` as a real process on a free port (``env``: more settings), its base
    URL once it answers; terminated afterwards."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "assessment_hub.cli", "serve", "--port", str(port), "--workers", workers],
        env={
            **os.environ,
            "ASSESSMENT_HUB_DATABASE_URL": database_url,
            **key_env(database_url),
            "ASSESSMENT_HUB_ATTACHMENTS_DIR": str(tmp / "att"),
            **env,
        },
        cwd=tmp,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:

        def answers() -> bool:
            try:
                return httpx.get(base_url + "/v1/check-api-key", timeout=2).status_code == 401
            except httpx.HTTPError:
                return False

        wait_until(answers, timeout=60, interval=0.2, what="serve to answer")
        yield base_url
    finally:
        server.terminate()
        server.wait(timeout=30)
