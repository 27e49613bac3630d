"""The operator console over HTTP (no browser): the session cookie, CSRF, headers, secrets shown once,
the order listing's keyset pages, the preview's masking, the development admin key.

The browser walks the pages in tests/test_console_browser.py.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from assessment_hub.admin.keys import create_development_admin_key
from assessment_hub.assessment.browse import browse_orders
from assessment_hub.assessment.models import OrderRow
from assessment_hub.config import Settings
from assessment_hub.console.auth import COOKIE, issue_cookie, read_cookie
from assessment_hub.db.session import unit_of_work
from assessment_hub.delivery.requests import mask_header, request_view
from assessment_hub.errors import InputInvalid
from assessment_hub.kit.timestamps import utcnow
from tests.support import ADMIN_KEY, Hub, Tenant, in_process_hub
from tests.test_input_edges import CRAFTED_CURSORS, crafted_cursor

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@contextmanager
def signed_in(hub: Hub, key: str = ADMIN_KEY) -> Iterator[httpx.Client]:
    with hub.http(follow_redirects=False) as client:
        response = client.post("/console/login", data={"admin_key": key, "next": "/console"})
        assert response.status_code == 303, response.text
        yield client


def token(client: httpx.Client, page: str = "/console/api-keys") -> str:
    return CSRF.search(client.get(page).text).group(1)


def test_the_session_cookie_is_httponly_strict_scoped_and_signed(hub: Hub) -> None:
    with hub.http(follow_redirects=False) as client:
        response = client.post("/console/login", data={"admin_key": ADMIN_KEY})
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Path=/console" in cookie and "Secure" not in cookie  # the hub is http here
    value = cookie.split(";")[0].split("=", 1)[1]
    payload, signature = value.split(".")
    with hub.http(follow_redirects=False, cookies={COOKIE: value}) as client:
        assert client.get("/console").status_code == 200
    for forged in (f"{payload}.{signature[:-2]}xx", f"{payload[:-2]}xx.{signature}", "nonsense", ""):
        with hub.http(follow_redirects=False, cookies={COOKIE: forged}) as client:
            refused = client.get("/console/orders")
            assert refused.status_code == 303 and refused.headers["location"].startswith("/console/login")


def test_a_cookie_is_secure_behind_https_and_expires(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'x.db'}", admin_api_key="k", public_base_url="https://hub.example"
    )
    from assessment_hub.console.auth import cookie_options

    assert cookie_options(settings)["secure"] is True
    value, _ = issue_cookie(settings, "fingerprint", now=time.time() - 13 * 3600)  # issued 13 h ago: expired
    assert read_cookie(settings, "fingerprint", value) is None
    fresh, session = issue_cookie(settings, "fingerprint")
    assert read_cookie(settings, "fingerprint", fresh) == session
    assert read_cookie(settings, "another admin key", fresh) is None  # a new admin key signs everyone out


def test_a_vendor_key_is_no_console_credential_and_the_console_cookie_no_vendor_one(hub: Hub, tenant: Tenant) -> None:
    with hub.http(follow_redirects=False, headers={"Authorization": f"Bearer {tenant.api_key}"}) as client:
        assert client.get("/console").status_code == 303  # to the sign-in page
        assert client.post("/console/login", data={"admin_key": tenant.api_key}).status_code == 401
    with signed_in(hub) as client:
        cookie = client.cookies.get(COOKIE)
    with hub.http("/v1", cookies={COOKIE: cookie}, headers={"X-Integration-Id": tenant.integration_id}) as api:
        assert api.get("/assessment/orders").status_code == 401


def test_every_page_has_the_csp_and_no_inline_script(hub: Hub, tenant: Tenant) -> None:
    order_id = tenant.create_order("1001")
    pages = [
        "/console/login",
        "/console",
        "/console/integrations",
        f"/console/integrations/{tenant.integration_id}",
        "/console/integrations/new?tool=teamtailor",
        "/console/orders",
        f"/console/orders/{order_id}",
        "/console/deliveries",
        "/console/webhooks",
        "/console/api-keys",
        f"/console/sandbox/{tenant.integration_id}",
        "/console/orders/no-such-order",
    ]
    with signed_in(hub) as client:
        for page in pages:
            response = client.get(page)
            assert response.status_code in (200, 404), (page, response.status_code)
            csp = response.headers["content-security-policy"]
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
            assert response.headers["x-frame-options"] == "DENY"
            scripts = re.findall(r"<script\b[^>]*>", response.text)
            assert scripts and all("src=" in s for s in scripts), (page, scripts)
            assert not re.search(r"\son[a-z]+=", response.text), page  # no inline event handlers
            assert 'style="' not in response.text, page
        assert client.get("/console/orders/no-such-order").status_code == 404
        htmx = client.get("/console/static/htmx.min.js")
        assert htmx.status_code == 200 and htmx.text.startswith("var htmx=")
        assert client.get("/console/static/../routes.py").status_code == 404


def test_secrets_are_shown_once_at_creation_only(hub: Hub) -> None:
    with signed_in(hub) as client:
        csrf = token(client)
        created = client.post(
            "/console/integrations/new",
            data={
                "csrf_token": csrf,
                "tool": "teamtailor",
                "organization_name": "Secret Org",
                "setting_api_key": "tt-partner-key-123456",
                "setting_webhook_secret": "tt-webhook-secret-9876",
            },
        )
        assert created.status_code == 200, created.text
        provider_key = re.search(r"ttpk_[A-Za-z0-9_-]+", created.text).group(0)
        integration_id = re.search(r'id="integration-id">([^<]+)<', created.text).group(1)
        assert "tt-partner-key-123456" not in created.text  # given by the operator: never echoed
        page = client.get(f"/console/integrations/{integration_id}").text
        for secret in (provider_key, "tt-partner-key-123456", "tt-webhook-secret-9876"):
            assert secret not in page
        assert "shown once, at creation" in page and "api_key" in page

        key_page = client.post("/console/api-keys", data={"csrf_token": csrf, "name": "once"}).text
        key = re.search(r'id="new-key">(ahk_\w+)<', key_page).group(1)
        assert key not in client.get("/console/api-keys").text

        hook = client.post("/console/webhooks", data={"csrf_token": csrf, "url": "https://vendor.example/h"}).text
        secret = re.search(r'id="new-secret">(whsec_[^<]+)<', hook).group(1)
        assert secret not in client.get("/console/webhooks").text
        endpoint_id = re.search(r'action="/console/webhooks/(\w+)/test"', hook).group(1)
        # the hub is shared: an endpoint left behind would get every later test's events
        deleted = client.post(f"/console/webhooks/{endpoint_id}/delete", data={"csrf_token": csrf})
        assert deleted.status_code == 303 and endpoint_id not in client.get("/console/webhooks").text


def test_a_refused_form_changes_nothing(hub: Hub) -> None:
    with signed_in(hub) as client:
        before = client.get("/console/api-keys").text.count("<tr>")
        assert client.post("/console/api-keys", data={"name": "no-token"}).status_code == 403
        assert client.post("/console/api-keys", data={"csrf_token": "x" * 43, "name": "bad"}).status_code == 403
        other_site = client.post(
            "/console/api-keys",
            data={"csrf_token": token(client), "name": "elsewhere"},
            headers={"Origin": "https://evil.example"},
        )
        assert other_site.status_code == 403
        assert client.get("/console/api-keys").text.count("<tr>") == before
    with hub.http(follow_redirects=False) as anonymous:  # no session at all: to the sign-in page
        assert anonymous.post("/console/api-keys", data={"name": "anon"}).status_code == 303


def test_orders_pages_newest_first_with_keyset_cursors(hub: Hub, tenant: Tenant) -> None:
    ids = [tenant.create_order("1001") for _ in range(7)]
    # distinct instants, two orders sharing one (the id breaks the tie); in the future, so that these are the
    # newest orders of the shared test database and the cross-integration listing's first page holds them
    base = utcnow() + timedelta(days=3)
    with unit_of_work(hub.sessions) as session:
        for n, order_id in enumerate(ids):
            at = base + timedelta(seconds=min(n, 5))
            session.execute(update(OrderRow).where(OrderRow.id == order_id).values(created_at=at))
    expected = sorted(ids, key=lambda i: (min(ids.index(i), 5), i), reverse=True)
    seen, cursor = [], None
    with hub.sessions() as session:
        while True:
            page = browse_orders(session, integration_id=tenant.integration_id, cursor=cursor, page_size=3)
            seen += [o.id for o in page.orders]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert seen == expected
        everyone = browse_orders(session, page_size=200)
        assert [o.id for o in everyone.orders if o.id in ids] == expected
        assert browse_orders(session, search=ids[2]).orders[0].id == ids[2]
        assert browse_orders(session, integration_id=tenant.integration_id, status="COMPLETED").orders == []
        with pytest.raises(InputInvalid):
            browse_orders(session, cursor="not-a-cursor")
        with pytest.raises(InputInvalid):
            browse_orders(session, status="DONE")


@pytest.mark.parametrize("parts", CRAFTED_CURSORS)
def test_the_console_answers_a_crafted_cursor_with_its_400_page(hub: Hub, parts: list) -> None:
    with signed_in(hub) as client:
        response = client.get("/console/orders", params={"cursor": crafted_cursor(parts)})
    assert response.status_code == 400, response.text
    assert "cursor" in response.text


def test_the_preview_masks_credentials_but_not_the_body() -> None:
    assert mask_header("Authorization", "Basic dXNlcjo=") == "Basic ****"
    assert mask_header("Authorization", "opaque") == "****"
    assert mask_header("X-Api-Key", "k") == "****" and mask_header("X-Kombo-Signature", "s") == "****"
    assert mask_header("Content-Type", "application/json") == "application/json"
    with httpx.Client() as http:
        request = http.build_request(
            "PUT", "https://ats.example/r/1", content=b'{"a": "\xc3\xa9"}', headers={"Authorization": "Bearer t0k3n"}
        )
    view = request_view(request)
    assert view.body == b'{"a": "\xc3\xa9"}' and ("Authorization", "Bearer ****") in view.headers
    assert "t0k3n" not in view.as_text() and view.as_text().startswith("PUT https://ats.example/r/1\n")


def test_the_development_admin_key_signs_in_and_opens_the_admin_api(tmp_path: Path) -> None:
    from sqlalchemy.orm import sessionmaker

    from assessment_hub.db.engine import build_engine
    from assessment_hub.db.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'dev.db'}"
    settings = Settings(database_url=url)
    engine = build_engine(settings)
    upgrade(engine)
    with unit_of_work(sessionmaker(engine)) as session:
        key = create_development_admin_key(session)
    engine.dispose()
    with in_process_hub(url, tmp_path, admin_api_key=None) as hub:
        with signed_in(hub, key) as client:
            assert client.get("/console").status_code == 200
        with hub.http("/admin", headers={"Authorization": f"Bearer {key}"}) as admin:
            assert admin.get("/integrations").status_code == 200
        with hub.http(follow_redirects=False) as client:
            assert client.post("/console/login", data={"admin_key": key + "x"}).status_code == 401
    production = {"admin_api_key": None, "environment": "production", "secret_key": _fernet()}
    with (
        in_process_hub(url, tmp_path, **production) as prod,
        prod.http("/admin", headers={"Authorization": f"Bearer {key}"}) as admin,
    ):
        assert admin.get("/integrations").status_code == 401  # production takes only a configured key


def _fernet() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()
