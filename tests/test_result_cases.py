"""The cases about the result body (tests/data/cases/result-*.json, seed-legacy-result-body.json)."""

from __future__ import annotations

import base64
import copy
import hashlib

import pytest
from sqlalchemy import func, select

from assessment_hub.assessment.models import AttachmentRow, ResultRevisionRow
from tests.support import Tenant, load_case

BASE = {"status": "COMPLETED", "result_url": "https://vendor.example/r/1"}


def revision_count(tenant: Tenant, order_id: str) -> int:
    with tenant.hub.sessions() as session:
        return session.scalar(
            select(func.count()).select_from(ResultRevisionRow).where(ResultRevisionRow.order_id == order_id)
        )


def assert_error(response, http: int, code: str) -> dict:
    assert response.status_code == http, response.text
    body = response.json()
    assert body["status"] == "error"
    assert body["error"]["code"] == code
    assert set(body["error"]) == {"code", "title", "message", "log_url"}
    return body


def test_result_completed_at(tenant: Tenant) -> None:
    case = load_case("result-completed-at")
    for item in case["cases"]:
        order_id = tenant.create_order()
        response = tenant.put_result(order_id, {**BASE, "completed_at": item["input"]})
        if "error" in item:
            body = assert_error(response, item["error"]["http"], item["error"]["code"])
            assert "completed_at" in body["error"]["message"]
            assert revision_count(tenant, order_id) == 0
            assert tenant.order(order_id)["status"] == "OPEN"
            continue
        assert response.status_code == 200, (item, response.text)
        assert tenant.order(order_id)["result"]["completed_at"] == item["stored"], item
        warnings = [w["message"] for w in response.json()["warnings"]]
        if "naive" in item.get("note", ""):
            assert any("UTC" in w for w in warnings), warnings


def test_completed_without_completed_at_uses_server_time_and_warns(tenant: Tenant) -> None:
    order_id = tenant.create_order()
    response = tenant.put_result(order_id, BASE)
    assert response.status_code == 200
    assert any("completed_at" in w["message"] for w in response.json()["warnings"])
    assert tenant.order(order_id)["result"]["completed_at"].endswith("Z")


def test_result_status_transitions(hub) -> None:
    case = load_case("result-status-transitions")
    for step in case["steps"]:
        tenant = hub.new_tenant()
        tenant.publish("1001")
        order_id = tenant.create_order()
        _bring_to(tenant, order_id, step["order_status"])
        before = revision_count(tenant, order_id)
        response = tenant.put_result(order_id, {**BASE, "status": step["put_status"]})
        expect = step["expect"]
        assert response.status_code == expect["http"], (step, response.text)
        if "code" in expect:
            assert_error(response, expect["http"], expect["code"])
            assert revision_count(tenant, order_id) == before
        else:
            assert revision_count(tenant, order_id) == before + 1
        assert tenant.order(order_id)["status"] == expect["order_status"]


def _bring_to(tenant: Tenant, order_id: str, status: str) -> None:
    if status in ("COMPLETED", "CANCELLED"):
        assert tenant.put_result(order_id, {**BASE, "status": status}).status_code == 200
    elif status == "REJECTED":
        from sqlalchemy import update

        from assessment_hub.assessment.models import OrderRow

        with tenant.hub.sessions.begin() as session:
            session.execute(update(OrderRow).where(OrderRow.id == order_id).values(status="REJECTED"))


def test_result_attachments(tenant: Tenant) -> None:
    case = load_case("result-attachments")
    valid = case["valid_attachment"]
    for item in case["cases"]:
        attachments = item["attachments"]
        if attachments == "six copies of valid_attachment":
            attachments = [copy.deepcopy(valid) for _ in range(6)]
        attachments = [copy.deepcopy(valid) if a == "valid_attachment" else a for a in attachments]
        order_id = tenant.create_order()
        response = tenant.put_result(order_id, {**BASE, "attachments": attachments})
        if "error" in item:
            body = assert_error(response, item["error"]["http"], item["error"]["code"])
            assert "attachments" in body["error"]["message"], body
            assert revision_count(tenant, order_id) == 0
            continue
        assert response.status_code == 200, response.text
        (stored,) = tenant.order(order_id)["result"]["attachments"]
        decoded = base64.b64decode(valid["data"])
        assert stored["sha256"] == hashlib.sha256(decoded).hexdigest()
        assert stored["size_bytes"] == len(decoded)
        path = tenant.hub.settings.attachments_dir / stored["sha256"][:2] / stored["sha256"]
        assert path.read_bytes() == decoded


def test_attachment_errors_name_the_index(tenant: Tenant) -> None:
    order_id = tenant.create_order()
    good = {"name": "ok.pdf", "content_type": "application/pdf", "data": "SGk="}
    bad = {"name": "b.pdf", "content_type": "application/pdf", "data": "@@@"}
    response = tenant.put_result(order_id, {**BASE, "attachments": [good, bad]})
    body = assert_error(response, 400, "PLATFORM.INPUT_INVALID")
    assert "attachments[1]" in body["error"]["message"]
    with tenant.hub.sessions() as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(AttachmentRow)
                .join(ResultRevisionRow)
                .where(ResultRevisionRow.order_id == order_id)
            )
            == 0
        )


@pytest.mark.parametrize("variant", [0, 1])
def test_seed_legacy_result_body(tenant: Tenant, variant: int) -> None:
    case = load_case("seed-legacy-result-body")
    order_id = tenant.create_order()
    response = tenant.put_result(order_id, case["request_body"])
    assert response.status_code == 200, response.text
    assert any("legacy" in w["message"] for w in response.json()["warnings"])
    result = tenant.order(order_id)["result"]
    assert result["attributes"] == case["stored_attributes"]
    assert (result["score"], result["max_score"]) == (90, 100)

    spec = case["variants"][variant]
    other = tenant.create_order()
    response = tenant.put_result(other, {**case["request_body"], "status": spec["status"]})
    assert response.status_code == 200, response.text
    order = tenant.order(other)
    assert order["status"] == spec["stored_status"]
    assert order["result"]["status"] == spec["stored_status"]
    if spec.get("warning"):
        assert any(spec["status"] in w["message"] for w in response.json()["warnings"])


def test_legacy_sub_results_become_sub_result_attributes(tenant: Tenant) -> None:
    order_id = tenant.create_order()
    response = tenant.put_result(
        order_id,
        {
            **BASE,
            "completed_at": "2024-01-01T00:00:00Z",
            "sub_results": [{"id": "logic", "title": "Logic", "score": 8, "max_score": 10, "status": "COMPLETED"}],
        },
    )
    assert response.status_code == 200, response.text
    assert tenant.order(order_id)["result"]["attributes"] == [
        {
            "type": "SUB_RESULT",
            "id": "logic",
            "label": "Logic",
            "score": {"value": 8.0, "max": 10.0},
            "status": "COMPLETED",
        }
    ]
    assert any("sub_results" in w["message"] for w in response.json()["warnings"])
