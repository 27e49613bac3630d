"""Accepted writes are committed before the 200, and concurrent writers neither fail nor interleave."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from assessment_hub.assessment.models import PackageRow, ResultRevisionRow
from tests.support import Tenant


def test_write_is_visible_to_another_connection_as_soon_as_200_arrives(tenant: Tenant) -> None:
    # Before the commit moved ahead of the response, PostgreSQL readers could miss a just-acknowledged write.
    with tenant.client() as client:
        for i in range(30):
            assert (
                client.put(
                    "/assessment/packages",
                    json={"packages": [{"id": f"p{i}", "name": "P", "description": "d", "type": "SKILLS_TEST"}]},
                ).status_code
                == 200
            )
            with tenant.hub.sessions() as session:
                live = session.scalars(
                    select(PackageRow.package_id).where(
                        PackageRow.integration_id == tenant.integration_id, PackageRow.deleted_at.is_(None)
                    )
                ).all()
            assert live == [f"p{i}"]


def test_concurrent_results_for_one_order_get_consecutive_revisions(tenant: Tenant) -> None:
    order_id = tenant.create_order()

    def send(i: int) -> int:
        return tenant.put_result(
            order_id, {"status": "OPEN", "result_url": f"https://v.example/{i}", "score": i}
        ).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(send, range(36)))
    assert statuses == [200] * 36  # no "database is locked", no unique-violation 500s
    with tenant.hub.sessions() as session:
        revisions = session.scalars(
            select(ResultRevisionRow.revision).where(ResultRevisionRow.order_id == order_id)
        ).all()
    assert sorted(revisions) == list(range(1, 37))
    assert tenant.order(order_id)["result"]["revision"] == 36


def test_concurrent_writes_across_orders(tenant: Tenant) -> None:
    orders = [tenant.create_order() for _ in range(24)]

    def send(order_id: str) -> int:
        return tenant.put_result(
            order_id,
            {"status": "COMPLETED", "result_url": "https://v.example/r", "completed_at": "2024-01-01T00:00:00Z"},
        ).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        assert list(pool.map(send, orders)) == [200] * 24
    assert {tenant.order(o)["status"] for o in orders} == {"COMPLETED"}
