"""The console's pages (``/console/...``): each parses, calls the services the admin API calls, renders.

No SQL here: listings, overview, preview and operator actions live in their features' service modules
(``admin.overview``, ``assessment.browse``, ``delivery.service``, ``delivery.preview``, ...). Every
POST carries the session's CSRF token (``Posted``); GETs change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from assessment_hub.admin import overview as overview_service
from assessment_hub.admin.keys import admin_key_matches
from assessment_hub.admin.views import integration_view
from assessment_hub.assessment import browse
from assessment_hub.assessment.service import list_packages
from assessment_hub.connecting import create_integration as connect_integration
from assessment_hub.connecting import integration_setup
from assessment_hub.connectors.sandbox import service as sandbox
from assessment_hub.connectors.sandbox.orders import create_sandbox_order
from assessment_hub.console.auth import (
    COOKIE,
    COOKIE_PATH,
    SESSION_S,
    ConsoleSession,
    SignInThrottle,
    check_csrf,
    check_origin,
    cookie_options,
    current_session,
    fingerprint_of,
    issue_cookie,
    read_form,
)
from assessment_hub.console.guides import setup_steps
from assessment_hub.console.web import ConsoleRoute, back_to, render, static_file
from assessment_hub.db.session import ReadSessionDep, SessionDep, unit_of_work
from assessment_hub.delivery import service as deliveries
from assessment_hub.delivery.models import STATES
from assessment_hub.delivery.preview import writeback_preview
from assessment_hub.errors import InputInvalid, NotFound
from assessment_hub.integrations import service as integrations
from assessment_hub.kit.links import public_base_url
from assessment_hub.webhooks import service as webhooks
from assessment_hub.webhooks.events import EVENT_TYPES

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
SECRET_HINTS = ("key", "secret", "token", "password")


async def _session(request: Request) -> ConsoleSession:
    return current_session(request)


Console = Annotated[ConsoleSession, Depends(_session)]


@dataclass
class Posted:
    """A signed-in form post whose CSRF token and origin were checked."""

    session: ConsoleSession
    form: dict[str, list[str]]

    def get(self, name: str, default: str = "") -> str:
        values = self.form.get(name)
        return values[0].strip() if values else default

    def all(self, name: str) -> list[str]:
        return [v.strip() for v in self.form.get(name, []) if v.strip()]


async def _posted(request: Request) -> Posted:
    session = current_session(request)
    check_origin(request)
    form = await read_form(request)
    check_csrf(session, form)
    return Posted(session, form)


PostedForm = Annotated[Posted, Depends(_posted)]


def _is_secret(name: str) -> bool:
    return any(hint in name.lower() for hint in SECRET_HINTS)


def _throttle(request: Request) -> SignInThrottle:
    state = request.app.state
    throttle = getattr(state, "console_throttle", None)
    if throttle is None:
        throttle = state.console_throttle = SignInThrottle()
    return throttle


def _next(target: str) -> str:
    return target if target.startswith("/console") and not target.startswith("//") else "/console"


# ------------------------------------------------------------------ static files, sign-in


@router.get("/static/{name}")
def static(name: str) -> Response:
    found = static_file(name)
    if found is None:
        raise NotFound(f"No static file {name!r}.")
    content, media_type = found
    return Response(content, media_type=media_type, headers={"Cache-Control": "public, max-age=3600"})


@router.get("/login")
def login_page(request: Request, next: str = "/console") -> Response:
    disabled = fingerprint_of(request) is None
    return render(request, "login.html", next=_next(next), disabled=disabled)


@router.post("/login")
async def login(request: Request) -> Response:
    check_origin(request)
    form = await read_form(request)
    key = (form.get("admin_key") or [""])[0].strip()
    target = _next((form.get("next") or ["/console"])[0])
    fingerprint = fingerprint_of(request)
    state = request.app.state
    address = request.client.host if request.client else "unknown"
    if fingerprint is None:
        return render(request, "login.html", next=target, disabled=True, status_code=503)
    if not key or not admin_key_matches(state.settings, getattr(state, "admin_key_hash", None), key):
        await _throttle(request).failed(address)
        return render(
            request, "login.html", next=target, error="That is not the admin key. Try again.", status_code=401
        )
    _throttle(request).succeeded(address)
    value, _ = issue_cookie(state.settings, fingerprint)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(value=value, max_age=SESSION_S, **cookie_options(state.settings))
    return response


@router.post("/logout")
def logout(posted: PostedForm) -> Response:
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(COOKIE, path=COOKIE_PATH)
    return response


# ------------------------------------------------------------------ overview


@router.get("")
def overview_page(request: Request, console: Console, session: ReadSessionDep) -> Response:
    return render(request, "overview.html", console, nav="overview", overview=overview_service.overview(session))


# ------------------------------------------------------------------ integrations


@router.get("/integrations")
def integrations_page(request: Request, console: Console, session: ReadSessionDep) -> Response:
    rows = integrations.list_integrations(session, include_deleted=True)
    tools = _tools(request)
    return render(request, "integrations.html", console, nav="integrations", integrations=rows, tools=tools)


@router.get("/integrations/new")
def new_integration_page(request: Request, console: Console, tool: str = "sandbox") -> Response:
    return _integration_form(request, console, tool)


def _tools(request: Request) -> list[tuple[str, str]]:
    return [(tool, cls.label) for tool, cls in request.app.state.connectors.items()]


def _connector_class(request: Request, tool: str) -> Any:
    """The tool's connector class from the registry the app was built with (``app.state.connectors``)."""
    cls = request.app.state.connectors.get(tool)
    if cls is None:
        raise InputInvalid(
            f"tool: unknown tool {tool!r}; known tools: {', '.join(sorted(request.app.state.connectors))}."
        )
    return cls


def _integration_form(
    request: Request,
    console: ConsoleSession,
    tool: str,
    *,
    error: str | None = None,
    given: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    cls = _connector_class(request, tool)
    fields = getattr(cls, "setting_fields", ())
    return render(
        request,
        "integration_new.html",
        console,
        nav="integrations",
        tool=tool,
        label=cls.label,
        fields=fields,
        error=error,
        given={k: v for k, v in (given or {}).items() if not any(f.name == k and f.secret for f in fields)},
        tools=_tools(request),
        status_code=status_code,
    )


@router.post("/integrations/new")
def create_integration(request: Request, posted: PostedForm) -> Response:
    tool = posted.get("tool")
    state = request.app.state
    cls = _connector_class(request, tool)
    names = [f.name for f in getattr(cls, "setting_fields", ())]
    given = {name: posted.get(f"setting_{name}") for name in names if posted.get(f"setting_{name}")}
    organization = posted.get("organization_name")
    text_fields = {"organization_name": organization, "creator_email": posted.get("creator_email"), **given}
    if not organization:
        return _integration_form(
            request, posted.session, tool, error="Organization name: required.", given=text_fields, status_code=400
        )
    try:
        with unit_of_work(state.sessions) as session:
            row = connect_integration(
                session,
                tool,
                organization,
                settings=given,
                cipher=state.settings.cipher,
                creator_email=posted.get("creator_email") or None,
            )
            setup = integration_setup(row, state.settings.cipher, public_base_url(request))
            view = integration_view(row, state.settings.cipher)
    except InputInvalid as exc:
        return _integration_form(request, posted.session, tool, error=exc.message, given=text_fields, status_code=400)
    return render(
        request,
        "integration_created.html",
        posted.session,
        nav="integrations",
        integration=view,
        setup=setup,
        steps=setup_steps(tool),
    )


@router.get("/integrations/{integration_id}")
def integration_page(request: Request, integration_id: str, console: Console, session: ReadSessionDep) -> Response:
    state = request.app.state
    row = integrations.get_integration(session, integration_id, include_deleted=True)
    view = integration_view(row, state.settings.cipher)
    setup = integration_setup(row, state.settings.cipher, public_base_url(request)) if row.deleted_at is None else {}
    shown_setup = {k: (None if _is_secret(k) else v) for k, v in setup.items()}
    packages = list_packages(session, integration_id)
    return render(
        request,
        "integration.html",
        console,
        nav="integrations",
        integration=view,
        setup=shown_setup,
        steps=setup_steps(row.tool),
        packages=packages,
    )


@router.post("/integrations/{integration_id}/{action}")
def change_integration(request: Request, integration_id: str, action: str, posted: PostedForm) -> Response:
    change = {
        "activate": integrations.activate_integration,
        "deactivate": integrations.deactivate_integration,
        "delete": integrations.delete_integration,
    }.get(action)
    if change is None:
        raise NotFound(f"No integration action {action!r}.")
    state = request.app.state
    with unit_of_work(state.sessions) as session:
        change(session, integration_id)
    state.lookups.integrations.forget(integration_id)  # the vendor API sees it from the next request on
    done = {"activate": "activated", "deactivate": "deactivated", "delete": "deleted"}[action]
    return back_to(f"/console/integrations/{integration_id}", f"Integration {done}.")


@router.get("/integrations/{integration_id}/delete")
def confirm_delete_integration(
    request: Request, integration_id: str, console: Console, session: ReadSessionDep
) -> Response:
    row = integrations.get_integration(session, integration_id)
    return render(
        request,
        "confirm.html",
        console,
        nav="integrations",
        question=f"Delete the integration {row.id} ({row.organization_name})?",
        detail="The ATS can no longer reach the hub through it and the vendor API answers it as unknown. "
        "Its orders and deliveries stay visible here.",
        action=f"/console/integrations/{row.id}/delete",
        button="Delete integration",
        cancel=f"/console/integrations/{row.id}",
    )


# ------------------------------------------------------------------ orders


@router.get("/orders")
def orders_page(
    request: Request,
    console: Console,
    session: ReadSessionDep,
    integration: str = "",
    status: str = "",
    package: str = "",
    q: str = "",
    cursor: str = "",
) -> Response:
    page = browse.browse_orders(
        session,
        integration_id=integration or None,
        status=status or None,
        package_id=package or None,
        search=q or None,
        cursor=cursor or None,
    )
    filters = {"integration": integration, "status": status, "package": package, "q": q}
    return render(
        request,
        "orders.html",
        console,
        nav="orders",
        page=page,
        filters=filters,
        first_page=not cursor,
        statuses=browse.ORDER_STATUSES,
        integrations=integrations.list_integrations(session, include_deleted=True),
    )


@router.get("/orders/{order_id}")
def order_page(request: Request, order_id: str, console: Console, session: ReadSessionDep) -> Response:
    state = request.app.state
    order = browse.get_any_order(session, order_id)
    rows = deliveries.list_deliveries(session, order_id=order_id, limit=500)
    attempts = deliveries.attempts_by_delivery(session, [row.id for row in rows])
    preview = writeback_preview(session, state.settings, order_id)
    received = (
        sandbox.show_order(session, order_id)["writebacks"] if order.integration_id.startswith("sandbox:") else None
    )
    live = any(row.state in ("pending", "in_flight") for row in rows)
    return render(
        request,
        "order.html",
        console,
        nav="orders",
        order=order,
        revisions=browse.revisions_of(session, order_id),
        deliveries=list(reversed(rows)),
        attempts=attempts,
        preview=preview,
        received=received,
        live=live,
    )


# ------------------------------------------------------------------ deliveries


@router.get("/deliveries")
def deliveries_page(
    request: Request,
    console: Console,
    session: ReadSessionDep,
    state: str = "",
    integration: str = "",
    order: str = "",
) -> Response:
    rows = deliveries.list_deliveries(
        session, state=state or None, integration_id=integration or None, order_id=order or None, limit=200
    )
    return render(
        request,
        "deliveries.html",
        console,
        nav="deliveries",
        deliveries=rows,
        states=STATES,
        filters={"state": state, "integration": integration, "order": order},
        live=any(row.state in ("pending", "in_flight") for row in rows),
    )


@router.post("/deliveries/act")
def act_on_deliveries(posted: PostedForm, session: SessionDep) -> Response:
    """Retry or cancel: one delivery (``one=retry:ID``) or the selected ones (``action`` + ``id``s)."""
    one = posted.get("one")
    if one:
        action, _, raw_ids = one.partition(":")
        ids_text = [raw_ids]
    else:
        action, ids_text = posted.get("action"), posted.all("id")
    try:
        ids = [int(i) for i in ids_text]
    except ValueError:
        raise InputInvalid("id: delivery ids are numbers.") from None
    if not ids:
        return back_to(_next(posted.get("next", "/console/deliveries")), "Select at least one delivery.")
    results = deliveries.act_on_deliveries(session, action, ids)
    done = [str(i) for i, why in results if why is None]
    refused = [why for _, why in results if why is not None]
    verb = "retried" if action == "retry" else "cancelled"
    notice = (f"Delivery {', '.join(done)} {verb}." if done else "") + (" " + " ".join(refused) if refused else "")
    return back_to(_next(posted.get("next", "/console/deliveries")), notice.strip())


# ------------------------------------------------------------------ webhook endpoints


@router.get("/webhooks")
def webhooks_page(request: Request, console: Console, session: ReadSessionDep) -> Response:
    return _webhooks(request, console, session)


def _webhooks(request: Request, console: ConsoleSession, session: Session, **extra: Any) -> Response:
    return render(
        request,
        "webhooks.html",
        console,
        nav="webhooks",
        endpoints=webhooks.list_endpoints(session),
        event_types=EVENT_TYPES,
        **extra,
    )


@router.post("/webhooks")
def create_webhook(request: Request, posted: PostedForm, session: SessionDep) -> Response:
    row, secret = webhooks.create_endpoint(
        session, request.app.state.settings.cipher, posted.get("url"), posted.all("events") or None
    )
    return _webhooks(request, posted.session, session, created=row, secret=secret)


@router.post("/webhooks/{endpoint_id}/test")
def test_webhook(request: Request, endpoint_id: str, posted: PostedForm, session: ReadSessionDep) -> Response:
    settings = request.app.state.settings
    with httpx.Client(timeout=settings.delivery_timeout_s) as http:
        body, outcome = deliveries.send_test_event(
            session, settings.cipher, endpoint_id, http, settings.delivery_timeout_s
        )
    tested = next((e.url for e in webhooks.list_endpoints(session) if e.id == endpoint_id), endpoint_id)
    return _webhooks(request, posted.session, session, tested=tested, test_body=body, outcome=outcome)


@router.get("/webhooks/{endpoint_id}/delete")
def confirm_delete_webhook(request: Request, endpoint_id: str, console: Console, session: ReadSessionDep) -> Response:
    row = next((e for e in webhooks.list_endpoints(session) if e.id == endpoint_id), None)
    if row is None:
        raise NotFound(f"No webhook endpoint with id {endpoint_id!r}.")
    return render(
        request,
        "confirm.html",
        console,
        nav="webhooks",
        question=f"Delete the webhook endpoint {row.url}?",
        detail="Events are no longer sent there; deliveries already queued for it end as failed.",
        action=f"/console/webhooks/{row.id}/delete",
        button="Delete endpoint",
        cancel="/console/webhooks",
    )


@router.post("/webhooks/{endpoint_id}/delete")
def delete_webhook(endpoint_id: str, posted: PostedForm, session: SessionDep) -> Response:
    webhooks.delete_endpoint(session, endpoint_id)
    return back_to("/console/webhooks", "Webhook endpoint deleted.")


# ------------------------------------------------------------------ API keys


@router.get("/api-keys")
def api_keys_page(request: Request, console: Console, session: ReadSessionDep) -> Response:
    return render(request, "api_keys.html", console, nav="api-keys", keys=integrations.list_api_keys(session))


@router.post("/api-keys")
def create_api_key(request: Request, posted: PostedForm, session: SessionDep) -> Response:
    key = integrations.create_api_key(session, posted.get("name"))
    return render(
        request,
        "api_keys.html",
        posted.session,
        nav="api-keys",
        keys=integrations.list_api_keys(session),
        created_key=key,
    )


@router.get("/api-keys/{key_id}/revoke")
def confirm_revoke_key(request: Request, key_id: str, console: Console, session: ReadSessionDep) -> Response:
    row = next((k for k in integrations.list_api_keys(session) if k.id == key_id), None)
    if row is None:
        raise NotFound(f"No API key with id {key_id!r}.")
    return render(
        request,
        "confirm.html",
        console,
        nav="api-keys",
        question=f"Revoke the API key {row.key_prefix}... ({row.name})?",
        detail="Vendor requests with it are refused (401) from now on. This cannot be undone.",
        action=f"/console/api-keys/{row.id}/revoke",
        button="Revoke key",
        cancel="/console/api-keys",
    )


@router.post("/api-keys/{key_id}/revoke")
def revoke_api_key(request: Request, key_id: str, posted: PostedForm) -> Response:
    state = request.app.state
    with unit_of_work(state.sessions) as session:
        row, _ = integrations.revoke_api_key(session, key_id)
        key_hash = row.key_hash
    state.lookups.api_keys.forget(key_hash)
    return back_to("/console/api-keys", "API key revoked.")


# ------------------------------------------------------------------ sandbox


@router.get("/sandbox")
def sandbox_index(console: Console, session: ReadSessionDep) -> Response:
    live = [row for row in integrations.list_integrations(session) if row.tool == "sandbox"]
    if live:
        return back_to(f"/console/sandbox/{live[0].id}")
    return back_to("/console/integrations/new?tool=sandbox", "Create a sandbox integration first.")


@router.get("/sandbox/{integration_id}")
def sandbox_page(request: Request, integration_id: str, console: Console, session: ReadSessionDep) -> Response:
    sandbox.sandbox_integration(session, integration_id)  # refuses another tool's integration
    integration = integrations.get_integration(session, integration_id)
    latest = browse.browse_orders(session, integration_id=integration_id, page_size=50)
    return render(
        request,
        "sandbox.html",
        console,
        nav="sandbox",
        integration=integration,
        sandboxes=[row for row in integrations.list_integrations(session) if row.tool == "sandbox"],
        packages=list_packages(session, integration_id),
        outage=sandbox.outage_of(session, integration_id),
        modes=sandbox.OUTAGE_MODES,
        received=sandbox.received_writebacks(session, [order.id for order in latest.orders]),
    )


@router.post("/sandbox/{integration_id}/orders")
def place_sandbox_order(integration_id: str, posted: PostedForm, session: SessionDep) -> Response:
    order = create_sandbox_order(session, integration_id, posted.get("package_id"), email=posted.get("email") or None)
    return back_to(f"/console/orders/{order.id}", "Order placed in the sandbox ATS.")


@router.post("/sandbox/{integration_id}/outage")
def set_sandbox_outage(integration_id: str, posted: PostedForm, session: SessionDep) -> Response:
    row = sandbox.set_outage(session, integration_id, posted.get("mode"))
    return back_to(f"/console/sandbox/{integration_id}", f"Sandbox outage mode: {row.outage_mode}.")


@router.get("/sandbox/{integration_id}/reset")
def confirm_reset_sandbox(request: Request, integration_id: str, console: Console, session: ReadSessionDep) -> Response:
    sandbox.sandbox_integration(session, integration_id)
    return render(
        request,
        "confirm.html",
        console,
        nav="sandbox",
        question=f"Reset the sandbox {integration_id}?",
        detail="Its orders, results, received write-backs and packages are deleted; undelivered messages are cancelled.",
        action=f"/console/sandbox/{integration_id}/reset",
        button="Reset sandbox",
        cancel=f"/console/sandbox/{integration_id}",
    )


@router.post("/sandbox/{integration_id}/reset")
def reset_sandbox(integration_id: str, posted: PostedForm, session: SessionDep) -> Response:
    removed = sandbox.reset(session, integration_id)
    return back_to(
        f"/console/sandbox/{integration_id}",
        f"Sandbox reset: {removed['orders']} orders, {removed['packages']} packages removed.",
    )
