"""Connect routes: the vendor API (``/v1/connect/*``, Bearer key, ``PLATFORM.*`` errors), the connect page the
link points at (``/connect/{token}``, HTML), and the operator's ``GET /admin/connect/links``.

``router`` holds all of them, so the app includes one router. Page routes answer HTML in every case (an expired,
used or forged link gets a plain explanation); the API answers the Kombo envelopes.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from assessment_hub.admin.deps import AdminDep
from assessment_hub.config import Settings
from assessment_hub.connect import page, service
from assessment_hub.connect.forms import FORMS, form_for
from assessment_hub.connect.models import ConnectLinkRow
from assessment_hub.connect.responses import ConnectedIntegration, ConnectLink, Links
from assessment_hub.connect.schemas import ActivateIn, CreateLinkIn
from assessment_hub.connecting import integration_setup
from assessment_hub.connectors.base import ConfigError, RetryableError, SettingsError
from assessment_hub.db.session import ReadSessionDep, SessionDep, unit_of_work
from assessment_hub.integrations.deps import ApiKeyDep
from assessment_hub.integrations.models import IntegrationRow
from assessment_hub.kit.body import json_body, read_body
from assessment_hub.kit.envelope import success
from assessment_hub.kit.links import public_base_url
from assessment_hub.kit.openapi import documented
from assessment_hub.kit.timestamps import format_instant

MAX_FORM_BYTES = 64 * 1024

api = APIRouter(prefix="/v1/connect", tags=["connect"])
pages = APIRouter(prefix="/connect", include_in_schema=False)
admin = APIRouter(prefix="/admin/connect", dependencies=[AdminDep], tags=["admin"])


# ------------------------------------------------------------------ vendor API (kombo-contract.md §6)


@api.post(
    "/create-link",
    **documented(
        "Create a connection link",
        description="A link to the connect page, where the customer connects their ATS "
        "(EMBEDDED: valid 1 hour, MAGIC_LINK: 1 year).",
        data=ConnectLink,
        body=CreateLinkIn,
    ),
)
def create_link(
    key: ApiKeyDep,
    request: Request,
    session: SessionDep,
    body: Annotated[CreateLinkIn, Depends(json_body(CreateLinkIn))],
) -> Response:
    _row, token = service.create_link(session, key.id, body)
    return success({"link": f"{public_base_url(request)}/connect/{token}"})


@api.get(
    "/integration-by-token/{token}",
    **documented(
        "Get the integration of an activation token",
        description="The integration the customer created through a connection link (tokens live 24 hours).",
        data=ConnectedIntegration,
        errors=(404,),
    ),
)
def integration_by_token(token: str, key: ApiKeyDep, session: ReadSessionDep) -> Response:
    return success(service.integration_by_token(session, token, key.id))


@api.post(
    "/activate-integration",
    deprecated=True,
    **documented(
        "Activate an integration (deprecated)",
        description="Answers as the integration-by-token endpoint: integrations are active from the start.",
        data=ConnectedIntegration,
        body=ActivateIn,
        errors=(404,),
    ),
)
def activate_integration(
    key: ApiKeyDep, session: ReadSessionDep, body: Annotated[ActivateIn, Depends(json_body(ActivateIn))]
) -> Response:
    return success(service.integration_by_token(session, body.token, key.id))


# ------------------------------------------------------------------ operator


@admin.get(
    "/links",
    **documented("List connection links", description="Newest first, never their tokens.", data=Links, errors=(400,)),
)
def list_links(
    session: ReadSessionDep,
    state: Annotated[service.LinkState | None, Query(description="open, used or expired")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    return success({"links": [service.link_view(row) for row in service.list_links(session, state, limit)]})


# ------------------------------------------------------------------ the connect page


@pages.get("/assets/{name}")
def asset(name: str) -> Response:
    return page.asset(name)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _closed(settings: Settings, link: ConnectLinkRow | None, tool_label: str | None = None) -> Response | None:
    """The page for a link that cannot be used (unknown, expired, used), else None."""
    vendor = page.vendor_name(settings)
    if link is None:
        return page.problem(
            settings,
            404,
            "This link is not valid",
            f"The address may be incomplete or mistyped. Ask {vendor} for a new connection link.",
        )
    state = service.link_state(link)
    if state == "expired":
        lifetime = "1 year" if link.link_type == "MAGIC_LINK" else "1 hour"
        return page.problem(
            settings,
            410,
            "This link has expired",
            f"Connection links work for {lifetime}; this one expired at {format_instant(link.expires_at)}. "
            f"Ask {vendor} for a new link.",
            link.language,
        )
    if state == "used":
        what = f" to connect {tool_label}" if tool_label else ""
        return page.problem(
            settings,
            410,
            "This link was already used",
            f"It was used{what} at {format_instant(link.used_at)}. A link connects one ATS once: "
            f"ask {vendor} for a new link to connect again.",
            link.language,
        )
    return None


def _load(request: Request, token: str) -> tuple[ConnectLinkRow | None, str | None]:
    """The link and, once used, the label of the tool it connected."""
    with request.app.state.read_sessions() as session:
        link = service.find_link(session, token)
        label = None
        if link is not None and link.integration_id:
            integration = session.get(IntegrationRow, link.integration_id)
            label = service.tool_label(integration.tool) if integration is not None else None
        return link, label


def _tool(tool: str) -> dict[str, str]:
    return {"id": tool, "label": service.tool_label(tool)}


def _form(
    settings: Settings,
    link: ConnectLinkRow,
    token: str,
    tool: str,
    *,
    error: str | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    form = form_for(tool)
    return page.render(
        settings,
        "form.html",
        status_code,
        language=link.language,
        token=token,
        tool=_tool(tool),
        organization=link.end_user_organization_name,
        fields=form.fields,
        checked_by=form.checked_by,
        back=len(service.tools_of(link)) > 1,
        error=error,
        values=values or {},
    )


def _not_offered(settings: Settings, link: ConnectLinkRow, tool: str) -> Response:
    return page.problem(
        settings,
        404,
        "This ATS cannot be connected with this link",
        f"This link does not offer {tool!r}. Go back and pick one of the tools it lists.",
        link.language,
    )


@pages.get("/{token}")
def landing(token: str, request: Request) -> Response:
    """The tools the link allows (the form directly when it allows one). Unknown query parameters (the embed
    library's ``sdkv``) are ignored."""
    settings = _settings(request)
    link, label = _load(request, token)
    closed = _closed(settings, link, label)
    if closed is not None:
        return closed
    assert link is not None
    tools = service.tools_of(link)
    if len(tools) == 1:
        return _form(settings, link, token, tools[0])
    if not tools:
        return _not_offered(settings, link, link.integration_tool or "")
    return page.render(
        settings,
        "choose.html",
        language=link.language,
        token=token,
        organization=link.end_user_organization_name,
        tools=[_tool(t) for t in tools],
    )


@pages.get("/{token}/tools/{tool}")
def tool_form(token: str, tool: str, request: Request) -> Response:
    settings = _settings(request)
    link, label = _load(request, token)
    closed = _closed(settings, link, label)
    if closed is not None:
        return closed
    assert link is not None
    if tool not in service.tools_of(link):
        return _not_offered(settings, link, tool)
    return _form(settings, link, token, tool)


@pages.post("/{token}/tools/{tool}")
async def connect(token: str, tool: str, request: Request) -> Response:
    """Check the customer's fields (and credentials with the ATS), then create the integration and mark the
    link used, then redirect to the done page (so a reload does not submit twice)."""
    raw = await read_body(request, MAX_FORM_BYTES)
    given = dict(parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True))
    return await run_in_threadpool(_connect, request, token, tool, given)


def _connect(request: Request, token: str, tool: str, given: dict[str, str]) -> Response:
    settings = _settings(request)
    link, label = _load(request, token)
    closed = _closed(settings, link, label)
    if closed is not None:
        return closed
    assert link is not None
    if tool not in service.tools_of(link):
        return _not_offered(settings, link, tool)
    form = form_for(tool)
    shown = {f.name: given.get(f.name, "") for f in form.fields if not f.secret}
    try:
        prepared = service.prepare_given(form, tool, given, settings)
    except SettingsError as exc:
        message = exc.message.removeprefix("settings: ")
        if tool not in FORMS:
            message += f" {service.tool_label(tool)} cannot be connected here yet: ask {page.vendor_name(settings)}."
        return _form(settings, link, token, tool, error=message, values=shown, status_code=400)
    if form.check is not None:
        try:
            form.check(request.app.state.http, prepared.prepared)
        except ConfigError as exc:
            return _form(
                settings,
                link,
                token,
                tool,
                error=f"{exc.message}. Check it and try again.",
                values=shown,
                status_code=400,
            )
        except RetryableError as exc:
            return _form(
                settings,
                link,
                token,
                tool,
                error=f"The key could not be checked: {exc.message}. Try again in a moment.",
                values=shown,
                status_code=503,
            )
    try:
        with unit_of_work(request.app.state.sessions) as session:
            service.complete_link(session, link.id, tool, prepared.chosen, settings)
    except service.LinkClosed:
        link, label = _load(request, token)
        return _closed(settings, link, label) or page.problem(settings, 410, "This link is closed", "")
    return RedirectResponse(f"/connect/{token}/done", status_code=303, headers=page.page_headers(settings))


@pages.get("/{token}/done")
def done(token: str, request: Request) -> Response:
    """What to paste into the ATS, and the button that hands the activation token to the embedding window."""
    settings = _settings(request)
    with request.app.state.read_sessions() as session:
        link = service.find_link(session, token)
        integration = session.get(IntegrationRow, link.integration_id) if link and link.integration_id else None
    if link is not None and link.used_at is None and service.link_state(link) == "open":
        return RedirectResponse(f"/connect/{token}", status_code=303, headers=page.page_headers(settings))
    if link is None or integration is None or integration.deleted_at is not None or not service.done_page_open(link):
        label = service.tool_label(integration.tool) if integration is not None else None
        return _closed(settings, link, label) or page.problem(settings, 410, "This link was already used", "")
    setup: dict[str, Any] = integration_setup(integration, settings.cipher, public_base_url(request))
    notes = [str(v) for k, v in setup.items() if k == "note"]
    return page.render(
        settings,
        "done.html",
        language=link.language,
        tool=_tool(integration.tool),
        organization=integration.organization_name,
        setup=[(k, str(v)) for k, v in setup.items() if k != "note"],
        notes=notes,
        steps=form_for(integration.tool).steps,
        activation_token=service.activation_token(link, settings),
    )


router = APIRouter()
router.include_router(api)
router.include_router(admin)
router.include_router(pages)
