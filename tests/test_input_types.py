"""Type confusion and number forms in requests: every request model is strict about types and answers a 400
envelope naming the field, never a 500; and after any 500 the client's keep-alive connection still works."""

from __future__ import annotations

import httpx
import pytest
from fastapi import Request

from assessment_hub.app import create_app
from tests.support import ADMIN_KEY, Hub, Tenant, serve_in_thread
from tests.test_errors import check

BASE = {"status": "COMPLETED", "result_url": "https://vendor.example/r/1", "completed_at": "2024-01-01T00:00:00Z"}


@pytest.mark.parametrize(
    "attribute",
    [
        {"type": {"TEXT": 1}, "label": "a", "value": "b"},
        {"type": ["TEXT"], "label": "a", "value": "b"},
        {"type": None, "label": "a", "value": "b"},
        {"type": 1, "label": "a", "value": "b"},
        {"type": "TEXT", "label": {"a": 1}, "value": "b"},
        {"type": "SUB_RESULT", "id": "x", "label": "a", "score": {"value": "5", "max": 10}, "status": "COMPLETED"},
        {"type": "SUB_RESULT", "id": "x", "label": "a", "score": [5, 10], "status": "COMPLETED"},
        {"type": "SUB_RESULT", "id": "x", "label": "a", "score": {"value": 5, "max": 10}, "status": ["COMPLETED"]},
    ],
)
def test_attribute_of_the_wrong_type_is_a_400(tenant: Tenant, attribute: dict) -> None:
    order_id = tenant.create_order()
    check(tenant.put_result(order_id, {**BASE, "attributes": [attribute]}), 400, mentions="attributes[0]")
    assert tenant.order(order_id)["result"] is None


@pytest.mark.parametrize(
    "field,value",
    [("score", "87"), ("score", True), ("status", ["COMPLETED"]), ("result_url", 5), ("attachments", {"a": 1})],
)
def test_result_fields_of_the_wrong_type_are_a_400(tenant: Tenant, field: str, value: object) -> None:
    order_id = tenant.create_order()
    check(tenant.put_result(order_id, {**BASE, field: value}), 400, mentions=field)


@pytest.mark.parametrize("raw", ["+5", "1_0", "\u0665", "\uff15", " 5", "5 ", "-1", "1e1", "0x10", "9" * 5000])
def test_page_size_takes_ascii_digits_only(tenant: Tenant, raw: str) -> None:
    with tenant.client() as client:
        check(client.get("/assessment/orders", params={"page_size": raw}), 400, mentions="page_size")


def test_page_size_in_digits_is_taken(tenant: Tenant) -> None:
    for order in range(2):
        tenant.create_order(seed=order)
    with tenant.client() as client:
        page = client.get("/assessment/orders", params={"page_size": "01"})
    assert page.status_code == 200 and len(page.json()["data"]["results"]) == 1


@pytest.mark.parametrize("tool", ["sandbox", "greenhouse", "ashby", "teamtailor"])
@pytest.mark.parametrize("value", [123, ["a"], None, {"k": "v"}, True])
def test_admin_integration_settings_must_be_strings(hub: Hub, tool: str, value: object) -> None:
    with hub.http(headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as client:
        response = client.post(
            "/admin/integrations", json={"tool": tool, "organization_name": "Types", "settings": {"api_key": value}}
        )
    check(response, 400, mentions="settings.api_key")


@pytest.mark.parametrize(
    "path,body,mentions",
    [
        ("/admin/integrations", {"tool": 5, "organization_name": "A"}, "tool"),
        ("/admin/integrations", {"tool": "sandbox", "organization_name": ["A"]}, "organization_name"),
        ("/admin/webhooks", {"url": 5}, "url"),
        ("/admin/webhooks", {"url": "https://x.example", "events": "order.created"}, "events"),
    ],
)
def test_admin_bodies_are_strict_about_types(hub: Hub, path: str, body: dict, mentions: str) -> None:
    with hub.http(headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as client:
        check(client.post(path, json=body), 400, mentions=mentions)


def test_sandbox_order_and_outage_bodies_are_strict_about_types(hub: Hub, tenant: Tenant) -> None:
    with hub.http("/admin", headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as client:
        orders = f"/sandbox/{tenant.integration_id}/orders"
        check(client.post(orders, json={"package_id": "1001", "seed": "5"}), 400, mentions="seed")
        check(client.post(orders, json={"package_id": "1001", "inline": "true"}), 400, mentions="inline")
        check(client.post(orders, json={"package_id": 1001}), 400, mentions="package_id")
        outage = f"/sandbox/{tenant.integration_id}/outage"
        check(client.put(outage, json={"mode": "flaky", "fail_ratio": "0.5"}), 400, mentions="fail_ratio")


@pytest.mark.live
def test_a_500_leaves_the_keep_alive_connection_usable(hub: Hub) -> None:
    """Starlette re-raises an unexpected error after its 500 answer; uvicorn used to close the connection then,
    without ``Connection: close``, and the client's next request on it failed."""
    app = create_app(hub.settings)

    def boom() -> None:
        raise RuntimeError("a bug")

    def peer(request: Request) -> dict:
        assert request.client is not None
        return {"port": request.client.port}

    app.add_api_route("/test/boom", boom)
    app.add_api_route("/test/peer", peer)
    with serve_in_thread(app) as base_url, httpx.Client(base_url=base_url, timeout=10) as client:
        first = client.get("/test/peer").json()["port"]
        for _ in range(3):
            response = client.get("/test/boom")
            check(response, 500, "PLATFORM.UNKNOWN_ERROR", mentions="unexpected")
            assert response.headers.get("connection", "keep-alive").lower() != "close"
            assert client.get("/test/peer").json()["port"] == first  # the same connection, still open


@pytest.mark.parametrize(
    "change,mentions",
    [
        ({"enable_filtering": "yes"}, "enable_filtering"),
        ({"end_user_email": 5}, "end_user_email"),
        ({"end_user_organization_name": ["Acme"]}, "end_user_organization_name"),
        ({"language": {"en": 1}}, "language"),
    ],
)
def test_connect_link_bodies_are_strict_about_types(tenant: Tenant, change: dict, mentions: str) -> None:
    body = {"end_user_email": "a@b.example", "end_user_organization_name": "Acme", **change}
    with tenant.hub.http("/v1", headers={"Authorization": f"Bearer {tenant.api_key}"}) as client:
        check(client.post("/connect/create-link", json=body), 400, mentions=mentions)
