"""Extreme scores (tests/data/cases/score-extremes.json): every connector's number handling (scaling, rounding,
printing: ``connectors/numbers.py``) takes any finite score without raising, sends only finite numbers, and
the result PUT answers 200 (with a warning where the ATS cannot show the score) and stores the result."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from assessment_hub.assessment import intake
from assessment_hub.connectors import numbers, text
from assessment_hub.connectors.ashby import mapping as ashby
from assessment_hub.connectors.base import OrderSnapshot, ResultSnapshot
from assessment_hub.connectors.greenhouse import mapping as greenhouse
from assessment_hub.connectors.lever import mapping as lever
from assessment_hub.connectors.recruitee import mapping as recruitee
from assessment_hub.connectors.registry import CONNECTORS, connector_class
from assessment_hub.connectors.sandbox.orders import fake_order_data
from assessment_hub.connectors.smartrecruiters import mapping as smartrecruiters
from assessment_hub.connectors.teamtailor import mapping as teamtailor
from assessment_hub.connectors.workable import mapping as workable
from assessment_hub.db.session import unit_of_work
from tests.support import Hub, Tenant

CASES = json.loads((Path(__file__).parent / "data" / "cases" / "score-extremes.json").read_text())["cases"]
BODIES = [case["body"] for case in CASES]
SUB_RESULTS = [  # the same extremes in a SUB_RESULT's score
    {"value": 1.7976931348623157e308, "max": 1},
    {"value": -1e308, "max": 1.7976931348623157e308},
    {"value": 1e-300, "max": 1},
]

ORDER = OrderSnapshot("o1", "lever:x", "pkg-1", "OPEN", {}, {}, {}, None, None)

PAYLOADS: dict[str, Any] = {
    "sandbox": None,  # stores the numbers as given (a float column): nothing is scaled or rounded
    "ashby": lambda result: ashby.result_update("assessment-1", result),
    "greenhouse": greenhouse.result_metadata,
    "lever": lambda result: lever.note_body(lever.result_note(ORDER, result) or ""),
    "recruitee": recruitee.report_patch,
    "smartrecruiters": smartrecruiters.result_patch,
    "teamtailor": lambda result: teamtailor.result_attributes(result, {"logic"}),
    "workable": workable.result_body,
}
"""What each connector sends to its ATS for a result (its mapping, without the HTTP call)."""


def snapshot(body: dict[str, Any], sub: dict[str, Any] | None = None) -> ResultSnapshot:
    attributes = (
        [{"type": "SUB_RESULT", "id": "logic", "label": "Logic", "score": sub, "status": "COMPLETED"}] if sub else []
    )
    return ResultSnapshot(
        id="r1",
        revision=1,
        status="COMPLETED",
        score=body["score"],
        max_score=body["max_score"],
        result_url=body["result_url"],
        completed_at=None,
        attributes=attributes,
        remote_fields=None,
    )


def test_every_connector_is_covered() -> None:
    assert set(PAYLOADS) == set(CONNECTORS)


@pytest.mark.parametrize("tool", sorted(CONNECTORS))
@pytest.mark.parametrize("body", BODIES, ids=[b["result_url"][-1] for b in BODIES])
@pytest.mark.parametrize("sub", [None, *SUB_RESULTS], ids=["no-sub", "sub-huge", "sub-negative", "sub-tiny"])
def test_every_connector_maps_extreme_scores_to_finite_numbers(tool: str, body: dict, sub: dict | None) -> None:
    result = snapshot(body, sub)
    warnings = connector_class(tool).result_warnings(result)
    assert all(isinstance(w, str) for w in warnings)
    build = PAYLOADS[tool]
    if build is not None:
        json.dumps(build(result), allow_nan=False)  # raises on inf/NaN: the ATS would get invalid JSON


def test_number_helpers_never_raise_and_never_return_non_finite() -> None:
    big, tiny = 1.7976931348623157e308, 1e-300
    assert numbers.percent(big, 100) == pytest.approx(big)  # scaled after dividing: no overflow
    assert numbers.percent(-1e308, tiny) is None and numbers.ratio(5, 0.0) is None and numbers.ratio(5, -1) is None
    assert numbers.whole(big) is None and numbers.whole(2.5) == 2 and numbers.whole(float(2**62)) == 2**62
    assert numbers.format_number(big) == "1.797693e+308" and numbers.format_number(82.5) == "82.5"
    assert numbers.format_number(87.0) == "87" and numbers.format_number(0.0) == "0"
    assert text.percent_text(-1e308, tiny) is None and text.percent_text(big, 1) is None
    assert text.percent_text(41, 50) == "82" and text.percent_text(big, 1e300) == "17976931348.6"
    assert teamtailor.normalized_score(big, 100) == 100 and teamtailor.normalized_score(-1e308, tiny) is None


def test_teamtailor_huge_score_is_stored_with_a_warning(hub: Hub) -> None:
    """The case's first input: a Teamtailor result with a huge score used to answer 500 (OverflowError)."""
    (case,) = [c for c in CASES if c["tool"] == "teamtailor"]
    tenant = hub.new_tenant("teamtailor", {"api_key": "k"})
    tenant.publish("1001")
    with unit_of_work(hub.sessions) as session:
        data = fake_order_data(7, None)
        order_id = intake.create_order(session, tenant.integration_id, "1001", data, remote_data={}).id
    response = tenant.put_result(order_id, case["body"])
    assert response.status_code == case["expect"]["http"], response.text
    warnings = [w["message"] for w in response.json()["warnings"]]
    assert any(case["expect"]["warning_mentions"] in w for w in warnings), warnings
    assert tenant.order(order_id)["result"]["score"] == case["body"]["score"]


@pytest.mark.parametrize("body", BODIES, ids=[b["result_url"][-1] for b in BODIES])
def test_extreme_scores_are_never_a_500(tenant: Tenant, body: dict) -> None:
    order_id = tenant.create_order()
    response = tenant.put_result(order_id, body)
    assert response.status_code in (200, 400), response.text
    if response.status_code == 200:
        assert tenant.order(order_id)["result"]["max_score"] == body["max_score"]
    else:
        assert "score" in response.json()["error"]["message"]
