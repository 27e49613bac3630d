"""The official ``kombo`` Python SDK (PyPI) as a real client of a live hub: only ``server_url`` changes."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.responses import Response
from kombo.errors import KomboAtsError, KomboGeneralError

from tests.support import Hub, Tenant, serve_in_thread


def test_packages_round_trip(tenant: Tenant) -> None:
    kombo = tenant.sdk()
    kombo.assessment.set_packages(
        packages=[
            {"id": "p1", "type": "SKILLS_TEST", "name": "Python", "description": "60 min"},
            {"id": "p2", "type": "BEHAVIORAL", "name": "Personality", "description": "20 min"},
        ]
    )
    packages = kombo.assessment.get_packages().data.packages
    assert [(p.id, p.type, p.name) for p in packages] == [
        ("p1", "SKILLS_TEST", "Python"),
        ("p2", "BEHAVIORAL", "Personality"),
    ]
    assert all(p.updated_at is not None for p in packages)


def test_orders_every_filter_and_paging(tenant: Tenant) -> None:
    kombo = tenant.sdk()
    created = [tenant.create_order(seed=i) for i in range(7)]
    kombo.assessment.update_order_result(
        assessment_order_id=created[0], status="COMPLETED", result_url="https://vendor.example/r/0"
    )

    pages, seen = 0, []
    page = kombo.assessment.get_assessment_orders(page_size=3)
    while page is not None:
        pages += 1
        seen += [order.id for order in page.result.data.results]
        page = page.next()
    assert pages == 3
    assert seen == created  # creation order, nothing skipped or repeated

    open_ids = []
    page = kombo.assessment.get_assessment_orders(page_size=2, statuses=["OPEN"])
    while page is not None:
        open_ids += [o.id for o in page.result.data.results]
        assert all(o.status == "OPEN" for o in page.result.data.results)
        page = page.next()
    assert open_ids == created[1:]

    both = kombo.assessment.get_assessment_orders(statuses=["OPEN", "COMPLETED"], ids=[created[0], created[3]])
    assert [o.id for o in both.result.data.results] == [created[0], created[3]]
    assert [o.status for o in both.result.data.results] == ["COMPLETED", "OPEN"]

    future = datetime.now(UTC) + timedelta(hours=1)
    assert kombo.assessment.get_assessment_orders(created_after=future).result.data.results == []
    past = datetime.now(UTC) - timedelta(hours=1)
    assert len(kombo.assessment.get_assessment_orders(created_after=past).result.data.results) == 7


def test_update_order_result_every_form(tenant: Tenant) -> None:
    pdf = b"%PDF-1.4 report"
    png = b"\x89PNG\r\n\x1a\n fake image"
    files = FastAPI()

    @files.get("/report.png")
    def report() -> Response:
        return Response(png, media_type="image/png")

    kombo = tenant.sdk()
    order_id = tenant.create_order()
    with serve_in_thread(files) as files_url:
        response = kombo.assessment.update_order_result(
            assessment_order_id=order_id,
            status="COMPLETED",
            result_url="https://vendor.example/results/1",
            completed_at=datetime(2023, 4, 4, tzinfo=UTC),
            score=90,
            max_score=100,
            attributes=[
                {"type": "TEXT", "label": "Role fit", "value": "Excellent"},
                {
                    "type": "SUB_RESULT",
                    "id": "logic",
                    "label": "Logic",
                    "score": {"value": 97, "max": 100},
                    "status": "COMPLETED",
                },
            ],
            attachments=[
                {"name": "report.pdf", "content_type": "application/pdf", "data": base64.b64encode(pdf).decode()},
                {"name": "chart.png", "data_url": f"{files_url}/report.png"},
            ],
            remote_fields={"smartrecruiters": {"score_label": "Good"}, "recruitee": {"subtitle": "Sub"}},
        )
    assert response.warnings == []
    result = tenant.order(order_id)["result"]
    assert result["status"] == "COMPLETED"
    assert result["completed_at"] == "2023-04-04T00:00:00.000Z"
    assert (result["score"], result["max_score"]) == (90, 100)
    assert result["attributes"][1]["score"] == {"value": 97, "max": 100}
    assert [(a["name"], a["content_type"], a["sha256"]) for a in result["attachments"]] == [
        ("report.pdf", "application/pdf", hashlib.sha256(pdf).hexdigest()),
        ("chart.png", "image/png", hashlib.sha256(png).hexdigest()),
    ]
    assert result["remote_fields"] == {"smartrecruiters": {"scoreLabel": "Good"}, "recruitee": {"subtitle": "Sub"}}

    # An interim OPEN result first, then a correction of a terminal status: both are revisions.
    kombo.assessment.update_order_result(
        assessment_order_id=order_id,
        status="COMPLETED",
        result_url="https://vendor.example/results/1",
        score=91,
        max_score=100,
        completed_at=datetime(2023, 4, 4, tzinfo=UTC),
    )
    assert tenant.order(order_id)["result"]["revision"] == 2


def test_general_endpoints(hub: Hub, tenant: Tenant) -> None:
    kombo = tenant.sdk()
    env = kombo.general.check_api_key().data.environment_id
    assert len(env) == 24
    details = kombo.general.get_integration_details(integration_id=tenant.integration_id).data
    assert details.id == tenant.integration_id
    assert details.tool.id == "sandbox"
    assert details.status == "ACTIVE"
    kombo.general.delete_integration(integration_id=tenant.integration_id, body={})
    with pytest.raises(KomboGeneralError) as raised:
        kombo.general.get_integration_details(integration_id=tenant.integration_id)
    assert raised.value.data.error.code == "PLATFORM.INTEGRATION_NOT_FOUND"
    with pytest.raises(KomboAtsError) as raised:
        kombo.assessment.get_packages()
    assert raised.value.data.error.code == "PLATFORM.INTEGRATION_NOT_FOUND"


def test_error_codes_reach_the_sdk(hub: Hub, tenant: Tenant) -> None:
    bad_key = hub.kombo("ahk_wrong", tenant.integration_id)
    with pytest.raises(KomboAtsError) as raised:
        bad_key.assessment.get_packages()
    assert raised.value.data.error.code == "PLATFORM.AUTHENTICATION_INVALID"
    assert raised.value.raw_response.status_code == 401
    with pytest.raises(KomboGeneralError) as general:
        bad_key.general.check_api_key()
    assert general.value.data.error.code == "PLATFORM.AUTHENTICATION_INVALID"

    unknown = hub.kombo(tenant.api_key, "sandbox:AAAAAAAAAAAAAAAAAAAAAAAA")
    with pytest.raises(KomboAtsError) as raised:
        unknown.assessment.get_packages()
    assert raised.value.data.error.code == "PLATFORM.INTEGRATION_NOT_FOUND"
    assert raised.value.raw_response.status_code == 404

    order_id = tenant.create_order()
    with pytest.raises(KomboAtsError) as raised:
        tenant.sdk().assessment.update_order_result(
            assessment_order_id=order_id, status="COMPLETED", result_url="not a url"
        )
    assert raised.value.data.error.code == "PLATFORM.INPUT_INVALID"
    assert "result_url" in raised.value.data.error.message
    with pytest.raises(KomboAtsError) as raised:
        tenant.sdk().assessment.get_assessment_orders(page_size=251)
    assert raised.value.data.error.code == "PLATFORM.INPUT_INVALID"
