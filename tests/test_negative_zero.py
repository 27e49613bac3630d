"""A score of ``-0.0`` is stored, listed and written back as ``0.0`` on both backends. Found by a trial: SQLite
stores a REAL zero without its sign and listed ``0.0``, PostgreSQL kept it and listed ``-0.0``, for the same
result. The hub takes the sign off at intake (``assessment.schemas``' number check), for ``score``,
``max_score`` and a SUB_RESULT's (or a legacy sub_result's) score; ``remote_fields`` keeps the vendor's text."""

from __future__ import annotations

import json
import math

from sqlalchemy import select

from assessment_hub.assessment.models import ResultRevisionRow
from assessment_hub.assessment.schemas import ResultIn
from tests.support import Tenant

BODY = (
    '{"status": "COMPLETED", "result_url": "https://vendor.example/r/1", "completed_at": "2024-01-01T00:00:00Z",'
    ' "score": -0.0, "max_score": -0.0, "remote_fields": {"z": -0.0},'
    ' "attributes": [{"type": "SUB_RESULT", "id": "a", "label": "A", "score": {"value": -0.0, "max": 1},'
    ' "status": "COMPLETED"}],'
    ' "sub_results": [{"id": "b", "title": "B", "score": -0e5, "max_score": 10}]}'
)


def _positive(value: float) -> bool:
    return value == 0 and math.copysign(1.0, value) == 1.0


def test_negative_zero_scores_are_listed_as_zero(tenant: Tenant) -> None:
    order_id = tenant.create_order()
    with tenant.client() as client:
        sent = client.put(
            f"/assessment/orders/{order_id}/result", content=BODY, headers={"Content-Type": "application/json"}
        )
        assert sent.status_code == 200, sent.text
        listed = client.get("/assessment/orders", params={"ids": order_id})
        opened = client.get("/assessment/orders/open")
    assert listed.status_code == 200 and opened.status_code == 200
    text = listed.text
    assert '"score":0.0,"max_score":0.0' in text, text
    assert '"remote_fields":{"z": -0.0}' in text  # the vendor's own text, as sent
    (order,) = json.loads(text)["data"]["results"]
    result = order["result"]
    assert _positive(result["score"]) and _positive(result["max_score"])
    assert [_positive(a["score"]["value"]) for a in result["attributes"]] == [True, True]
    with tenant.hub.sessions() as session:
        row = session.execute(select(ResultRevisionRow).where(ResultRevisionRow.order_id == order_id)).scalar_one()
    assert _positive(row.score) and _positive(row.max_score)
    assert all(_positive(a["score"]["value"]) for a in row.attributes)


def test_the_schema_takes_the_sign_off_zero_only() -> None:
    body = ResultIn.model_validate_json(BODY)
    assert body.score is not None and _positive(body.score) and body.max_score is not None and _positive(body.max_score)
    assert body.sub_results and _positive(body.sub_results[0].score)
    assert ResultIn.model_validate({"status": "OPEN", "result_url": "https://v.example/1", "score": -1.5}).score == -1.5
    tiny = ResultIn.model_validate({"status": "OPEN", "result_url": "https://v.example/1", "score": -5e-324})
    assert tiny.score == -5e-324
