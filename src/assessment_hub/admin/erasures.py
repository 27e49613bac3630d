"""``/admin/erasures``: erase a candidate's personal data (by email) and list the erasure audit.

``POST /admin/erasures`` ``{"email": "ada@example.com"}`` -> 200 ``{"id", "erased_at", "order_ids",
"order_count"}`` (also with no matching order: the request is audited all the same).
``GET /admin/erasures?limit=N`` -> the audit, newest first. Both need the admin key (docs/admin.md).
Thin routes over ``privacy.erasure``.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select

from assessment_hub.admin.deps import AdminDep
from assessment_hub.db.session import ReadSessionDep, unit_of_work
from assessment_hub.kit.body import json_body
from assessment_hub.kit.envelope import EnvelopeResponse, success
from assessment_hub.kit.openapi import documented
from assessment_hub.kit.timestamps import format_instant
from assessment_hub.privacy.erasure import erase_candidate
from assessment_hub.privacy.models import ErasureRow
from assessment_hub.privacy.retention import delete_attachment_bytes

router = APIRouter(prefix="/admin", dependencies=[AdminDep], tags=["admin"])


class ErasureIn(BaseModel):
    """The candidate's email address, any case, surrounding blanks ignored."""

    model_config = ConfigDict(extra="forbid")
    email: str = Field(max_length=320)

    @field_validator("email")
    @classmethod
    def _an_email(cls, value: str) -> str:
        value = value.strip()
        local, at, domain = value.partition("@")
        if not at or not local or "@" in domain or "." not in domain.strip(".") or any(c.isspace() for c in value):
            raise ValueError("must be an email address like ada@example.com")
        return value


class ErasureView(BaseModel):
    """One erasure: when, why (``request`` or ``retention``), who asked (a key fingerprint), which orders."""

    id: str
    erased_at: str
    reason: str
    actor: str
    order_ids: list[str]
    order_count: int


class ErasureList(BaseModel):
    results: list[ErasureView]


def admin_actor(request: Request) -> str:
    """``admin-api key sha256:<12 hex>``: which admin key asked, without the key."""
    key = request.app.state.settings.admin_api_key
    digest = hashlib.sha256(key.get_secret_value().encode()).hexdigest()[:12] if key else "none"
    return f"admin-api key sha256:{digest}"


def erasure_view(row: ErasureRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "erased_at": format_instant(row.erased_at),
        "reason": row.reason,
        "actor": row.actor,
        "order_ids": row.order_ids,
        "order_count": row.order_count,
    }


@router.post(
    "/erasures",
    **documented(
        "Erase a candidate's personal data",
        description="Erase the candidate data of every order whose candidate has this email (any case); the "
        "orders stay. Answers the audit entry, also when no order matched (docs/operations.md).",
        data=ErasureView,
        body=ErasureIn,
    ),
)
def create_erasure(request: Request, body: Annotated[ErasureIn, Depends(json_body(ErasureIn))]) -> EnvelopeResponse:
    state = request.app.state
    with unit_of_work(state.sessions) as session:
        erasure = erase_candidate(session, body.email, actor=admin_actor(request))
        row = session.get(ErasureRow, erasure.id)
        assert row is not None
        view = erasure_view(row)
    delete_attachment_bytes(state.settings.attachments_dir, erasure.orphaned_sha256)
    return success(view)


@router.get(
    "/erasures",
    **documented("List the erasure audit", description="Newest first; never the erased data.", data=ErasureList),
)
def list_erasures(session: ReadSessionDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> EnvelopeResponse:
    rows = session.scalars(select(ErasureRow).order_by(ErasureRow.erased_at.desc(), ErasureRow.id).limit(limit))
    return success({"results": [erasure_view(row) for row in rows]})
