"""GET /assessment/orders: filters, encodings, keyset cursor, shapes; and the deprecated /orders/open."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from assessment_hub.assessment.models import OrderRow, ResultRevisionRow
from assessment_hub.assessment.views import order_view
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
    assert set(order["candidate"]) >= CANDIDATE and set(order["job"]) >= JOB
    assert order["candidate"]["email"] == "ada@example.com"
    assert order["application"].keys() == {"remote_id"}
    assert all(
        {"remote_id", "email", "first_name", "last_name", "hiring_team_roles"} <= set(m)
        for m in order["job"]["hiring_team"]
    )
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
        format_instant(day_before),  # JS SDK: .sssZ
        day_before.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),  # Python SDK: microseconds
        day_before.strftime("%Y-%m-%dT%H:%M:%SZ"),  # no fraction
        (day_before + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S+02:00"),  # offset
        day_before.strftime("%Y-%m-%dT%H:%M:%S"),  # naive
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
        response = client.put(
            f"/assessment/orders/{order_id}/result", json={"status": "COMPLETED", "result_url": "https://v.example"}
        )
    assert response.status_code == 404
    assert one.order(order_id)["status"] == "OPEN"


def test_listing_is_order_view_of_each_row(tenant: Tenant) -> None:
    # The listing splices the stored JSON text of candidate/application/job and encodes with orjson;
    # order_view decodes the ORM row. Both must say the same, nested key order included.
    tricky, scored, rejected = (tenant.create_order(email='zoë+"q"@example.com') for _ in range(3))
    with tenant.hub.sessions.begin() as session:
        order = session.get(OrderRow, tricky)
        session.execute(
            update(OrderRow)
            .where(OrderRow.id == tricky)
            .values(
                candidate={**order.candidate, "first_name": 'Zoë "Q" \\ \n\t\x01\u2028 😀', "last_name": "</script>"}
            )
        )
        session.execute(
            update(OrderRow).where(OrderRow.id == rejected).values(status="REJECTED", rejection_message='Nope — "no"\n')
        )
    response = tenant.put_result(
        scored,
        {
            "status": "COMPLETED",
            "result_url": "https://v.example/r",
            "score": 0.1,
            "max_score": 1e16,
            "attributes": [{"type": "TEXT", "label": "Résumé ✓", "value": 'ok\n"q"'}],
            "attachments": [{"name": "r.txt", "content_type": "text/plain", "data": "aGk="}],
            "remote_fields": {"big": 10**30, "f": 2.5e-7, "list": [None, True, "é"]},
        },
    )
    assert response.status_code == 200, response.text
    with tenant.hub.sessions() as session:
        rows = {
            row.id: row
            for row in session.scalars(
                select(OrderRow)
                .where(OrderRow.id.in_([tricky, scored, rejected]))
                .options(selectinload(OrderRow.latest_result).selectinload(ResultRevisionRow.attachments))
            )
        }
        views = {order_id: json.dumps(order_view(row)) for order_id, row in rows.items()}
        open_views = {order_id: json.dumps(order_view(row, with_status=False)) for order_id, row in rows.items()}
    with tenant.client() as client:
        listed = client.get("/assessment/orders").json()["data"]["results"]
        listed_open = client.get("/assessment/orders/open").json()["data"]["results"]
    assert [o["id"] for o in listed] == [tricky, scored, rejected]
    assert {o["id"]: json.dumps(o) for o in listed} == views
    assert [o["id"] for o in listed_open] == [tricky]
    assert json.dumps(listed_open[0]) == open_views[tricky]
    assert listed[1]["result"]["remote_fields"]["big"] == 10**30
