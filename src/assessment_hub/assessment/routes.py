"""The vendor API's ``/assessment/*`` routes (kombo-contract.md §4), thin over ``assessment.service``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from assessment_hub.assessment import service
from assessment_hub.assessment.attachments import StoredAttachment, prepare_attachments
from assessment_hub.assessment.responses import OpenOrderPage, OrderPage, Packages
from assessment_hub.assessment.results import normalize_result
from assessment_hub.assessment.schemas import ORDER_STATUSES, PackagesIn, ResultIn
from assessment_hub.assessment.views import listed_orders, package_view
from assessment_hub.concurrency.http import WriteSlotDep, write_slot
from assessment_hub.connectors.snapshots import result_snapshot
from assessment_hub.db.session import ReadSessionDep, SessionDep
from assessment_hub.errors import InputInvalid
from assessment_hub.integrations.deps import IntegrationDep
from assessment_hub.kit.body import json_body
from assessment_hub.kit.envelope import EnvelopeResponse, success, success_with_fragments
from assessment_hub.kit.links import public_base_url
from assessment_hub.kit.metrics import count_result_write
from assessment_hub.kit.openapi import Empty, documented
from assessment_hub.kit.states import OrderStatus
from assessment_hub.kit.timestamps import parse_instant

router = APIRouter(prefix="/assessment")

PageSize = Annotated[str | None, Query(description="Orders per page, 1 to 250 (default 100).")]
Cursor = Annotated[str | None, Query(description="`data.next` of the previous page.")]
Ids = Annotated[str | None, Query(description="Only these order ids, comma-separated.")]
Statuses = Annotated[
    str | None, Query(description="Only these statuses, comma-separated: OPEN, COMPLETED, CANCELLED, REJECTED.")
]
CreatedAfter = Annotated[
    str | None, Query(description="Only orders created at or after this ISO 8601 instant (e.g. 2024-05-01T00:00:00Z).")
]


def _page_size(raw: str | None) -> int:
    """ASCII digits only: Python's ``int()`` also takes ``+5``, ``1_0``, spaces and other scripts' digits."""
    if raw is None or raw == "":
        return 100
    if not (raw.isascii() and raw.isdigit()):
        raise InputInvalid(f"page_size: must be an integer from 1 to 250 written in digits 0-9 (got {raw!r}).")
    digits = raw.lstrip("0") or "0"
    value = int(digits) if len(digits) <= 3 else 1000  # int() refuses strings over 4300 digits
    if not 1 <= value <= 250:
        raise InputInvalid(f"page_size: must be from 1 to 250 (got {value}).")
    return value


def _split(raw: str | None) -> list[str]:
    """Comma-separated list (percent-encoded commas arrive decoded); blanks dropped."""
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


@router.get(
    "/packages",
    **documented(
        "List packages",
        description="The integration's published packages, ordered by id.",
        data=Packages,
        errors=(400, 404),
    ),
)
def get_packages(integration: IntegrationDep, session: ReadSessionDep) -> EnvelopeResponse:
    rows = service.list_packages(session, integration.id)
    return success({"packages": [package_view(row) for row in rows]})


@router.put(
    "/packages",
    **documented(
        "Publish packages",
        description="Replace the integration's packages with this list. Packages left out are no longer "
        "listed; sending one again restores it. A package without `type` is stored with type null (warning).",
        data=Empty,
        body=PackagesIn,
        errors=(404,),
        writes=True,
    ),
)
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


@router.get(
    "/orders",
    **documented(
        "List orders",
        description="The integration's orders, oldest first, one page at a time (pass `data.next` as "
        "`cursor`, with the same filters, for the next page).",
        data=OrderPage,
        errors=(400, 404),
    ),
)
async def get_orders(
    request: Request,
    integration: IntegrationDep,
    cursor: Cursor = None,
    page_size: PageSize = None,
    ids: Ids = None,
    statuses: Statuses = None,
    created_after: CreatedAfter = None,
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


@router.get(
    "/orders/open",
    deprecated=True,
    **documented(
        "List open orders (deprecated)",
        description="The OPEN orders, without their `status`; use `GET /assessment/orders?statuses=OPEN`.",
        data=OpenOrderPage,
        errors=(400, 404),
    ),
)
async def get_open_orders(
    request: Request,
    integration: IntegrationDep,
    cursor: Cursor = None,
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

    def page(connection: Connection) -> EnvelopeResponse:
        found = service.list_orders(connection, **query)
        results = listed_orders(found.orders, found.results, with_status=with_status)
        return success_with_fragments({"next": found.next_cursor, "results": results})

    return await request.app.state.reader.run(page)


@router.put(
    "/orders/{assessment_order_id}/result",
    **documented(
        "Report a result",
        description="Store the result as the order's next revision; the hub writes it back to the ATS. "
        "The answer comes once the result is stored; its warnings say what the ATS cannot show. "
        "`data_url` attachments are downloaded while the request is handled.",
        data=Empty,
        body=ResultIn,
        errors=(404,),
        writes=True,
    ),
)
async def put_result(
    assessment_order_id: str,
    request: Request,
    integration: IntegrationDep,
    body: Annotated[ResultIn, Depends(json_body(ResultIn))],
) -> EnvelopeResponse:
    # Stores the result as the order's next revision and queues its write-back. The write runs on
    # app.state.writer (SQLite: group commit; PostgreSQL: one round trip plus commit, assessment.sql_pg) and
    # is committed before the answer. It holds one of the integration's write slots throughout; without
    # attachments to fetch, on PostgreSQL, the write takes that slot in its own transaction
    # (concurrency.http.write_slot). (A comment, not a docstring: the docstring would become the
    # operation's description in the OpenAPI document.)
    state = request.app.state
    result = normalize_result(body)
    async with write_slot(request, integration.id, in_write=not body.attachments) as slot:
        attachments: list[StoredAttachment] = []
        attachment_warnings: list[str] = []
        if body.attachments:  # fail fast before fetching anything for an unknown order or a forbidden change
            await state.reader.run(
                lambda connection: service.check_result_allowed(
                    connection, integration.id, assessment_order_id, result.status
                )
            )
            attachments, attachment_warnings = await prepare_attachments(
                body.attachments, state.settings, state.attachment_store, state.data_urls
            )
        result.warnings.extend(attachment_warnings)
        base_url = public_base_url(request)

        def write(session: Session) -> list[str]:
            revision, notices = service.accept_result(
                session, integration.id, assessment_order_id, result, attachments, slot=slot
            )
            snapshot = result_snapshot(revision, state.settings, base_url)
            return state.connectors[integration.tool].result_warnings(snapshot) + notices

        ats_warnings = await state.writer.run(write)
    count_result_write(integration.tool)
    return success({}, result.warnings + ats_warnings)
