"""``/admin/*``: integrations, webhook endpoints, deliveries and the sandbox ATS, for the hub's operator.

Every route needs the admin key (``deps.require_admin``), answers the Kombo success envelope and raises
``HubError``s (the Kombo error envelope). Routes only parse, call one service function and shape the
answer; the rules live in the services. The endpoints and their errors are listed in docs/admin.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from assessment_hub import connecting
from assessment_hub.admin.deps import AdminDep
from assessment_hub.admin.schemas import IntegrationIn, OutageIn, SandboxOrderIn, WebhookIn
from assessment_hub.admin.views import endpoint_view, integration_view
from assessment_hub.connectors.sandbox import service as sandbox
from assessment_hub.connectors.sandbox.orders import create_sandbox_order
from assessment_hub.db.session import ReadSessionDep, SessionDep, unit_of_work
from assessment_hub.delivery import service as deliveries
from assessment_hub.delivery.inline import deliver_inline
from assessment_hub.delivery.models import STATES
from assessment_hub.errors import InputInvalid
from assessment_hub.integrations import service as integrations
from assessment_hub.kit.body import json_body
from assessment_hub.kit.envelope import Envelope, EnvelopeResponse, success
from assessment_hub.kit.links import public_base_url
from assessment_hub.webhooks import service as webhooks

DeliveryId = Annotated[int, Path(ge=1, le=2**63 - 1, description="A delivery id (outbox row id).")]

router = APIRouter(prefix="/admin", dependencies=[AdminDep], tags=["admin"])

DeliveryState = Literal[STATES]  # type: ignore[valid-type]


# ------------------------------------------------------------------ integrations


@router.post("/integrations", response_model=Envelope)
def create_integration(
    request: Request, session: SessionDep, body: Annotated[IntegrationIn, Depends(json_body(IntegrationIn))]
) -> EnvelopeResponse:
    cipher = request.app.state.settings.cipher
    try:
        row = connecting.create_integration(
            session,
            body.tool,
            body.organization_name,
            settings=body.settings,
            cipher=cipher,
            creator_email=body.creator_email,
            origin_id=body.origin_id,
        )
    except KeyError as exc:
        raise InputInvalid(f"tool: {exc.args[0]}.") from None
    return success(
        {**integration_view(row, cipher), "setup": connecting.integration_setup(row, cipher, public_base_url(request))}
    )


@router.get("/integrations/{integration_id}/setup", response_model=Envelope)
def get_integration_setup(integration_id: str, request: Request, session: ReadSessionDep) -> EnvelopeResponse:
    """What the customer pastes into the ATS (URLs and the keys the hub minted), as at creation."""
    row = integrations.get_integration(session, integration_id)
    return success(connecting.integration_setup(row, request.app.state.settings.cipher, public_base_url(request)))


@router.get("/integrations", response_model=Envelope)
def list_integrations(request: Request, session: ReadSessionDep, include_deleted: bool = False) -> EnvelopeResponse:
    cipher = request.app.state.settings.cipher
    rows = integrations.list_integrations(session, include_deleted=include_deleted)
    return success({"integrations": [integration_view(row, cipher) for row in rows]})


@router.post("/integrations/{integration_id}/deactivate", response_model=Envelope)
def deactivate_integration(integration_id: str, request: Request) -> EnvelopeResponse:
    return _changed_integration(request, integrations.deactivate_integration, integration_id)


@router.post("/integrations/{integration_id}/activate", response_model=Envelope)
def activate_integration(integration_id: str, request: Request) -> EnvelopeResponse:
    return _changed_integration(request, integrations.activate_integration, integration_id)


@router.delete("/integrations/{integration_id}", response_model=Envelope)
def delete_integration(integration_id: str, request: Request) -> EnvelopeResponse:
    return _changed_integration(request, integrations.delete_integration, integration_id)


def _changed_integration(
    request: Request, change: Callable[[Session, str], Any], integration_id: str
) -> EnvelopeResponse:
    """``change(session, integration_id)`` committed here, then this process's cached copy forgotten: the
    vendor API sees the change from the next request on (``integrations.lookups``)."""
    state = request.app.state
    with unit_of_work(state.sessions) as session:
        view = integration_view(change(session, integration_id), state.settings.cipher)
    state.lookups.integrations.forget(integration_id)
    return success(view)


# ------------------------------------------------------------------ webhook endpoints


@router.post("/webhooks", response_model=Envelope)
def create_webhook(
    request: Request, session: SessionDep, body: Annotated[WebhookIn, Depends(json_body(WebhookIn))]
) -> EnvelopeResponse:
    row, secret = webhooks.create_endpoint(session, request.app.state.settings.cipher, body.url, body.events)
    return success(endpoint_view(row, secret))


@router.get("/webhooks", response_model=Envelope)
def list_webhooks(session: ReadSessionDep) -> EnvelopeResponse:
    return success({"webhooks": [endpoint_view(row) for row in webhooks.list_endpoints(session)]})


@router.delete("/webhooks/{endpoint_id}", response_model=Envelope)
def delete_webhook(endpoint_id: str, session: SessionDep) -> EnvelopeResponse:
    webhooks.delete_endpoint(session, endpoint_id)
    return success({})


# ------------------------------------------------------------------ deliveries


@router.get("/deliveries", response_model=Envelope)
def list_deliveries(
    session: ReadSessionDep,
    state: DeliveryState | None = None,
    order_id: str | None = None,
    integration_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> EnvelopeResponse:
    rows = deliveries.list_deliveries(
        session, state=state, order_id=order_id, integration_id=integration_id, limit=limit
    )
    return success({"deliveries": [deliveries.delivery_view(row) for row in rows]})


@router.get("/deliveries/{delivery_id}", response_model=Envelope)
def get_delivery(delivery_id: DeliveryId, session: ReadSessionDep) -> EnvelopeResponse:
    row = deliveries.get_delivery(session, delivery_id)
    return success(deliveries.delivery_view(row, deliveries.attempts_of(session, delivery_id)))


@router.post("/deliveries/{delivery_id}/retry", response_model=Envelope)
def retry_delivery(delivery_id: DeliveryId, session: SessionDep) -> EnvelopeResponse:
    return success(deliveries.delivery_view(deliveries.retry_delivery(session, delivery_id)))


@router.post("/deliveries/{delivery_id}/cancel", response_model=Envelope)
def cancel_delivery(delivery_id: DeliveryId, session: SessionDep) -> EnvelopeResponse:
    return success(deliveries.delivery_view(deliveries.cancel_delivery(session, delivery_id)))


# ------------------------------------------------------------------ the sandbox ATS


@router.post("/sandbox/{integration_id}/orders", response_model=Envelope)
async def create_sandbox_order_route(
    integration_id: str,
    request: Request,
    body: Annotated[SandboxOrderIn, Depends(json_body(SandboxOrderIn))],
) -> EnvelopeResponse:
    """Commit the order first (on ``app.state.writer``): an inline order's event is then sent while the caller
    waits. A new order has no write-backs yet, so its view is built from the row just written."""
    state = request.app.state

    def create(session: Session) -> tuple[str, dict[str, Any] | None]:
        order = create_sandbox_order(
            session, integration_id, body.package_id, email=body.email, seed=body.seed, inline=body.inline
        )
        if body.inline:
            return order.id, None
        return order.id, sandbox.show_order(session, order.id)  # a new order: taken from the session, no query

    order_id, view = await state.writer.run(create)
    if view is not None:
        return success(view)
    return await run_in_threadpool(_inline_order, state, order_id)


def _inline_order(state: Any, order_id: str) -> EnvelopeResponse:
    warnings = []
    if deliver_inline(state.settings, state.sessions, order_id) is None:
        warnings.append(f"The vendor gave no assessment_url; see GET /admin/deliveries?order_id={order_id}.")
    with unit_of_work(state.read_sessions) as session:
        return success(sandbox.show_order(session, order_id), warnings)


@router.get("/sandbox/orders/{order_id}", response_model=Envelope)
def show_sandbox_order(order_id: str, session: ReadSessionDep) -> EnvelopeResponse:
    return success(sandbox.show_order(session, order_id))


@router.post("/sandbox/{integration_id}/reset", response_model=Envelope)
def reset_sandbox(integration_id: str, session: SessionDep) -> EnvelopeResponse:
    return success(sandbox.reset(session, integration_id))


@router.put("/sandbox/{integration_id}/outage", response_model=Envelope)
def set_sandbox_outage(
    integration_id: str, session: SessionDep, body: Annotated[OutageIn, Depends(json_body(OutageIn))]
) -> EnvelopeResponse:
    row = sandbox.set_outage(session, integration_id, body.mode, body.fail_ratio)
    return success({"integration_id": row.integration_id, "mode": row.outage_mode, "fail_ratio": row.fail_ratio})
