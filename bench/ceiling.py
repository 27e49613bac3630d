"""The ceiling app: the fastest the hub's stack can answer the benchmarked calls.

A bare endpoint pair on the hub's own stack (FastAPI + pydantic v2, served by
uvicorn with the same process model as ``assessment-hub serve``), with no
database, no auth and no business logic.  Every hub figure is divided by the
matching ceiling figure measured in the same run on the same machine, so
ratios survive slow or noisy machines.

The routes use the same paths as the hub's Assessment API so that the very
same wrk scripts and URLs drive both:

* ``GET  /v1/assessment/orders``                 fixed success envelope
* ``PUT  /v1/assessment/orders/{order_id}/result`` parses a result-sized JSON
  body into a pydantic model (the result schema), returns the envelope
* ``GET  /health``                               readiness probe

Run it the way the harness does::

    python -m uvicorn bench.ceiling:app --host 127.0.0.1 --port 8001 --no-access-log
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import FastAPI
from pydantic import BaseModel, Field


class Envelope(BaseModel):
    status: Literal["success"] = "success"
    data: dict[str, Any]
    warnings: list[dict[str, Any]] = Field(default_factory=list)


class Score(BaseModel):
    value: float
    max: float | None = None


class TextAttribute(BaseModel):
    type: Literal["TEXT"]
    label: str
    value: str


class SubResultAttribute(BaseModel):
    type: Literal["SUB_RESULT"]
    id: str
    label: str
    score: Score | None = None
    status: Literal["COMPLETED", "CANCELLED", "OPEN"] | None = None


Attribute = Annotated[TextAttribute | SubResultAttribute, Field(discriminator="type")]


class Attachment(BaseModel):
    name: str
    content_type: str | None = None
    data: str  # base64


class ResultIn(BaseModel):
    status: Literal["COMPLETED", "CANCELLED"]
    result_url: str | None = None
    completed_at: datetime | None = None
    score: float | None = None
    max_score: float | None = None
    attributes: list[Attribute] = Field(default_factory=list)
    attachments: list[Attachment] = Field(default_factory=list)


# The GET answer is fixed and small: the listing figure's ratio deliberately
# includes the cost of building a 100-order page (that is what the hub adds).
_GET_DATA: dict[str, Any] = {"next": None, "results": []}

app = FastAPI(title="assessment-hub bench ceiling", docs_url=None, redoc_url=None, openapi_url=None)


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/v1/assessment/orders", response_model=Envelope)
async def list_orders() -> Envelope:
    return Envelope(data=_GET_DATA)


@app.put("/v1/assessment/orders/{order_id}/result", response_model=Envelope)
async def put_result(order_id: str, body: ResultIn) -> Envelope:
    return Envelope(
        data={
            "id": order_id,
            "status": body.status,
            "attributes": len(body.attributes),
            "attachments": len(body.attachments),
        }
    )
