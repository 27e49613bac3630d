"""GET /assessment/orders: filters, encodings, keyset cursor, shapes; and the deprecated /orders/open."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from assessment_hub.assessment.models import OrderRow
from assessment_hub.kit.timestamps import format_instant, utcnow
from tests.support import Tenant

CANDIDATE = {"remote_id", "email", "first_name", "last_name", "phone"}
JOB = {"remote_id", "name", "job_code", "description", "location", "hiring_team"}


def ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [o["id"] for o in response.json()["data"]["results"]]


def test_every_key_present_and_extras(tenant: Tenant) -> None:
    order_id = tenant.create_order(email="ada@example.com")
    order = tenant.order(order_id)
    assert CANDIDATE <= set(order["candidate"]) and JOB <= set(order["job"])
    assert order["candidate"]["email"] == "ada@example.com"
    assert order["application"].keys() == {"remote_id"}
    assert all({"remote_id", "email", "first_name", "last_name", "hiring_team_roles"} <= set(m)
               for m in order["job"]["hiring_team"])
    assert order["status"] == "OPEN" and order["result"] is None
    assert order["created_at"].endswith("Z") and len(order["created_at"]) == 24


def test_status_filter_with_encoded_commas(tenant: Tenant) -> None:
    open_id, done_id, cancelled_id = (tenant.create_order() for _ in range(3))
    tenant.put_result(done_id, {"status": "COMPLETED", "result_url": "https://v.example/1"})
    tenant.put_result(cancelled_id, {"status": "CANCELLED", "result_url": "https://v.example/2"})
    with tenant.client() as client:
        assert ids(client.get("/assessment/orders?statuses=COMPLETED%2CCANCELLED")) == [done_id, cancelled_id]
        assert ids(client.get("/assessment/orders?statuses=OPEN")) == [open_id]
        assert ids(client.get("/assessment/orders?statuses=")) == [open_id, done_id, cancelled_id]
        assert ids(client.get(f"/assessment/orders?ids={open_id}%2C{cancelled_id}")) == [open_id, cancelled_id]
        assert ids(client.get("/assessment/orders/open")) == [open_id]
        assert "status" not in client.get("/assessment/orders/open").json()["data"]["results"][0]


def test_created_after_variants(tenant: Tenant) -> None:
    old, new = tenant.create_order(), tenant.create_order()
    moment = utcnow()
    with tenant.hub.sessions.begin() as session:
        session.execute(update(OrderRow).where(OrderRow.id == old).values(created_at=moment - timedelta(days=2)))
    day_before = moment - timedelta(days=1)
    variants = [
        format_instant(day_before),                                   # JS SDK: .sssZ
        day_before.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),                 # Python SDK: microseconds
        day_before.strftime("%Y-%m-%dT%H:%M:%SZ"),                    # no fraction
        (day_before + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S+02:00"),  # offset
        day_before.strftime("%Y-%m-%dT%H:%M:%S"),                     # naive
    ]
    with tenant.client() as client:
        for value in variants:
            assert ids(client.get("/assessment/orders", params={"created_after": value})) == [new], value
        # Inclusive: an order created exactly at created_after is listed.
        exact = client.get("/assessment/orders", params={"created_after": tenant.order(new)["created_at"]})
        assert ids(exact) == [new]


def test_cursor_pages_are_stable_when_rows_tie_on_created_at(tenant: Tenant) -> None:
    created = [tenant.create_order() for _ in range(5)]
    same = utcnow()
    with tenant.hub.sessions.begin() as session:
        session.execute(update(OrderRow).where(OrderRow.id.in_(created)).values(created_at=same))
    seen, cursor = [], None
    with tenant.client() as client:
        for _ in range(10):
            params = {"page_size": 2, **({"cursor": cursor} if cursor else {})}
            data = client.get("/assessment/orders", params=params).json()["data"]
            seen += [o["id"] for o in data["results"]]
            cursor = data["next"]
            if cursor is None:
                break
    assert seen == sorted(created)  # ties broken by id, each order exactly once


def test_orders_are_per_integration(hub) -> None:
    one, two = hub.new_tenant(), hub.new_tenant()
    one.publish("1001")
    order_id = one.create_order()
    with two.client() as client:
        assert ids(client.get("/assessment/orders")) == []
        response = client.put(f"/assessment/orders/{order_id}/result",
                              json={"status": "COMPLETED", "result_url": "https://v.example"})
    assert response.status_code == 404
    assert one.order(order_id)["status"] == "OPEN"
