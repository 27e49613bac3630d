"""The console's order page holds one database connection per request, whatever the order's connector.

The page reads through the request's read session and builds the write-back preview with the connector's
own ``result_request``; Ashby's reads the revision timestamps through the context's session factory. Were
that factory the app's (a second pool checkout while the page's connection is still held), each request
would take two connections, and N concurrent pages on a pool of N would each hold one and wait for a second.
Counted with the pool's ``checkout``/``checkin`` events around one GET of the page, for an order of every
registered connector with a result; and, on PostgreSQL, the page answering on a pool of 1 without overflow.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.orm import sessionmaker
from starlette.testclient import TestClient

from assessment_hub.app import create_app
from assessment_hub.assessment import intake
from assessment_hub.config import Settings
from assessment_hub.connecting import create_integration
from assessment_hub.connectors.registry import CONNECTORS
from assessment_hub.connectors.sandbox.orders import fake_order_data
from assessment_hub.db.engine import build_engine
from assessment_hub.db.migrate import upgrade
from assessment_hub.db.session import unit_of_work
from assessment_hub.integrations.service import create_api_key
from tests.conftest import POSTGRES_URL
from tests.support import ADMIN_KEY, IN_PROCESS_URL, hub_settings

RESULT = {"status": "COMPLETED", "result_url": "https://vendor.example/r/1", "score": 7, "max_score": 10}


class PoolUse:
    """Checkouts of an engine's pool, and the most connections checked out at once, while counting."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counting = False
        self.checkouts = self.held = self.peak = 0

    def checkout(self, *_: Any) -> None:
        with self._lock:
            if self.counting:
                self.checkouts += 1
                self.held += 1
                self.peak = max(self.peak, self.held)

    def checkin(self, *_: Any) -> None:
        with self._lock:
            if self.counting and self.held:
                self.held -= 1

    @contextmanager
    def count(self) -> Iterator[PoolUse]:
        self.checkouts = self.held = self.peak = 0
        self.counting = True
        try:
            yield self
        finally:
            self.counting = False


REMOTE_DATA: dict[str, dict[str, Any]] = {
    "ashby": {},
    "greenhouse": {"url": "https://app.greenhouse.io/tests/1"},
    "lever": {"hub": {"opportunity_id": "opp-1"}},
    "recruitee": {"report_id": "42"},
    "teamtailor": {"hub": {"partner_result_id": "r-1"}},
    "workable": {"callback_url": "https://www.workable.com/callbacks/1"},
}
"""What each ATS sent with an order that its connector addresses the write-back with (SmartRecruiters' preview
would fetch an OAuth token from smartrecruiters.com, so its order has none: its preview names what is missing;
the sandbox keeps its write-backs inside the hub)."""
PREVIEW = re.compile(r"(?s)<h2 id=\"preview-heading\">Write-back preview</h2>(.*?)</section>")


def _settings_for(tool: str) -> dict[str, str]:
    """Each required setting given (the preview needs no ATS: nothing is sent); Workable's token too."""
    given = {field.name: f"test-{field.name}" for field in CONNECTORS[tool].setting_fields if field.required}
    return given | ({"api_token": "test-token"} if tool == "workable" else {})


@contextmanager
def console(settings: Settings) -> Iterator[tuple[httpx.Client, Any, PoolUse]]:
    """The hub without its delivery worker (nothing else uses the pool), a signed-in console client, the
    app's state and the counter on the app's main engine."""
    engine = build_engine(settings)
    upgrade(engine)
    engine.dispose()
    app = create_app(settings, worker=False)
    with TestClient(app, base_url=IN_PROCESS_URL, raise_server_exceptions=False) as client:
        use = PoolUse()
        event.listen(app.state.engine, "checkout", use.checkout)
        event.listen(app.state.engine, "checkin", use.checkin)
        signed = client.post("/console/login", data={"admin_key": ADMIN_KEY}, follow_redirects=False)
        assert signed.status_code == 303, signed.text
        yield client, app.state, use


def order_with_result(client: httpx.Client, state: Any, tool: str) -> str:
    """An order of a fresh ``tool`` integration, with a COMPLETED result put through the vendor API."""
    with unit_of_work(state.sessions) as session:
        key = create_api_key(session, "test")
        integration = create_integration(
            session, tool, "Org", settings=_settings_for(tool), cipher=state.settings.cipher
        ).id
    headers = {"Authorization": f"Bearer {key}", "X-Integration-Id": integration}
    package = {"id": "p1", "type": "SKILLS_TEST", "name": "Test", "description": "d"}
    published = client.put("/v1/assessment/packages", json={"packages": [package]}, headers=headers)
    assert published.status_code == 200, published.text
    with unit_of_work(state.sessions) as session:
        order_id = intake.create_order(
            session, integration, "p1", fake_order_data(7), remote_data=REMOTE_DATA.get(tool)
        ).id
    put = client.put(f"/v1/assessment/orders/{order_id}/result", json=RESULT, headers=headers)
    assert put.status_code == 200, put.text
    return order_id


@pytest.fixture(scope="module", params=["sqlite"] + (["postgres"] if POSTGRES_URL else []))
def page_hub(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.support import temporary_postgres_database

    tmp = tmp_path_factory.mktemp("console-connections")
    if request.param == "sqlite":
        with console(hub_settings(f"sqlite:///{tmp / 'hub.db'}", tmp)) as hub:
            yield hub
    else:
        assert POSTGRES_URL
        with temporary_postgres_database(POSTGRES_URL) as url, console(hub_settings(url, tmp)) as hub:
            yield hub


@pytest.mark.parametrize("tool", sorted(CONNECTORS))
def test_the_order_page_takes_one_connection_whatever_the_connector(page_hub: Any, tool: str) -> None:
    client, state, use = page_hub
    order_id = order_with_result(client, state, tool)
    with use.count():
        page = client.get(f"/console/orders/{order_id}")
    assert page.status_code == 200, page.text
    preview = PREVIEW.search(page.text)
    assert preview is not None, page.text
    if tool in REMOTE_DATA:  # the preview was built, through the connector's own code
        assert "Preview request line" in preview.group(1), preview.group(1)
    if tool == "ashby":  # its body carries the timestamp folded from the revisions, read through the factory
        assert "/assessment.update" in preview.group(1) and "timestamp" in preview.group(1)
    assert (use.checkouts, use.peak) == (1, 1), f"{tool}: {use.checkouts} checkouts, {use.peak} at once"


@contextmanager
def console_on_a_pool_of_one(tmp_path: Path) -> Iterator[tuple[httpx.Client, Any, PoolUse]]:
    """``console`` on a fresh PostgreSQL database whose main pool is one connection, no overflow, 1 s wait."""
    from tests.support import temporary_postgres_database

    assert POSTGRES_URL
    with temporary_postgres_database(POSTGRES_URL) as url:
        settings = hub_settings(url, tmp_path, db_pool_size=1, db_max_overflow=0, db_pool_timeout_s=1.0)
        with console(settings) as hub:
            yield hub


@pytest.mark.skipif(not POSTGRES_URL, reason="needs ASSESSMENT_HUB_TEST_POSTGRES_URL (SQLite's pool is fixed)")
def test_the_ashby_order_page_answers_on_a_pool_of_one(tmp_path: Path) -> None:
    with console_on_a_pool_of_one(tmp_path) as (client, state, _use):
        order_id = order_with_result(client, state, "ashby")
        page = client.get(f"/console/orders/{order_id}")
        assert page.status_code == 200, page.text
        assert "/assessment.update" in page.text  # the preview was built, its timestamps read


def test_the_counter_sees_a_second_connection(page_hub: Any) -> None:
    """The counter is no tautology: a second session opened while one is held is counted."""
    _client, state, use = page_hub
    factory: sessionmaker = state.read_sessions
    with use.count(), factory() as first, factory() as second:
        first.connection()
        second.connection()
    assert (use.checkouts, use.peak) == (2, 2)
