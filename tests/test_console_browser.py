"""The operator console in a real browser (Debian's chromium through Playwright; see tests/browser.py).

Pages are found by roles and labels, as an operator sees them. Each test saves screenshots (PNG) to
``$ASSESSMENT_HUB_SCREENSHOT_DIR`` (docs/console.md shows the ones in docs/console/) or a temporary
directory. Runs on every backend of the ``hub`` fixture.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from assessment_hub.assessment.service import create_order
from assessment_hub.db.session import unit_of_work
from assessment_hub.delivery.models import DeliveryAttemptRow, OutboxRow
from tests.browser import browser  # noqa: F401 -- the session fixture
from tests.fakes._base import Reply
from tests.fakes.ashby import FakeAshby
from tests.support import ADMIN_KEY, Hub, Tenant, wait_until

pytestmark = pytest.mark.browser

XSS = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    configured = os.environ.get("ASSESSMENT_HUB_SCREENSHOT_DIR")
    target = Path(configured) if configured else tmp_path_factory.mktemp("console-screenshots")
    target.mkdir(parents=True, exist_ok=True)
    return target


class Console:
    """A signed-in browser tab on the hub's console, recording console errors (a CSP violation is one)."""

    def __init__(self, page: Any, hub: Hub, shots: Path) -> None:
        self.page, self.hub, self.shots = page, hub, shots
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("dialog", self._dialog)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def goto(self, path: str) -> Any:
        return self.page.goto(self.hub.base_url + path)

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)

    def sign_in(self, key: str = ADMIN_KEY) -> None:
        self.goto("/console")
        self.page.get_by_label("Admin key").fill(key)
        self.page.get_by_role("button", name="Sign in").click()


@pytest.fixture
def console(browser: Any, hub: Hub, shots: Path) -> Iterator[Console]:  # noqa: F811 -- the imported fixture
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    tab = Console(context.new_page(), hub, shots)
    try:
        yield tab
    finally:
        context.close()
    assert not [e for e in tab.errors if "Content Security Policy" in e or "Refused to" in e], tab.errors


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def reload_until(console: Console, check: Any, what: str, timeout: float = 20.0) -> None:
    """Reload the page until ``check()`` holds (the operator pressing F5)."""

    def ready() -> bool:
        console.page.reload()
        return bool(check())

    wait_until(ready, timeout=timeout, interval=0.3, what=what)


def deliveries_of(hub: Hub, order_id: str) -> list[OutboxRow]:
    with hub.sessions() as session:
        return list(session.scalars(select(OutboxRow).where(OutboxRow.order_id == order_id).order_by(OutboxRow.id)))


def attempts_of(hub: Hub, outbox_id: int) -> list[DeliveryAttemptRow]:
    with hub.sessions() as session:
        return list(
            session.scalars(
                select(DeliveryAttemptRow)
                .where(DeliveryAttemptRow.outbox_id == outbox_id)
                .order_by(DeliveryAttemptRow.id)
            )
        )


def writeback(hub: Hub, order_id: str) -> OutboxRow:
    return [row for row in deliveries_of(hub, order_id) if row.kind == "writeback"][-1]


# ---------------------------------------------------------------- sign-in


def test_sign_in_refuses_a_wrong_key_and_accepts_the_admin_key(console: Console, tenant: Tenant) -> None:
    page = console.page
    console.goto("/console/orders")
    expect(page.get_by_role("heading", name="Sign in to the console")).to_be_visible()
    page.get_by_label("Admin key").fill(tenant.api_key)  # a vendor API key is not the admin key
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not the admin key")
    console.shot("login")

    page.get_by_label("Admin key").fill(ADMIN_KEY)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Orders", exact=True)).to_be_visible()  # back where it was going
    page.get_by_role("link", name="Overview").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.get_by_role("table").first).to_contain_text(tenant.integration_id)
    console.shot("overview")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to the console")).to_be_visible()
    console.goto("/console")
    expect(page.get_by_role("heading", name="Sign in to the console")).to_be_visible()


# ---------------------------------------------------------------- an order, from placement to write-back


def test_an_order_followed_from_placement_to_write_back(console: Console, hub: Hub, tenant: Tenant) -> None:
    page = console.page
    console.sign_in()
    console.goto(f"/console/sandbox/{tenant.integration_id}")
    page.get_by_label("Package").select_option("1001")
    email = f"ada-{uuid.uuid4().hex[:8]}@example.com"
    page.get_by_label("Candidate email (optional)").fill(email)
    console.shot("sandbox")
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_role("status")).to_contain_text("Order placed")
    heading = page.get_by_role("heading", level=1).inner_text()
    order_id = re.fullmatch(r"Order (\w+)", heading).group(1)
    facts = page.get_by_label("Order facts")
    expect(facts).to_contain_text("OPEN")
    expect(page.get_by_label("Candidate", exact=True)).to_contain_text(email)
    expect(page.get_by_role("heading", name="Result revisions (0)")).to_be_visible()

    response = tenant.put_result(
        order_id, {"status": "COMPLETED", "score": 87, "max_score": 100, "result_url": "https://vendor.example/r/1"}
    )
    assert response.status_code == 200, response.text
    received = page.get_by_role("table", name="Received by the sandbox ATS")
    reload_until(console, lambda: "COMPLETED" in received.inner_text(), "the sandbox ATS to show the result")
    expect(facts).to_contain_text("COMPLETED")
    expect(page.get_by_role("article", name="Revision 1")).to_contain_text("87")
    delivery = page.get_by_role("article", name=f"Delivery {writeback(hub, order_id).id}")
    expect(delivery).to_contain_text("succeeded")

    console.goto("/console/orders")
    page.get_by_label("Search").fill(email.upper())  # emails match whatever their case
    page.get_by_role("button", name="Filter").click()
    rows = page.get_by_role("table", name="Orders").get_by_role("row")
    expect(rows).to_have_count(2)  # the header and this order
    expect(rows.nth(1)).to_contain_text(order_id)
    console.shot("orders")


# ---------------------------------------------------------------- a dead delivery, retried from the page


def test_a_dead_delivery_is_retried_from_the_page_and_delivered(console: Console, hub: Hub, tenant: Tenant) -> None:
    page = console.page
    order_id = tenant.create_order("1001")
    console.sign_in()
    console.goto(f"/console/sandbox/{tenant.integration_id}")
    page.get_by_label("Outage mode").select_option("401")
    page.get_by_role("button", name="Set outage mode").click()
    expect(page.get_by_role("status")).to_contain_text("401")

    assert (
        tenant.put_result(
            order_id, {"status": "COMPLETED", "score": 3, "result_url": "https://v.example/3"}
        ).status_code
        == 200
    )
    dead = wait_until(
        lambda: (row := writeback(hub, order_id)).state == "dead" and row, timeout=20, what="the write-back to die"
    )
    console.goto("/console")
    attention = page.get_by_role("region", name="Needs a human")
    expect(attention).to_contain_text("dead delivery")
    expect(attention).to_contain_text("refuses the hub's credentials")
    console.shot("overview-attention")

    console.goto(f"/console/sandbox/{tenant.integration_id}")
    page.get_by_label("Outage mode").select_option("off")
    page.get_by_role("button", name="Set outage mode").click()

    console.goto(f"/console/deliveries?state=dead&integration={tenant.integration_id}")
    table = page.get_by_role("table", name="Deliveries")
    expect(table).to_contain_text("refused the hub's credentials")
    console.shot("deliveries")
    page.get_by_role("button", name=f"Retry delivery {dead.id}").click()
    expect(page.get_by_role("status")).to_contain_text(f"Delivery {dead.id} retried")
    wait_until(lambda: writeback(hub, order_id).state == "succeeded", timeout=20, what="the retried write-back")

    console.goto(f"/console/orders/{order_id}")
    delivery = page.get_by_role("article", name=f"Delivery {dead.id}")
    expect(delivery).to_contain_text("succeeded")
    attempts = delivery.get_by_role("table", name=f"Attempts of delivery {dead.id}")
    expect(attempts.get_by_role("row")).to_have_count(1 + len(attempts_of(hub, dead.id)))
    expect(attempts).to_contain_text("needs_human")
    expect(page.get_by_role("table", name="Received by the sandbox ATS")).to_contain_text("COMPLETED")


# ---------------------------------------------------------------- the write-back preview


class FlakyAshby(FakeAshby):
    """FakeAshby whose next ``fail_updates`` assessment.update calls answer 503."""

    fail_updates = 0

    def handle(self, rec: Any) -> Reply:
        if rec.path.endswith("/assessment.update") and self.fail_updates > 0:
            self.fail_updates -= 1
            reply = self.outage_reply()
            reply.reason = "flaky: 503"
            return reply
        return super().handle(rec)


def test_the_preview_is_what_the_ats_then_receives(console: Console, hub: Hub) -> None:
    """An order with 3 revisions whose last write-back failed twice before succeeding: the page shows all
    of it, and the preview's body equals, byte for byte, the body Ashby received."""
    with FlakyAshby(api_key="unset", ashby_api_key="ashby-key") as fake:
        tenant = hub.new_tenant(
            "ashby",
            settings={
                "api_key": "ashby-key",
                "api_base_url": fake.api_base_url,
                "allowed_callback_hosts": urlsplit(fake.api_base_url).netloc,
            },
        )
        setup = _setup(hub, tenant)
        fake.base_url, fake.api_key = setup["base_url"], setup["api_key"]
        tenant.publish("pkg-1")
        order_id = fake.start_assessment("pkg-1", candidate={"email": "grace@example.com"})["assessment_id"]
        for score in (40, 60):
            assert (
                tenant.put_result(
                    order_id, {"status": "OPEN", "score": score, "result_url": "https://v.example/g"}
                ).status_code
                == 200
            )
            wait_until(lambda s=score: len(fake.received) >= (1 if s == 40 else 2), timeout=15, what="a write-back")
        fake.fail_updates = 2
        body = {"status": "COMPLETED", "score": 91, "max_score": 100, "result_url": "https://v.example/g"}
        assert tenant.put_result(order_id, body).status_code == 200
        wait_until(lambda: len(fake.received) >= 3, timeout=20, what="the third write-back to succeed")

        page = console.page
        console.sign_in()
        console.goto(f"/console/orders/{order_id}")
        expect(page.get_by_role("heading", name="Result revisions (3)")).to_be_visible()
        for number in (1, 2, 3):
            expect(page.get_by_role("article", name=f"Revision {number}")).to_be_visible()
        expect(page.get_by_role("table", name="Changes in revision 3")).to_contain_text("COMPLETED")
        last = writeback(hub, order_id)
        attempts = page.get_by_role("table", name=f"Attempts of delivery {last.id}")
        outcomes = [row.get_by_role("cell").nth(2).inner_text() for row in attempts.get_by_role("row").all()[1:]]
        assert outcomes == ["retry", "retry", "succeeded"]
        expect(attempts).to_contain_text("503")
        preview = page.get_by_label("Preview body").inner_text()
        line = page.get_by_label("Preview request line").inner_text()
        headers = page.get_by_role("table", name="Preview headers").inner_text()
        console.shot("order")

        sent = fake.received[-1]
        assert preview.encode() == sent.body
        assert line == f"POST {fake.api_base_url}/assessment.update"
        assert "Basic ****" in headers and "ashby-key" not in page.content()
        assert sent.headers["authorization"].startswith("Basic ")


def _setup(hub: Hub, tenant: Tenant) -> dict[str, str]:
    from assessment_hub.connectors.ashby.connector import AshbyConnector
    from assessment_hub.connectors.inbound import integration_base_url
    from assessment_hub.integrations.models import IntegrationRow
    from assessment_hub.integrations.service import integration_settings

    with hub.sessions() as session:
        settings = integration_settings(session.get(IntegrationRow, tenant.integration_id), hub.settings.cipher)
    return AshbyConnector.setup(settings, integration_base_url(hub.base_url, tenant.integration_id))


# ---------------------------------------------------------------- safety


def test_a_script_in_a_candidate_name_is_shown_as_text(console: Console, hub: Hub, tenant: Tenant) -> None:
    with unit_of_work(hub.sessions) as session:
        order_id = create_order(
            session,
            tenant.integration_id,
            "1001",
            candidate={"email": "xss@example.com", "first_name": XSS, "last_name": "<img src=x onerror=alert(2)>"},
            application={"remote_id": XSS},
            job={"name": XSS, "remote_id": "job-xss"},
        ).id
    page = console.page
    console.sign_in()
    console.goto(f"/console/orders/{order_id}")
    expect(page.get_by_label("Candidate", exact=True)).to_contain_text(XSS)
    expect(page.get_by_label("Job", exact=True)).to_contain_text(XSS)
    console.goto(f"/console/orders?q={order_id}")
    expect(page.get_by_role("table", name="Orders")).to_contain_text(XSS)
    page.wait_for_timeout(300)
    assert console.dialogs == []
    assert page.locator("img[src=x]").count() == 0


def test_a_form_without_the_session_token_or_from_another_site_is_refused(console: Console, hub: Hub) -> None:
    page = console.page
    console.sign_in()
    console.goto("/console/api-keys")
    expect(page.get_by_role("heading", name="Vendor API keys")).to_be_visible()
    request = page.context.request  # the signed-in browser's cookies
    forged = request.post(hub.base_url + "/console/api-keys", form={"csrf_token": "forged", "name": "csrf-forged"})
    assert forged.status == 403 and "security token" in forged.text()
    missing = request.post(hub.base_url + "/console/api-keys", form={"name": "csrf-missing"})
    assert missing.status == 403
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    elsewhere = request.post(
        hub.base_url + "/console/api-keys",
        form={"csrf_token": token, "name": "csrf-cross-site"},
        headers={"Origin": "https://evil.example"},
    )
    assert elsewhere.status == 403 and "another site" in elsewhere.text()
    page.reload()
    keys = page.get_by_role("table", name="API keys")
    for name in ("csrf-forged", "csrf-missing", "csrf-cross-site"):
        expect(keys).not_to_contain_text(name)
    # the page's own form, with its token, works
    page.get_by_label("Name").fill("from-the-console")
    page.get_by_role("button", name="Create key").click()
    created = page.get_by_role("region", name="Key created (shown once)").locator("code").inner_text()
    assert created.startswith("ahk_")
    console.shot("api-keys")
    page.reload()
    assert created not in page.content()


# ---------------------------------------------------------------- integrations and webhook endpoints


def test_an_integration_is_created_from_its_connectors_form_and_operated(console: Console) -> None:
    page = console.page
    console.sign_in()
    console.goto("/console/integrations")
    page.get_by_role("link", name="New Teamtailor integration").click()
    page.get_by_label("Organization name (required)").fill("Acme Recruiting")
    api_key = page.get_by_label("Partner API key api_key (required)")
    assert api_key.get_attribute("type") == "password"  # a secret field is masked while typed
    api_key.fill("tt-partner-key-browser")
    page.get_by_label("Assessment criteria assessment_criteria (optional)").fill("logic=Logic")
    page.get_by_role("button", name="Create integration").click()
    expect(page.get_by_role("heading", name="Integration created: Acme Recruiting")).to_be_visible()
    values = page.get_by_role("table", name="Set-up values")
    expect(values).to_contain_text("provider_key")
    expect(page.get_by_role("button", name="Copy provider_key")).to_be_visible()
    provider_key = values.get_by_role("row").filter(has_text="provider_key").locator("code").inner_text()
    assert provider_key.startswith("ttpk_")
    console.shot("integration-created")

    page.get_by_role("link", name="Go to the integration").click()
    expect(page.get_by_label("Integration facts")).to_contain_text("ACTIVE")
    assert provider_key not in page.content() and "tt-partner-key-browser" not in page.content()
    page.get_by_role("button", name="Deactivate").click()
    expect(page.get_by_role("status")).to_contain_text("Integration deactivated")
    expect(page.get_by_label("Integration facts")).to_contain_text("INACTIVE")
    page.get_by_role("button", name="Activate").click()
    expect(page.get_by_label("Integration facts")).to_contain_text("ACTIVE")
    console.shot("integration")
    page.get_by_role("link", name="Delete…").click()
    expect(page.get_by_role("heading", name=re.compile("Delete the integration"))).to_be_visible()
    page.get_by_role("button", name="Delete integration").click()
    expect(page.get_by_role("status")).to_contain_text("Integration deleted")
    expect(page.get_by_label("Integration facts")).to_contain_text("deleted")


def test_a_webhook_endpoint_is_created_tested_and_deleted(console: Console) -> None:
    from assessment_hub.signing import SIGNATURE_HEADER, verify_signature
    from tests.receiver import VendorReceiver
    from tests.support import serve_in_thread

    receiver = VendorReceiver(answer=(200, '{"ok": true}'))
    with serve_in_thread(receiver.app()) as base:
        url = f"{base}/hooks"
        page = console.page
        console.sign_in()
        console.goto("/console/webhooks")
        page.get_by_label("Endpoint URL").fill(url)
        page.get_by_label("integration-created").check()  # only this event: it is the shared test hub
        page.get_by_role("button", name="Create endpoint").click()
        secret = page.get_by_role("region", name=re.compile("signing secret")).locator("code").first.inner_text()
        assert secret.startswith("whsec_")
        page.get_by_role("button", name=f"Send test event to {url}").click()
        answer = page.get_by_role("region", name=re.compile("Test event sent"))
        expect(answer).to_contain_text("succeeded")
        expect(answer).to_contain_text("HTTP 200")
        expect(page.get_by_label("Endpoint answer")).to_contain_text('{"ok": true}')
        console.shot("webhooks")
        (hit,) = [r for r in receiver.received if r.event["type"] == "hub:test"]
        assert hit.raw.decode() == page.get_by_label("Test event body").inner_text()
        assert verify_signature(secret, hit.raw, hit.headers.get(SIGNATURE_HEADER.lower()))
        assert secret not in page.content()  # the test's answer page does not show it either
        console.goto("/console/webhooks")
        assert secret not in page.content()
        page.get_by_role("row").filter(has_text=url).get_by_role("link", name="Delete…").click()
        page.get_by_role("button", name="Delete endpoint").click()
        expect(page.get_by_role("status")).to_contain_text("deleted")
        expect(page.get_by_role("table", name="Webhook endpoints")).not_to_contain_text(url)
