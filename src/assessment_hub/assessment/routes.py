"""The vendor API's ``/assessment/*`` routes (kombo-contract.md §4), thin over ``assessment.service``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from assessment_hub.assessment import service
from assessment_hub.assessment.attachments import StoredAttachment, prepare_attachments
from assessment_hub.assessment.results import normalize_result
from assessment_hub.assessment.schemas import ORDER_STATUSES, PackagesIn, ResultIn
from assessment_hub.assessment.views import listed_orders, package_view
from assessment_hub.concurrency.http import WriteSlotDep
from assessment_hub.connectors.snapshots import result_snapshot
from assessment_hub.db.session import ReadSessionDep, SessionDep
from assessment_hub.errors import InputInvalid
from assessment_hub.integrations.deps import IntegrationDep
from assessment_hub.kit.body import json_body
from assessment_hub.kit.envelope import Envelope, EnvelopeResponse, success, success_with_fragments
from assessment_hub.kit.links import public_base_url
from assessment_hub.kit.metrics import count_result_write
from assessment_hub.kit.states import OrderStatus
from assessment_hub.kit.timestamps import parse_instant

router = APIRouter(prefix="/assessment")

PageSize = Annotated[str | None, Query(description="1..250, default 100")]


def _page_size(raw: str | None) -> int:
    if raw is None or raw == "":
        return 100
    try:
        value = int(raw)
    except ValueError:
        raise InputInvalid(f"page_size: must be an integer from 1 to 250 (got {raw!r}).") from None
    if not 1 <= value <= 250:
        raise InputInvalid(f"page_size: must be from 1 to 250 (got {value}).")
    return value


def _split(raw: str | None) -> list[str]:
    """Comma-separated list (percent-encoded commas arrive decoded); blanks dropped."""
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


@router.get("/packages", response_model=Envelope)
def get_packages(integration: IntegrationDep, session: ReadSessionDep) -> EnvelopeResponse:
    rows = service.list_packages(session, integration.id)
    return success({"packages": [package_view(row) for row in rows]})


@router.put("/packages", response_model=Envelope)
def put_packages(
    integration: IntegrationDep,
    _slot: WriteSlotDep,
    session: SessionDep,
    body: Annotated[PackagesIn, Depends(json_body(PackagesIn))],
) -> EnvelopeResponse:
    service.set_packages(session, integration.id, body.packages)
    untyped = [p.id for p in body.packages if p.type is None]
    warnings = [f"packages {', '.join(untyped)}: no type given; stored with type null."] if untyped else []
    unknown = sorted({key for p in body.packages for key in (p.model_extra or {})})
    if unknown:
        warnings.append(f"packages: unknown field(s) ignored: {', '.join(unknown)}.")
    return success({}, warnings)


@router.get("/orders", response_model=Envelope)
async def get_orders(
    request: Request,
    integration: IntegrationDep,
    cursor: str | None = None,
    page_size: PageSize = None,
    ids: str | None = None,
    statuses: str | None = None,
    created_after: str | None = None,
) -> EnvelopeResponse:
    # A repeated parameter (statuses=OPEN&statuses=COMPLETED) means all of its values, not the last one.
    ids = ",".join(request.query_params.getlist("ids")) or ids
    statuses = ",".join(request.query_params.getlist("statuses")) or statuses
    status_list = [s.upper() for s in _split(statuses)]
    unknown = [s for s in status_list if s not in ORDER_STATUSES]
    if unknown:
        raise InputInvalid(f"statuses: unknown status {', '.join(unknown)}; use {', '.join(ORDER_STATUSES)}.")
    after = None
    if created_after:
        try:
            after = parse_instant(created_after).value
        except ValueError as exc:
            raise InputInvalid(f"created_after: {exc}") from None
    return await _page_response(
        request,
        with_status=True,
        integration_id=integration.id,
        page_size=_page_size(page_size),
        cursor=cursor,
        ids=_split(ids),
        statuses=status_list,
        created_after=after,
    )


@router.get("/orders/open", deprecated=True, response_model=Envelope)
async def get_open_orders(
    request: Request,
    integration: IntegrationDep,
    cursor: str | None = None,
    page_size: PageSize = None,
) -> EnvelopeResponse:
    return await _page_response(
        request,
        with_status=False,
        integration_id=integration.id,
        page_size=_page_size(page_size),
        cursor=cursor,
        statuses=[OrderStatus.OPEN],
    )


async def _page_response(request: Request, *, with_status: bool, **query: Any) -> EnvelopeResponse:
    """``service.list_orders(**query)`` as the listing's response, query and encoding together on
    ``app.state.reader`` (SQLite: on the event loop; see ``db/reader.py``)."""

    def page(session: Session) -> EnvelopeResponse:
        found = service.list_orders(session, **query)
        results = listed_orders(found.orders, found.results, with_status=with_status)
        return success_with_fragments({"next": found.next_cursor, "results": results})

    return await request.app.state.reader.run(page)


@router.put("/orders/{assessment_order_id}/result", response_model=Envelope)
async def put_result(
    assessment_order_id: str,
    request: Request,
    integration: IntegrationDep,
    _slot: WriteSlotDep,
    body: Annotated[ResultIn, Depends(json_body(ResultIn))],
) -> EnvelopeResponse:
    """Store the result as the order's next revision and queue its write-back (kombo-contract.md §4.4).

    The write runs on ``app.state.writer`` (SQLite: group commit; PostgreSQL: one round trip plus commit,
    ``assessment.sql_pg``) and is committed before the answer."""
    state = request.app.state
    result = normalize_result(body)
    attachments: list[StoredAttachment] = []
    attachment_warnings: list[str] = []
    if body.attachments:  # fail fast before fetching anything for an unknown order or a forbidden change
        await state.reader.run(
            lambda session: service.check_result_allowed(session, integration.id, assessment_order_id, result.status)
        )
        attachments, attachment_warnings = await run_in_threadpool(
            prepare_attachments, body.attachments, state.settings, state.attachment_store, state.http
        )
    result.warnings.extend(attachment_warnings)
    base_url = public_base_url(request)

    def write(session: Session) -> list[str]:
        revision, notices = service.accept_result(session, integration.id, assessment_order_id, result, attachments)
        snapshot = result_snapshot(revision, state.settings, base_url)
        return state.connectors[integration.tool].result_warnings(snapshot) + notices

    ats_warnings = await state.writer.run(write)
    count_result_write(integration.tool)
    return success({}, result.warnings + ats_warnings)
