"""The embedded Connect flow in real headless Chromium with the official ``@kombo-api/connect`` library (npm):
a vendor's host page on its own loopback origin calls ``showKomboConnect(link)``, the customer works in the
library's sandboxed iframe, and the library's promise settles on the page's messages (kombo-connect.md).

Skipped, with the reason, where npm cannot install the library or chromium/playwright are missing.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kombo import models
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.responses import FileResponse
from starlette.routing import Route

from assessment_hub.integrations.models import IntegrationRow
from assessment_hub.signing import SIGNATURE_HEADER, verify_signature
from tests.browser import browser  # noqa: F401 -- the module fixture
from tests.connect_flow import change_link, integration_event, link_row, new_link
from tests.fakes.ashby import FakeAshby
from tests.receiver import VendorReceiver, vendor_receiver
from tests.support import Hub, Tenant, serve_in_thread

EMBED_DIR = Path(__file__).parent / "connect_embed"
LIBRARY = EMBED_DIR / "node_modules" / "@kombo-api" / "connect" / "dist" / "index.mjs"
ASHBY_KEY = "browser-ashby-key"
WAIT_MS = 15_000


@pytest.fixture(scope="session")
def embed_library() -> Path:
    if not LIBRARY.is_file():
        if not shutil.which("npm"):
            pytest.skip("npm is not installed: cannot install @kombo-api/connect")
        done = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--silent"],
            cwd=EMBED_DIR,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0 or not LIBRARY.is_file():
            pytest.skip(f"npm install of @kombo-api/connect failed: {done.stderr[-500:]}")
    return LIBRARY


@pytest.fixture(scope="session")
def host_url(embed_library: Path) -> Iterator[str]:
    """The vendor's app: ``/`` is the host page, ``/kombo-connect/index.mjs`` the library as npm installed it."""
    app = Starlette(
        routes=[
            Route("/", lambda _request: FileResponse(EMBED_DIR / "host.html")),
            Route(
                "/kombo-connect/index.mjs",
                lambda _request: FileResponse(embed_library, media_type="text/javascript"),
            ),
        ]
    )
    with serve_in_thread(app) as url:
        yield url


@pytest.fixture
def page(browser: Any, host_url: str) -> Iterator[Any]:  # noqa: F811 -- browser is the imported fixture
    context = browser.new_context()
    tab = context.new_page()
    tab.problems = []
    # script errors and CSP violations (a refused inline script or style is reported here); an answer such as the
    # 400 of a form with a wrong key is "Failed to load resource" and is not one
    tab.on(
        "console",
        lambda message: (
            message.type == "error"
            and not message.text.startswith("Failed to load resource")
            and tab.problems.append(message.text)
        ),
    )
    tab.on("requestfailed", lambda request: tab.problems.append(f"request failed: {request.url}"))
    tab.on("pageerror", lambda error: tab.problems.append(str(error)))
    tab.goto(host_url)
    tab.wait_for_function("window.ready === true", timeout=WAIT_MS)
    try:
        yield tab
    finally:
        context.close()


@pytest.fixture
def receiver(hub: Hub) -> Iterator[VendorReceiver]:
    with vendor_receiver(hub) as running:
        yield running


def open_connect(page: Any, link: str) -> Any:
    """Call ``showKomboConnect(link)`` on the host page; returns the iframe's frame locator."""
    page.evaluate("link => window.connect(link)", link)
    page.wait_for_selector("iframe", timeout=WAIT_MS)
    return page.frame_locator("iframe")


def outcome(page: Any) -> dict[str, Any]:
    page.wait_for_function("window.outcome !== null", timeout=WAIT_MS)
    return page.evaluate("window.outcome")


def integrations_of(hub: Hub, organization: str) -> list[IntegrationRow]:
    with hub.sessions() as session:
        return list(session.scalars(select(IntegrationRow).where(IntegrationRow.organization_name == organization)))


def test_sandbox_flow_resolves_with_the_activation_token(
    hub: Hub, tenant: Tenant, receiver: VendorReceiver, page: Any
) -> None:
    organization = "Browser Sandbox Co"
    link = new_link(tenant, organization, end_user_origin_id="crm-7")
    frame = open_connect(page, link)
    iframe = page.locator("iframe")
    assert "sdkv=1.3.0" in iframe.get_attribute("src")
    assert "allow-scripts" in iframe.get_attribute("sandbox")

    frame.locator("a[data-tool=sandbox]").click()
    frame.locator("#connect").click()
    frame.locator("#finish").click()

    settled = outcome(page)
    assert settled["resolved"] is True, settled
    assert page.locator("iframe").count() == 0  # the library removed it

    found = tenant.sdk().connect.get_integration_by_token(token=settled["token"])
    (integration,) = integrations_of(hub, organization)
    assert found.data.id == integration.id and found.data.end_user_origin_id == "crm-7"
    received = integration_event(receiver, "integration-created", integration.id)
    assert verify_signature(receiver.secret, received.raw, received.headers[SIGNATURE_HEADER.lower()])
    assert models.IntegrationCreatedWebhookPayload.model_validate_json(received.raw).data.id == integration.id
    assert page.problems == []  # no CSP violation, no script error


def test_ashby_flow_checks_the_key_then_shows_what_to_paste(
    hub: Hub, tenant: Tenant, receiver: VendorReceiver, page: Any
) -> None:
    organization = "Browser Ashby Co"
    link = new_link(tenant, organization, integration_tool="ashby")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=hub.base_url)
    with FakeAshby(api_key="unset", ashby_api_key=ASHBY_KEY) as ashby:
        from playwright.sync_api import expect

        frame = open_connect(page, link)
        frame.locator("#f-api_key").fill("a-wrong-key")
        frame.locator("#f-api_base_url").fill(ashby.api_base_url)
        frame.locator("#connect").click()
        assert "Ashby refused this API key" in frame.locator(".error").inner_text(timeout=WAIT_MS)
        assert integrations_of(hub, organization) == []

        frame.locator("#f-api_key").fill(ASHBY_KEY)
        frame.locator("#connect").click()
        base_url = frame.locator("input[data-key=base_url]").input_value(timeout=WAIT_MS)
        api_key = frame.locator("input[data-key=api_key]").input_value()
        copy = frame.locator("button[data-copy=v-api_key]")
        copy.click()
        expect(copy).to_have_text("Copied", timeout=WAIT_MS)  # the clipboard answers asynchronously
        frame.locator("#finish").click()

        settled = outcome(page)
        assert settled["resolved"] is True, settled
        (integration,) = integrations_of(hub, organization)
        assert tenant.sdk().connect.get_integration_by_token(token=settled["token"]).data.id == integration.id
        assert integration_event(receiver, "integration-created", integration.id)
        ashby.base_url, ashby.api_key = base_url, api_key  # pasted into Ashby: Ashby can call the hub
        assert ashby.list_assessments() == []
    assert page.problems == []


def test_closing_rejects_with_the_cancelled_error_and_creates_nothing(hub: Hub, tenant: Tenant, page: Any) -> None:
    organization = "Browser Cancel Co"
    link = new_link(tenant, organization)
    frame = open_connect(page, link)
    frame.locator("a[data-tool=ashby]").click()
    frame.locator("button.close").click()
    settled = outcome(page)
    assert settled == {
        "resolved": False,
        "name": "KomboConnectCancelledError",
        "cancelled": True,
        "message": "The user cancelled the flow!",
    }
    assert page.locator("iframe").count() == 0
    assert integrations_of(hub, organization) == []
    assert link_row(hub, link).used_at is None


def test_expired_link_in_the_iframe_says_so_and_closes(hub: Hub, tenant: Tenant, page: Any) -> None:
    from datetime import timedelta

    from assessment_hub.kit.timestamps import utcnow

    link = new_link(tenant, "Browser Expired Co")
    change_link(hub, link, expires_at=utcnow() - timedelta(seconds=1))
    frame = open_connect(page, link)
    assert frame.locator("h1").inner_text(timeout=WAIT_MS) == "This link has expired"
    frame.locator("main button[data-close]").click()
    assert outcome(page)["cancelled"] is True


def test_magic_link_opened_directly_shows_the_connection_done(hub: Hub, tenant: Tenant, browser: Any) -> None:  # noqa: F811
    organization = "Browser Magic Co"
    link = new_link(tenant, organization, link_type="MAGIC_LINK", integration_tool="sandbox")
    context = browser.new_context()
    try:
        tab = context.new_page()
        tab.goto(link)
        assert not tab.locator("header button.close").is_visible()  # nothing to close outside an iframe
        tab.locator("#connect").click()
        tab.wait_for_url("**/done", timeout=WAIT_MS)
        assert tab.locator("h1").inner_text() == "Assessment Hub Sandbox is connected"
        assert tab.locator(".done-note").is_visible()
        assert not tab.locator("#finish").is_visible()
    finally:
        context.close()
    assert len(integrations_of(hub, organization)) == 1


def test_frame_ancestors_setting_decides_who_may_embed_the_page(
    browser: Any,  # noqa: F811
    host_url: str,
    tmp_path: Path,
) -> None:
    from tests.support import running_hub

    def framed_title(ancestors: str) -> str | None:
        """The connect page's title as the host page's iframe shows it, None when the browser refused to frame it."""
        with running_hub(f"sqlite:///{tmp_path / 'framing.db'}", tmp_path, connect_frame_ancestors=ancestors) as hub:
            link = new_link(hub.new_tenant(), "Framing Co")
            context = browser.new_context()
            try:
                tab = context.new_page()
                tab.goto(host_url)
                tab.wait_for_function("window.ready === true", timeout=WAIT_MS)
                tab.evaluate("link => window.connect(link)", link)
                tab.wait_for_selector("iframe", timeout=WAIT_MS)
                (frame,) = [f for f in tab.frames if f != tab.main_frame]
                frame.wait_for_load_state("load", timeout=WAIT_MS)
                if not frame.url.startswith(hub.base_url):  # Chromium put its own error page there
                    return None
                return frame.locator("h1").inner_text(timeout=WAIT_MS)
            finally:
                context.close()

    assert framed_title(f"https://app.vendor.example {host_url}") == "Which ATS do you use?"
    assert framed_title("https://app.vendor.example") is None
