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
from assessment_hub.admin.responses import (
    AdminIntegration,
    AdminIntegrations,
    CreatedIntegration,
    CreatedWebhookEndpoint,
    Deliveries,
    Delivery,
    DeliveryWithAttempts,
    SandboxOrder,
    SandboxOutage,
    SandboxReset,
    WebhookEndpoints,
)
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
from assessment_hub.kit.envelope import EnvelopeResponse, success
from assessment_hub.kit.links import public_base_url
from assessment_hub.kit.openapi import Empty, documented
from assessment_hub.webhooks import service as webhooks

DeliveryId = Annotated[int, Path(ge=1, le=2**63 - 1, description="A delivery id (outbox row id).")]

router = APIRouter(prefix="/admin", dependencies=[AdminDep], tags=["admin"])

DeliveryState = Literal[STATES]  # type: ignore[valid-type]


# ------------------------------------------------------------------ integrations


@router.post(
    "/integrations",
    **documented(
        "Create an integration",
        description="Connect a customer's ATS; answers the integration and its `setup`, what the customer pastes into the ATS. Queues the `integration-created` webhook.",
        data=CreatedIntegration,
        body=IntegrationIn,
        errors=(),
    ),
)
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


@router.get(
    "/integrations/{integration_id}/setup",
    **documented(
        "Show the set-up",
        description="What the customer pastes into the ATS (URLs and the keys the hub minted), as at creation.",
        data=dict[str, Any],
        errors=(404,),
    ),
)
def get_integration_setup(integration_id: str, request: Request, session: ReadSessionDep) -> EnvelopeResponse:
    row = integrations.get_integration(session, integration_id)
    return success(connecting.integration_setup(row, request.app.state.settings.cipher, public_base_url(request)))


@router.get(
    "/integrations",
    **documented(
        "List integrations",
        description="Oldest first; deleted ones only with `include_deleted=true`.",
        data=AdminIntegrations,
        errors=(400,),
    ),
)
def list_integrations(request: Request, session: ReadSessionDep, include_deleted: bool = False) -> EnvelopeResponse:
    cipher = request.app.state.settings.cipher
    rows = integrations.list_integrations(session, include_deleted=include_deleted)
    return success({"integrations": [integration_view(row, cipher) for row in rows]})


@router.post(
    "/integrations/{integration_id}/deactivate",
    **documented(
        "Deactivate an integration",
        description="The vendor API then answers 404 for it; its orders and deliveries are kept.",
        data=AdminIntegration,
        errors=(404,),
    ),
)
def deactivate_integration(integration_id: str, request: Request) -> EnvelopeResponse:
    return _changed_integration(request, integrations.deactivate_integration, integration_id)


@router.post(
    "/integrations/{integration_id}/activate",
    **documented(
        "Activate an integration",
        description="Makes a deactivated integration ACTIVE again.",
        data=AdminIntegration,
        errors=(404,),
    ),
)
def activate_integration(integration_id: str, request: Request) -> EnvelopeResponse:
    return _changed_integration(request, integrations.activate_integration, integration_id)


@router.delete(
    "/integrations/{integration_id}",
    **documented(
        "Delete an integration",
        description="Marks it deleted and queues `integration-deleted`; it then answers as unknown everywhere.",
        data=AdminIntegration,
        errors=(404,),
    ),
)
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


@router.post(
    "/webhooks",
    **documented(
        "Add a webhook endpoint",
        description="Answers the endpoint with its signing secret, shown this once.",
        data=CreatedWebhookEndpoint,
        body=WebhookIn,
        errors=(),
    ),
)
def create_webhook(
    request: Request, session: SessionDep, body: Annotated[WebhookIn, Depends(json_body(WebhookIn))]
) -> EnvelopeResponse:
    row, secret = webhooks.create_endpoint(session, request.app.state.settings.cipher, body.url, body.events)
    return success(endpoint_view(row, secret))


@router.get(
    "/webhooks",
    **documented(
        "List webhook endpoints",
        description="Oldest first, without secrets.",
        data=WebhookEndpoints,
        errors=(),
    ),
)
def list_webhooks(session: ReadSessionDep) -> EnvelopeResponse:
    return success({"webhooks": [endpoint_view(row) for row in webhooks.list_endpoints(session)]})


@router.delete(
    "/webhooks/{endpoint_id}",
    **documented(
        "Remove a webhook endpoint",
        description="Its undelivered messages fail as 'destination no longer exists'.",
        data=Empty,
        errors=(404,),
    ),
)
def delete_webhook(endpoint_id: str, session: SessionDep) -> EnvelopeResponse:
    webhooks.delete_endpoint(session, endpoint_id)
    return success({})


# ------------------------------------------------------------------ deliveries


@router.get(
    "/deliveries",
    **documented(
        "List deliveries",
        description="Webhooks and ATS write-backs, newest first.",
        data=Deliveries,
        errors=(400, 404),
    ),
)
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


@router.get(
    "/deliveries/{delivery_id}",
    **documented(
        "Show a delivery",
        description="The delivery with every attempt.",
        data=DeliveryWithAttempts,
        errors=(400, 404),
    ),
)
def get_delivery(delivery_id: DeliveryId, session: ReadSessionDep) -> EnvelopeResponse:
    row = deliveries.get_delivery(session, delivery_id)
    return success(deliveries.delivery_view(row, deliveries.attempts_of(session, delivery_id)))


@router.post(
    "/deliveries/{delivery_id}/retry",
    **documented(
        "Retry a delivery",
        description="Makes a dead, cancelled or pending delivery due now.",
        data=Delivery,
        errors=(400, 404),
    ),
)
def retry_delivery(delivery_id: DeliveryId, session: SessionDep) -> EnvelopeResponse:
    return success(deliveries.delivery_view(deliveries.retry_delivery(session, delivery_id)))


@router.post(
    "/deliveries/{delivery_id}/cancel",
    **documented(
        "Cancel a delivery",
        description="Cancels a pending or dead delivery (kept, marked cancelled).",
        data=Delivery,
        errors=(400, 404),
    ),
)
def cancel_delivery(delivery_id: DeliveryId, session: SessionDep) -> EnvelopeResponse:
    return success(deliveries.delivery_view(deliveries.cancel_delivery(session, delivery_id)))


# ------------------------------------------------------------------ the sandbox ATS


@router.post(
    "/sandbox/{integration_id}/orders",
    **documented(
        "Place a sandbox order",
        description="An OPEN order with realistic candidate and job data, as a recruiter would place it. With `inline`, waits for the vendor's `assessment_url`.",
        data=SandboxOrder,
        body=SandboxOrderIn,
        errors=(404,),
    ),
)
async def create_sandbox_order_route(
    integration_id: str,
    request: Request,
    body: Annotated[SandboxOrderIn, Depends(json_body(SandboxOrderIn))],
) -> EnvelopeResponse:
    # Commits the order first (on app.state.writer): an inline order's event is then sent while the caller
    # waits. A new order has no write-backs yet, so its view is built from the row just written.
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


@router.get(
    "/sandbox/orders/{order_id}",
    **documented(
        "Show a sandbox order",
        description="The order with every write-back the sandbox ATS received.",
        data=SandboxOrder,
        errors=(404,),
    ),
)
def show_sandbox_order(order_id: str, session: ReadSessionDep) -> EnvelopeResponse:
    return success(sandbox.show_order(session, order_id))


@router.post(
    "/sandbox/{integration_id}/reset",
    **documented(
        "Reset the sandbox",
        description="Deletes the sandbox's orders and packages and cancels its undelivered messages.",
        data=SandboxReset,
        errors=(400, 404),
    ),
)
def reset_sandbox(integration_id: str, session: SessionDep) -> EnvelopeResponse:
    return success(sandbox.reset(session, integration_id))


@router.put(
    "/sandbox/{integration_id}/outage",
    **documented(
        "Switch a sandbox outage",
        description="Make the sandbox ATS fail write-backs (503, timeout, flaky, 401) or recover (off).",
        data=SandboxOutage,
        body=OutageIn,
        errors=(404,),
    ),
)
def set_sandbox_outage(
    integration_id: str, session: SessionDep, body: Annotated[OutageIn, Depends(json_body(OutageIn))]
) -> EnvelopeResponse:
    row = sandbox.set_outage(session, integration_id, body.mode, body.fail_ratio)
    return success({"integration_id": row.integration_id, "mode": row.outage_mode, "fail_ratio": row.fail_ratio})
