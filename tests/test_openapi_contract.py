"""Every assessment and general response body, success and error, against Kombo's reference OpenAPI."""

from __future__ import annotations

from tests.openapi_contract import assert_matches_reference
from tests.support import Hub, Tenant

RESULT = {
    "status": "COMPLETED",
    "result_url": "https://vendor.example/r/1",
    "completed_at": "2024-01-01T00:00:00Z",
    "score": 3,
    "max_score": 5,
    "attributes": [
        {"type": "TEXT", "label": "Fit", "value": "Good"},
        {"type": "SUB_RESULT", "id": "a", "label": "A", "score": {"value": 1, "max": 2}, "status": "COMPLETED"},
    ],
    "attachments": [{"name": "r.pdf", "content_type": "application/pdf", "data": "SGk="}],
}


def test_assessment_success_bodies(tenant: Tenant) -> None:
    first = tenant.create_order()
    tenant.create_order()
    with tenant.client() as client:
        put = client.put(
            "/assessment/packages",
            json={
                "packages": [
                    {"id": "1001", "type": "SKILLS_TEST", "name": "T", "description": "d"},
                    {"id": "legacy", "name": "Old", "description": "no type"},
                ]
            },
        )
        assert_matches_reference(put, "/assessment/packages", "put")
        assert_matches_reference(client.get("/assessment/packages"), "/assessment/packages", "get")
        result = client.put(f"/assessment/orders/{first}/result", json={**RESULT, "completed_at": None})
        assert result.status_code == 200 and result.json()["warnings"]
        assert_matches_reference(result, "/assessment/orders/{assessment_order_id}/result", "put")
        page = client.get("/assessment/orders", params={"page_size": 1})
        assert page.json()["data"]["next"]
        assert_matches_reference(page, "/assessment/orders", "get")
        last = client.get("/assessment/orders", params={"page_size": 1, "cursor": page.json()["data"]["next"]})
        assert last.json()["data"]["next"] is None
        assert_matches_reference(last, "/assessment/orders", "get")
        assert_matches_reference(client.get("/assessment/orders/open"), "/assessment/orders/open", "get")


def test_general_success_bodies(tenant: Tenant) -> None:
    with tenant.client() as client:
        assert_matches_reference(client.get("/check-api-key"), "/check-api-key", "get")
        details = client.get(f"/integrations/{tenant.integration_id}")
        assert_matches_reference(details, "/integrations/{integration_id}", "get")
        deleted = client.request("DELETE", f"/integrations/{tenant.integration_id}", json={})
        assert deleted.status_code == 200
        assert_matches_reference(deleted, "/integrations/{integration_id}", "delete")


def test_error_bodies(hub: Hub, tenant: Tenant) -> None:
    order_id = tenant.create_order()
    with tenant.client() as client:
        cases = [
            (client.get("/assessment/orders", params={"page_size": 0}), "/assessment/orders", "get"),
            (client.get("/assessment/orders/open", params={"cursor": "junk"}), "/assessment/orders/open", "get"),
            (client.put("/assessment/packages", json={"packages": [{"id": 1}]}), "/assessment/packages", "put"),
            (
                client.put(f"/assessment/orders/{order_id}/result", json={"status": "DONE"}),
                "/assessment/orders/{assessment_order_id}/result",
                "put",
            ),
            (
                client.put("/assessment/orders/nope/result", json=RESULT),
                "/assessment/orders/{assessment_order_id}/result",
                "put",
            ),
            (
                client.get("/assessment/packages", headers={"X-Integration-Id": "sandbox:none"}),
                "/assessment/packages",
                "get",
            ),
            (client.get("/check-api-key", headers={"Authorization": "Bearer nope"}), "/check-api-key", "get"),
            (client.get("/integrations/sandbox:none"), "/integrations/{integration_id}", "get"),
        ]
    for response, path, method in cases:
        assert response.status_code >= 400, response.text
        assert_matches_reference(response, path, method)
