"""Bad input of every kind gets the Kombo error envelope with an official code, never a framework body."""

from __future__ import annotations

import httpx
import pytest

from tests.support import Hub, Tenant

ENVELOPE_KEYS = {"code", "title", "message", "log_url"}


def check(response: httpx.Response, status: int, code: str = "PLATFORM.INPUT_INVALID", *, mentions: str = "") -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["status"] == "error" and set(body["error"]) == ENVELOPE_KEYS, body
    assert body["error"]["code"] == code
    assert mentions.lower() in body["error"]["message"].lower(), body["error"]["message"]


def test_authentication(hub: Hub, tenant: Tenant) -> None:
    with hub.http("/v1") as client:
        check(client.get("/assessment/packages"), 401, "PLATFORM.AUTHENTICATION_INVALID", mentions="Authorization")
        check(
            client.get("/check-api-key", headers={"Authorization": "Basic abc"}), 401, "PLATFORM.AUTHENTICATION_INVALID"
        )
        check(
            client.get("/check-api-key", headers={"Authorization": "Bearer ahk_nope"}),
            401,
            "PLATFORM.AUTHENTICATION_INVALID",
        )
        # The SDK accepts keys that already carry a lower-case "bearer " prefix.
        ok = client.get("/check-api-key", headers={"Authorization": f"bearer {tenant.api_key}"})
        assert ok.status_code == 200


def test_integration_header(hub: Hub, tenant: Tenant) -> None:
    with hub.http("/v1", headers={"Authorization": f"Bearer {tenant.api_key}"}) as client:
        check(client.get("/assessment/orders"), 400, mentions="X-Integration-Id")
        check(
            client.get("/assessment/orders", headers={"X-Integration-Id": "sandbox:unknown"}),
            404,
            "PLATFORM.INTEGRATION_NOT_FOUND",
        )


def test_malformed_bodies(tenant: Tenant) -> None:
    order_id = tenant.create_order()
    path = f"/assessment/orders/{order_id}/result"
    with tenant.client() as client:
        check(
            client.put(path, content=b"{not json", headers={"Content-Type": "application/json"}),
            400,
            mentions="not valid JSON",
        )
        check(client.put(path, content=b"", headers={"Content-Type": "application/json"}), 400, mentions="empty")
        check(
            client.put(
                path, content=b"status=COMPLETED", headers={"Content-Type": "application/x-www-form-urlencoded"}
            ),
            415,
            mentions="JSON",
        )
        check(client.put(path, json=[1, 2]), 400)
        check(client.put(path, json={"status": "COMPLETED"}), 400, mentions="result_url: is required")
        check(client.put(path, json={"status": "DONE", "result_url": "https://x.example"}), 400, mentions="status")
        check(
            client.put(path, json={"status": "COMPLETED", "result_url": "https://x.example", "score": "90"}),
            400,
            mentions="score",
        )
        check(
            client.put(
                path,
                json={
                    "status": "COMPLETED",
                    "result_url": "https://x.example",
                    "attributes": [{"type": "CHART", "label": "x"}],
                },
            ),
            400,
            mentions="attributes[0]",
        )
        check(
            client.put(
                path,
                json={
                    "status": "COMPLETED",
                    "result_url": "https://x.example",
                    "attributes": [
                        {
                            "type": "SUB_RESULT",
                            "id": "a",
                            "label": "A",
                            "score": {"value": 1, "max": 0.5},
                            "status": "COMPLETED",
                        }
                    ],
                },
            ),
            400,
            mentions="attributes[0].score.max",
        )
        check(
            client.put(
                "/assessment/packages",
                json={"packages": [{"id": "a", "name": "A", "description": "x", "type": "QUIZ"}]},
            ),
            400,
            mentions="packages[0].type",
        )
        check(
            client.put(
                "/assessment/packages",
                json={
                    "packages": [
                        {"id": "a", "name": "A", "description": "x"},
                        {"id": "a", "name": "B", "description": "y"},
                    ]
                },
            ),
            400,
            mentions="duplicate",
        )
    assert tenant.order(order_id)["result"] is None


def test_oversized_body_is_refused(tenant: Tenant) -> None:
    order_id = tenant.create_order()
    big = "A" * (tenant.hub.settings.max_body_bytes + 10)
    with tenant.client() as client:
        check(
            client.put(
                f"/assessment/orders/{order_id}/result",
                json={
                    "status": "COMPLETED",
                    "result_url": "https://x.example",
                    "attachments": [{"name": "a", "content_type": "text/plain", "data": big}],
                },
            ),
            413,
            mentions="limit",
        )


def test_unknown_routes_and_methods(hub: Hub, tenant: Tenant) -> None:
    with tenant.client() as client:
        check(client.get("/nope"), 404, mentions="No route")
        check(client.post("/assessment/packages", json={}), 405)
        check(
            client.put(
                "/assessment/orders/unknown/result", json={"status": "COMPLETED", "result_url": "https://x.example"}
            ),
            404,
            mentions="unknown",
        )


@pytest.mark.parametrize(
    "params,mentions",
    [
        ({"page_size": 251}, "page_size"),
        ({"page_size": 0}, "page_size"),
        ({"page_size": "ten"}, "page_size"),
        ({"cursor": "garbage"}, "cursor"),
        ({"statuses": "OPEN,DONE"}, "statuses"),
        ({"created_after": "yesterday"}, "created_after"),
    ],
)
def test_listing_parameters(tenant: Tenant, params: dict, mentions: str) -> None:
    with tenant.client() as client:
        check(client.get("/assessment/orders", params=params), 400, mentions=mentions)
