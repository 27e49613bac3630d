"""The admin API: its own key, every endpoint's success and error paths, settings encrypted at rest,
and what deactivating an integration does to the vendor API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import update
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from assessment_hub.config import Settings
from assessment_hub.delivery.models import OutboxRow
from assessment_hub.integrations.models import IntegrationRow
from assessment_hub.kit.timestamps import format_instant, utcnow
from assessment_hub.signing import SIGNATURE_HEADER, verify_signature
from assessment_hub.webhooks.models import WebhookEndpointRow
from tests.support import ADMIN_KEY, Hub, Tenant, in_process_hub, serve_in_thread, wait_until
from tests.test_errors import check

AUTH_INVALID = "PLATFORM.AUTHENTICATION_INVALID"
NOT_FOUND = "PLATFORM.INTEGRATION_NOT_FOUND"


def admin(hub: Hub, key: str | None = ADMIN_KEY) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return hub.http("/admin", headers=headers)


def ok(response: httpx.Response) -> dict | list:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success" and isinstance(body["warnings"], list), body
    return body["data"]


@contextmanager
def webhook_endpoint(hub: Hub, url: str, events: list[str]) -> Iterator[dict]:
    """A registered endpoint, deleted afterwards so other tests' events are not sent to it."""
    with admin(hub) as client:
        created = ok(client.post("/webhooks", json={"url": url, "events": events}))
        try:
            yield created
        finally:
            client.delete(f"/webhooks/{created['id']}")


# ------------------------------------------------------------------ authentication


def test_admin_key_is_required_and_separate_from_vendor_keys(hub: Hub, tenant: Tenant) -> None:
    with admin(hub, key=None) as client:
        check(client.get("/integrations"), 401, AUTH_INVALID, mentions="Authorization")
        # The key is checked before the body is read.
        check(client.post("/integrations", content=b"not json"), 401, AUTH_INVALID)
        check(client.get("/integrations", headers={"Authorization": f"Basic {ADMIN_KEY}"}), 401, AUTH_INVALID)
    with admin(hub, key="test-admin-kex") as client:
        check(client.get("/integrations"), 401, AUTH_INVALID, mentions="admin API key is not valid")
    with admin(hub, key=tenant.api_key) as client:
        check(client.get("/integrations"), 401, AUTH_INVALID)
    with admin(hub) as client:
        ok(client.get("/integrations"))
        ok(client.get("/integrations", headers={"Authorization": f"bearer {ADMIN_KEY}"}))
    with hub.http(
        "/v1",
        headers={"Authorization": f"Bearer {ADMIN_KEY}", "X-Integration-Id": tenant.integration_id},
    ) as vendor:
        check(vendor.get("/check-api-key"), 401, AUTH_INVALID)
        check(vendor.get("/assessment/packages"), 401, AUTH_INVALID)


def test_without_an_admin_key_configured_the_admin_api_says_so(tmp_path: Path) -> None:
    # a database of its own: `serve` on a shared one stores a development admin key there (admin.keys)
    fresh = f"sqlite:///{tmp_path / 'no-admin-key.db'}"
    with in_process_hub(fresh, tmp_path, admin_api_key=None) as hub, admin(hub, key="anything") as client:
        check(client.get("/integrations"), 401, AUTH_INVALID, mentions="ASSESSMENT_HUB_ADMIN_API_KEY")


def test_production_refuses_to_start_without_a_secret_key() -> None:
    with pytest.raises(ValidationError, match="ASSESSMENT_HUB_SECRET_KEY is required in production"):
        Settings(environment="production")


# ------------------------------------------------------------------ integrations


def test_create_integration_stores_settings_encrypted_and_never_echoes_them(hub: Hub) -> None:
    secret = "secret-callback-host.example:8443"
    body = {
        "tool": "sandbox",
        "organization_name": "Acme",
        "creator_email": "ops@acme.example",
        "origin_id": "acme-1",
        "settings": {"allowed_callback_hosts": secret},
    }
    with admin(hub) as client:
        response = client.post("/integrations", json=body)
        created = ok(response)
        assert secret not in response.text
        assert created["id"].startswith("sandbox:") and created["status"] == "ACTIVE"
        assert created["setting_keys"] == ["allowed_callback_hosts"]
        assert (created["organization_name"], created["creator_email"], created["origin_id"]) == (
            "Acme",
            "ops@acme.example",
            "acme-1",
        )
        assert created["deleted_at"] is None
        listed = client.get("/integrations")
        assert secret not in listed.text
        created.pop("setup")  # shown at creation (and by /setup), not in listings
        assert created in ok(listed)["integrations"]
    with hub.sessions() as session:
        row = session.get(IntegrationRow, created["id"])
        assert row.settings_encrypted and secret not in row.settings_encrypted
        assert hub.settings.cipher.decrypt_json(row.settings_encrypted) == body["settings"]


def test_create_integration_errors(hub: Hub) -> None:
    with admin(hub) as client:
        check(
            client.post("/integrations", json={"tool": "workday", "organization_name": "A"}),
            400,
            mentions="known tools: ",
        )
        check(client.post("/integrations", json={"tool": "sandbox"}), 400, mentions="organization_name: is required")
        check(
            client.post("/integrations", json={"tool": "sandbox", "organization_name": "A", "setting": {}}),
            400,
            mentions="setting",
        )
        check(
            client.post(
                "/integrations", json={"tool": "sandbox", "organization_name": "A", "settings": {"api_kee": "x"}}
            ),
            400,
            mentions="api_kee",
        )
        check(
            client.post("/integrations", json={"tool": "sandbox", "organization_name": "A", "settings": [1]}),
            400,
            mentions="settings",
        )
        check(client.post("/integrations", content=b"tool=sandbox"), 415)
        check(
            client.post("/integrations", content=b"{", headers={"Content-Type": "application/json"}),
            400,
            mentions="not valid JSON",
        )


def test_list_integrations_hides_deleted_ones_unless_asked(hub: Hub) -> None:
    with admin(hub) as client:
        kept = ok(client.post("/integrations", json={"tool": "sandbox", "organization_name": "Kept"}))
        gone = ok(client.post("/integrations", json={"tool": "sandbox", "organization_name": "Gone"}))
        deleted = ok(client.delete(f"/integrations/{gone['id']}"))
        assert deleted["deleted_at"] and deleted["status"] == "INACTIVE"
        live_ids = [i["id"] for i in ok(client.get("/integrations"))["integrations"]]
        assert kept["id"] in live_ids and gone["id"] not in live_ids
        every = {
            i["id"]: i for i in ok(client.get("/integrations", params={"include_deleted": "true"}))["integrations"]
        }
        assert every[gone["id"]]["deleted_at"] == deleted["deleted_at"]
        assert every[kept["id"]]["deleted_at"] is None
        check(client.get("/integrations", params={"include_deleted": "maybe"}), 400, mentions="include_deleted")


def test_delete_integration(hub: Hub, tenant: Tenant) -> None:
    with admin(hub) as client:
        ok(client.delete(f"/integrations/{tenant.integration_id}"))
        check(client.delete(f"/integrations/{tenant.integration_id}"), 404, NOT_FOUND)
        check(client.delete("/integrations/sandbox:nope"), 404, NOT_FOUND)
    with tenant.client() as vendor:
        check(vendor.get("/assessment/packages"), 404, NOT_FOUND)


def test_deactivated_integration_is_refused_by_the_vendor_api_but_still_described(hub: Hub, tenant: Tenant) -> None:
    order_id = tenant.create_order()
    with admin(hub) as client:
        # The colon of the id works as sent by curl and percent-encoded.
        deactivated = ok(client.post(f"/integrations/{quote(tenant.integration_id, safe='')}/deactivate"))
        assert deactivated["status"] == "INACTIVE" and deactivated["deleted_at"] is None
        assert ok(client.post(f"/integrations/{tenant.integration_id}/deactivate"))["status"] == "INACTIVE"
        check(client.post("/integrations/sandbox:nope/deactivate"), 404, NOT_FOUND)
        check(
            client.post(f"/sandbox/{tenant.integration_id}/orders", json={"package_id": "1001"}),
            404,
            NOT_FOUND,
            mentions="deactivated",
        )
        # The operator can still look at what it holds and operate its sandbox.
        assert ok(client.get(f"/sandbox/orders/{order_id}"))["id"] == order_id
        assert ok(client.put(f"/sandbox/{tenant.integration_id}/outage", json={"mode": "off"}))["mode"] == "off"
    with tenant.client() as vendor:
        check(vendor.get("/assessment/packages"), 404, NOT_FOUND, mentions="deactivated")
        check(vendor.get("/assessment/orders"), 404, NOT_FOUND, mentions="INACTIVE")
        check(
            vendor.put(
                f"/assessment/orders/{order_id}/result",
                json={"status": "COMPLETED", "result_url": "https://v.example/r"},
            ),
            404,
            NOT_FOUND,
        )
        details = ok(vendor.get(f"/integrations/{tenant.integration_id}"))
        assert details["status"] == "INACTIVE"
        ok(vendor.request("DELETE", f"/integrations/{tenant.integration_id}", json={}))


# ------------------------------------------------------------------ webhook endpoints


def test_webhook_endpoints(hub: Hub) -> None:
    with admin(hub) as client:
        created = ok(
            client.post("/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["assessment:order-received"]})
        )
        assert created["secret"].startswith("whsec_") and created["events"] == ["assessment:order-received"]
        try:
            listed = client.get("/webhooks")
            assert created["secret"] not in listed.text
            (mine,) = [w for w in ok(listed)["webhooks"] if w["id"] == created["id"]]
            assert mine == {k: v for k, v in created.items() if k != "secret"}
            with hub.sessions() as session:
                assert created["secret"] not in session.get(WebhookEndpointRow, created["id"]).secret_encrypted
        finally:
            ok(client.delete(f"/webhooks/{created['id']}"))
        assert created["id"] not in [w["id"] for w in ok(client.get("/webhooks"))["webhooks"]]
        check(client.delete(f"/webhooks/{created['id']}"), 404)
        check(client.post("/webhooks", json={"url": "ftp://x"}), 400, mentions="url")
        check(
            client.post("/webhooks", json={"url": "https://v.example", "events": ["nope"]}),
            400,
            mentions="unknown event type nope",
        )
        check(client.post("/webhooks", json={"events": []}), 400, mentions="url: is required")


# ------------------------------------------------------------------ deliveries


def test_deliveries_list_show_cancel_retry(hub: Hub, tenant: Tenant) -> None:
    order_id = tenant.create_order()
    with admin(hub) as client:
        ok(client.put(f"/sandbox/{tenant.integration_id}/outage", json={"mode": "503"}))
        assert (
            tenant.put_result(order_id, {"status": "COMPLETED", "result_url": "https://v.example/r"}).status_code == 200
        )
        wait_until(
            lambda: ok(client.get("/deliveries", params={"order_id": order_id}))["deliveries"][0]["attempts"],
            what="a failed attempt",
        )
        with hub.sessions.begin() as session:  # park it: the worker leaves it alone while we operate on it
            session.execute(
                update(OutboxRow)
                .where(OutboxRow.order_id == order_id)
                .values(state="pending", next_attempt_at=utcnow() + timedelta(hours=1))
            )
        ok(client.put(f"/sandbox/{tenant.integration_id}/outage", json={"mode": "off"}))
        (writeback,) = ok(client.get("/deliveries", params={"order_id": order_id}))["deliveries"]
        assert (writeback["kind"], writeback["action"], writeback["state"]) == ("writeback", "result", "pending")
        by_integration = ok(
            client.get("/deliveries", params={"integration_id": tenant.integration_id, "state": "pending"})
        )["deliveries"]
        assert [d["id"] for d in by_integration] == [writeback["id"]]
        assert ok(client.get("/deliveries", params={"order_id": order_id, "state": "dead"}))["deliveries"] == []
        assert len(ok(client.get("/deliveries", params={"limit": 1}))["deliveries"]) == 1
        check(client.get("/deliveries", params={"state": "lost"}), 400, mentions="state")
        check(client.get("/deliveries", params={"limit": 0}), 400, mentions="limit")

        shown = ok(client.get(f"/deliveries/{writeback['id']}"))
        assert shown["order_id"] == order_id
        assert shown["attempt_log"] and {a["http_status"] for a in shown["attempt_log"]} == {503}
        check(client.get("/deliveries/999999999"), 404, mentions="No delivery")
        lease = utcnow() + timedelta(hours=1)
        with hub.sessions.begin() as session:  # held by a worker that is gone: the operator sees which, and until when
            session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == writeback["id"])
                .values(state="in_flight", claimed_by="host-x:123:ab", lease_until=lease)
            )
        held = ok(client.get(f"/deliveries/{writeback['id']}"))
        assert (held["state"], held["claimed_by"]) == ("in_flight", "host-x:123:ab")
        assert held["lease_until"] == format_instant(lease)
        with hub.sessions.begin() as session:
            session.execute(update(OutboxRow).where(OutboxRow.id == writeback["id"]).values(state="pending"))
        check(client.get("/deliveries/abc"), 400, mentions="delivery_id")

        assert ok(client.post(f"/deliveries/{writeback['id']}/cancel"))["state"] == "cancelled"
        check(client.post(f"/deliveries/{writeback['id']}/cancel"), 400, mentions="only pending, dead")
        retried = ok(client.post(f"/deliveries/{writeback['id']}/retry"))
        assert retried["state"] == "pending" and retried["finished_at"] is None
        wait_until(
            lambda: ok(client.get(f"/deliveries/{writeback['id']}"))["state"] == "succeeded",
            what="the retried delivery to go out",
        )
        check(client.post(f"/deliveries/{writeback['id']}/retry"), 400, mentions="is succeeded")
        check(client.post("/deliveries/999999999/retry"), 404)
        check(client.post("/deliveries/999999999/cancel"), 404)


# ------------------------------------------------------------------ sandbox


def test_sandbox_orders_show_reset_and_outage(hub: Hub, tenant: Tenant) -> None:
    path = f"/sandbox/{tenant.integration_id}"
    with admin(hub) as client:
        order = ok(client.post(f"{path}/orders", json={"package_id": "1001", "email": "ada@example.com", "seed": 7}))
        assert order["status"] == "OPEN" and order["candidate"]["email"] == "ada@example.com"
        assert order["integration_id"] == tenant.integration_id and order["writebacks"] == []
        again = ok(client.post(f"{path}/orders", json={"package_id": "1001", "seed": 7}))
        assert again["job"] == order["job"]
        check(client.post(f"{path}/orders", json={"package_id": "2002"}), 400, mentions="not published")
        check(client.post(f"{path}/orders", json={"package_id": "1001", "seed": "x"}), 400, mentions="seed")
        check(client.post("/sandbox/sandbox:nope/orders", json={"package_id": "1001"}), 404, NOT_FOUND)

        outage = ok(client.put(f"{path}/outage", json={"mode": "flaky", "fail_ratio": 0.5}))
        assert outage == {"integration_id": tenant.integration_id, "mode": "flaky", "fail_ratio": 0.5}
        assert ok(client.put(f"{path}/outage", json={"mode": "off"}))["mode"] == "off"
        check(client.put(f"{path}/outage", json={"mode": "down"}), 400, mentions="mode")
        check(client.put(f"{path}/outage", json={"mode": "flaky", "fail_ratio": 2}), 400, mentions="fail_ratio")
        check(client.put("/sandbox/sandbox:nope/outage", json={"mode": "off"}), 404, NOT_FOUND)

        ok(client.put(f"{path}/outage", json={"mode": "503"}))  # keeps the write-back undelivered until reset
        assert (
            tenant.put_result(order["id"], {"status": "OPEN", "result_url": "https://v.example/r"}).status_code == 200
        )
        assert ok(client.get(f"/sandbox/orders/{order['id']}"))["result"]["status"] == "OPEN"
        check(client.get("/sandbox/orders/nope"), 404, mentions="No order")

        removed = ok(client.post(f"{path}/reset"))
        assert removed == {"orders": 2, "packages": 1, "cancelled_deliveries": 1}
        check(client.get(f"/sandbox/orders/{order['id']}"), 404)
        check(client.post("/sandbox/sandbox:nope/reset"), 404, NOT_FOUND)


def test_inline_sandbox_order_returns_the_vendors_assessment_url(hub: Hub, tenant: Tenant) -> None:
    received: list[tuple[bytes, str]] = []

    async def vendor_hook(request: Request) -> JSONResponse:
        raw = await request.body()
        received.append((raw, request.headers.get(SIGNATURE_HEADER, "")))
        order_id = json.loads(raw)["data"]["id"]
        return JSONResponse({"assessment_url": f"https://vendor.example/take/{order_id}"})

    vendor = Starlette(routes=[Route("/hook", vendor_hook, methods=["POST"])])
    with (
        serve_in_thread(vendor) as vendor_url,
        webhook_endpoint(hub, vendor_url + "/hook", ["inline-assessment:order-received"]) as endpoint,
        admin(hub) as client,
    ):
        order = ok(client.post(f"/sandbox/{tenant.integration_id}/orders", json={"package_id": "1001", "inline": True}))
        assert order["assessment_url"] == f"https://vendor.example/take/{order['id']}"
        ((raw, signature),) = received
        assert verify_signature(endpoint["secret"], raw, signature)
        (delivery,) = ok(client.get("/deliveries", params={"order_id": order["id"]}))["deliveries"]
        assert (delivery["action"], delivery["state"]) == ("inline-assessment:order-received", "succeeded")
        (attempt,) = ok(client.get(f"/deliveries/{delivery['id']}"))["attempt_log"]
        assert (attempt["http_status"], attempt["outcome"]) == (200, "succeeded")


def test_created_integration_comes_with_its_setup_and_can_be_reactivated(hub: Hub) -> None:
    # Found in a user trial: only the CLI showed the setup, so admin-created ATS integrations could not be connected.
    with admin(hub) as client:
        created = ok(
            client.post(
                "/integrations", json={"tool": "ashby", "organization_name": "Beta", "settings": {"api_key": "k3"}}
            )
        )
        setup = created["setup"]
        assert setup["base_url"].endswith("/connectors/ashby/" + created["id"].split(":")[1])
        assert setup["api_key"] and setup["api_key"] != "k3"
        assert ok(client.get(f"/integrations/{created['id']}/setup")) == setup
        assert ok(client.post(f"/integrations/{created['id']}/deactivate"))["status"] == "INACTIVE"
        assert ok(client.post(f"/integrations/{created['id']}/activate"))["status"] == "ACTIVE"
        check(client.get("/integrations/ashby:nope/setup"), 404, NOT_FOUND)
