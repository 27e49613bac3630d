"""PUT /assessment/packages replaces the list: left-out packages are soft-deleted, re-adding restores them."""

from __future__ import annotations

from sqlalchemy import select

from assessment_hub.assessment.models import PackageRow
from tests.support import Tenant


def listed(tenant: Tenant) -> dict[str, dict]:
    with tenant.client() as client:
        return {p["id"]: p for p in client.get("/assessment/packages").json()["data"]["packages"]}


def test_replace_soft_delete_and_restore(hub) -> None:
    tenant = hub.new_tenant()
    tenant.publish("a", "b")
    a_updated = listed(tenant)["a"]["updated_at"]
    tenant.publish("b", "c")
    assert sorted(listed(tenant)) == ["b", "c"]
    with hub.sessions() as session:
        row = session.scalar(
            select(PackageRow).where(PackageRow.integration_id == tenant.integration_id, PackageRow.package_id == "a")
        )
        assert row is not None and row.deleted_at is not None  # kept, not listed
    tenant.publish("a", "b", "c")
    restored = listed(tenant)
    assert sorted(restored) == ["a", "b", "c"]
    assert restored["a"]["updated_at"] >= a_updated


def test_missing_type_is_null_with_warning(hub) -> None:
    tenant = hub.new_tenant()
    with tenant.client() as client:
        response = client.put("/assessment/packages", json={"packages": [{"id": "x", "name": "X", "description": "d"}]})
    assert response.status_code == 200
    assert response.json()["warnings"] and "type" in response.json()["warnings"][0]["message"]
    assert listed(tenant)["x"]["type"] is None


def test_packages_are_per_integration(hub) -> None:
    one, two = hub.new_tenant(), hub.new_tenant()
    one.publish("only-one")
    assert listed(two) == {}
    assert list(listed(one)) == ["only-one"]


def test_empty_list_deletes_all(hub) -> None:
    tenant = hub.new_tenant()
    tenant.publish("a")
    with tenant.client() as client:
        assert client.put("/assessment/packages", json={"packages": []}).status_code == 200
    assert listed(tenant) == {}


def test_unknown_package_fields_are_ignored_with_a_warning(hub) -> None:
    tenant = hub.new_tenant()
    with tenant.client() as client:
        response = client.put(
            "/assessment/packages",
            json={"packages": [{"id": "x", "name": "X", "description": "d", "type": "SKILLS_TEST", "duration": 30}]},
        )
    assert response.status_code == 200
    assert [w["message"] for w in response.json()["warnings"]] == ["packages: unknown field(s) ignored: duration."]


def test_a_trailing_slash_is_not_redirected_to_the_host_header(hub) -> None:
    tenant = hub.new_tenant()
    with tenant.client() as client:
        response = client.get("/assessment/packages/", headers={"Host": "evil.example"})
    assert response.status_code == 404 and "location" not in response.headers
