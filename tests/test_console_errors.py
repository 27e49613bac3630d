"""The console's own error pages for what no route handles: a database problem (503 without a free connection,
429 while SQLite's write lock is held, each with ``Retry-After``) and a fault (500) answer as the console's
HTML error page with its security headers (docs/console.md), while the vendor and admin APIs keep answering
the same troubles with the Kombo JSON envelope. Real requests to a hub in this process, its database made to
fail for real: a PostgreSQL pool of 1 without overflow whose connection is held, a SQLite write lock taken
by another connection, a corrupt JSON document in the orders table."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from assessment_hub.console.web import CSP
from tests.conftest import POSTGRES_URL
from tests.support import ADMIN_KEY, hub_settings
from tests.test_console import token
from tests.test_console_connections import console, console_on_a_pool_of_one, order_with_result


def assert_console_error(page: httpx.Response, status: int, retry_after: str | None, words: str) -> None:
    assert page.status_code == status, page.text
    assert page.headers["content-type"].startswith("text/html"), page.headers
    assert page.headers["Content-Security-Policy"] == CSP
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers.get("Retry-After") == retry_after
    assert "<h1>" in page.text and words in page.text, page.text
    assert '"status"' not in page.text  # no JSON envelope inside


def assert_envelope(response: httpx.Response, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["status"] == "error" and words in body["error"]["message"], body


@pytest.mark.skipif(not POSTGRES_URL, reason="needs ASSESSMENT_HUB_TEST_POSTGRES_URL (SQLite's pool is fixed)")
def test_without_a_free_connection_the_console_answers_an_html_503(tmp_path: Path) -> None:
    with console_on_a_pool_of_one(tmp_path) as (client, state, _use):
        order_id = order_with_result(client, state, "sandbox")
        csrf = token(client)
        with state.engine.connect() as held:
            held.execute(text("SELECT 1"))  # the pool's only connection, taken
            page = client.get(f"/console/orders/{order_id}")
            form = client.post("/console/api-keys", data={"name": "x", "csrf_token": csrf})
            admin = client.get("/admin/integrations", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
        assert_console_error(page, 503, "2", "no free database connection")
        assert_console_error(form, 503, "2", "no free database connection")
        assert_envelope(admin, 503, "no free database connection")
        assert admin.headers["Retry-After"] == "2"
        assert client.get(f"/console/orders/{order_id}").status_code == 200  # released: served again
        assert "<td>x</td>" not in client.get("/console/api-keys").text  # the refused form stored nothing


def test_a_held_sqlite_write_lock_gets_an_html_429_and_a_fault_an_html_500(
    tmp_path: Path, capfd: pytest.CaptureFixture
) -> None:
    db = tmp_path / "hub.db"
    settings = hub_settings(f"sqlite:///{db}", tmp_path, sqlite_busy_timeout_ms=200)
    with console(settings) as (client, state, _use):
        order_id = order_with_result(client, state, "sandbox")
        csrf = token(client)
        locker = sqlite3.connect(db, isolation_level=None)
        locker.execute("BEGIN IMMEDIATE")  # another writer holds SQLite's write lock
        try:
            busy = client.post("/console/api-keys", data={"name": "ops", "csrf_token": csrf})
        finally:
            locker.execute("ROLLBACK")
        assert_console_error(busy, 429, "1", "busy")
        assert "<td>ops</td>" not in client.get("/console/api-keys").text

        with state.engine.begin() as conn:  # a corrupt document: reading the order raises a JSON decode error
            conn.execute(text("UPDATE orders SET candidate = '{not json' WHERE id = :id"), {"id": order_id})
        capfd.readouterr()
        fault = client.get(f"/console/orders/{order_id}")
        assert_console_error(fault, 500, None, "server log")
        logged = capfd.readouterr().err
        assert "unhandled_error" in logged and "Traceback" in logged and "JSONDecodeError" in logged, logged
        assert "not json" not in fault.text  # nothing of the exception reaches the page


def test_a_console_path_no_route_answers_is_an_html_page_too(tmp_path: Path) -> None:
    """A path under /console that no route answers (404), or a method a console route does not take (405), is
    the console's HTML error page with its headers; elsewhere the same is the JSON envelope. Before, both were
    the envelope: Starlette's router answers them before any console route runs (a fresh-eyes trial)."""
    settings = hub_settings(f"sqlite:///{tmp_path / 'hub.db'}", tmp_path)
    with console(settings) as (client, _state, _use):
        assert_console_error(client.get("/console/no-such-page"), 404, None, "No route GET /console/no-such-page")
        assert_console_error(client.delete("/console/api-keys"), 405, None, "DELETE is not allowed")
        assert_envelope(client.get("/v1/no-such-route"), 404, "No route GET /v1/no-such-route")
        assert_envelope(client.get("/consoles"), 404, "No route GET /consoles")
