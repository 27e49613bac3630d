"""The write-back preview: the request the order's connector would send for its latest result, now.

Built by the connector's own ``result_request`` (the code ``write_result`` sends with) from the same
snapshots the delivery worker builds (``connectors.snapshots``), with an HTTP client configured like
the worker's. Nothing is sent. Headers are masked as in attempt records (``delivery.requests``).

Limits: attachment links carry an expiry computed when the request is built, so a preview and a later
send differ there; everything else is equal byte for byte while the order, its latest revision and the
integration's settings stay the same.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from assessment_hub.assessment.models import OrderRow, ResultRevisionRow
from assessment_hub.config import Settings
from assessment_hub.connectors.base import ConnectorContext, ConnectorError
from assessment_hub.connectors.registry import build_connector
from assessment_hub.connectors.snapshots import order_snapshot, result_snapshot
from assessment_hub.delivery.requests import RequestView, request_view
from assessment_hub.errors import NotFound
from assessment_hub.integrations.models import IntegrationRow
from assessment_hub.integrations.service import integration_settings


@dataclass(frozen=True)
class WritebackPreview:
    """``request`` set: what would be sent. Otherwise ``note`` says why there is none (no result yet,
    nothing goes over HTTP, or the connector would refuse: ``error``)."""

    revision: int | None
    request: RequestView | None
    note: str | None = None
    error: str | None = None


def worker_base_url(settings: Settings) -> str:
    """The base URL the delivery worker builds links with (``DeliveryWorker.public_base_url``)."""
    return settings.public_base_url or "http://127.0.0.1:8000"


def _on_connection(session: Session) -> sessionmaker[Session]:
    """Sessions on ``session``'s connection and in its transaction: their commit and close leave that
    transaction as it is (``join_transaction_mode="rollback_only"``: only a rollback would end it), so they
    are for reading."""
    return sessionmaker(bind=session.connection(), expire_on_commit=False, join_transaction_mode="rollback_only")


def writeback_preview(session: Session, settings: Settings, order_id: str) -> WritebackPreview:
    """The preview for ``order_id``'s latest result revision, read through ``session``. Raises ``NotFound``
    for an unknown order.

    The connector's session factory (Ashby reads the revision timestamps through it) makes sessions on
    ``session``'s own connection, inside its transaction (``_on_connection``): a preview never checks out a
    second connection while the caller holds one, which would double a page's use of the pool and, with N
    pages at once on a pool of N, leave each holding one and waiting for another."""
    order = session.scalar(select(OrderRow).where(OrderRow.id == order_id))
    if order is None:
        raise NotFound(f"No order with id {order_id!r}.")
    if order.latest_result_id is None:
        return WritebackPreview(None, None, note="The order has no result yet: nothing to write back.")
    revision = session.scalar(
        select(ResultRevisionRow)
        .where(ResultRevisionRow.id == order.latest_result_id)
        .options(selectinload(ResultRevisionRow.attachments))
    )
    integration = session.get(IntegrationRow, order.integration_id)
    if revision is None or integration is None:
        return WritebackPreview(None, None, note="The order's result or integration is gone.")
    snapshot = order_snapshot(order)
    result = result_snapshot(revision, settings, worker_base_url(settings))
    with httpx.Client(timeout=settings.delivery_timeout_s) as http:  # configured as the worker's; never sends
        context = ConnectorContext(
            integration_id=integration.id,
            settings=integration_settings(integration, settings.cipher),
            hub_settings=settings,
            http=http,
            sessions=(on_page := _on_connection(session)),
            read_sessions=on_page,
        )
        connector = build_connector(integration.tool, context)
        build = getattr(connector, "result_request", None)
        if build is None:
            return WritebackPreview(revision.revision, None, note=f"The {integration.tool} connector has no preview.")
        try:
            request = build(snapshot, result)
        except ConnectorError as exc:
            return WritebackPreview(revision.revision, None, error=exc.message)
    if request is None:
        return WritebackPreview(
            revision.revision,
            None,
            note=(
                "Nothing goes over HTTP for this revision: the ATS shows no such result (e.g. an OPEN one in "
                "Recruitee or Lever, see the result's warnings) or keeps the write-back inside the hub (the sandbox)."
            ),
        )
    return WritebackPreview(revision.revision, request_view(request))
