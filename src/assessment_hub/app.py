"""The ASGI application: routers, error handlers, and the resources built at start-up.

``create_app(settings)`` builds nothing at import time; engines, session factories, the attachment
store and the outbound HTTP client are created in the lifespan and disposed at shutdown.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from assessment_hub import __version__
from assessment_hub.admin.erasures import router as erasures_router
from assessment_hub.admin.keys import load_admin_key_hash
from assessment_hub.admin.routes import router as admin_router
from assessment_hub.apidocs import router as apidocs_router
from assessment_hub.assessment.attachment_links import router as attachment_link_router
from assessment_hub.assessment.attachments import AttachmentStore, data_url_client
from assessment_hub.assessment.routes import router as assessment_router
from assessment_hub.concurrency.http import ConcurrencyHeaders, stamp_remaining
from assessment_hub.concurrency.slots import build_slots
from assessment_hub.config import Settings
from assessment_hub.connect.routes import router as connect_router
from assessment_hub.connectors.inbound import mount_inbound_routes
from assessment_hub.connectors.registry import CONNECTORS
from assessment_hub.console.routes import router as console_router
from assessment_hub.console.web import ConsolePage, answer_console_page, unrouted_page
from assessment_hub.db.engine import API, API_WITH_WORKER, build_engine, build_loop_read_engine, database_url, read_only
from assessment_hub.db.reader import Reader
from assessment_hub.db.writer import Writer
from assessment_hub.delivery.wakeup import wake_on_outbox_commit
from assessment_hub.delivery.worker import STOPPED_LINE, DeliveryWorker, started_line
from assessment_hub.errors import (
    HubError,
    InputInvalid,
    MethodNotAllowed,
    NotFound,
    UrlTooLong,
    answer_for_exception,
    describe_validation_error,
    error_body,
)
from assessment_hub.integrations.lookups import Lookups
from assessment_hub.integrations.routes import icons as icon_router
from assessment_hub.integrations.routes import router as general_router
from assessment_hub.kit.address_guard import Resolver
from assessment_hub.kit.body_limit import BodyLimit
from assessment_hub.kit.keep_alive import keep_alive_after_errors
from assessment_hub.kit.logging import configure_logging
from assessment_hub.kit.openapi import install_openapi
from assessment_hub.kit.url_limit import MAX_URL_BYTES, too_long_message, url_bytes
from assessment_hub.ops.access import install_request_log
from assessment_hub.ops.health import router as ops_router
from assessment_hub.ops.startup import one_line_refusals, refusal
from assessment_hub.privacy.retention import retention_chores
from assessment_hub.secret_key import require_readable

log = structlog.get_logger("assessment_hub")


def create_app(
    settings: Settings | None = None,
    *,
    worker: bool = False,
    resolver: Resolver | None = None,
    announce: Callable[[str], None] | None = None,
) -> FastAPI:
    """The API; with ``worker=True`` a delivery worker runs in the same process (the embedded set-up).
    ``resolver`` answers the host names of ``data_url``s (default: the system's; tests give their own).
    ``announce`` gets that worker's start and stop lines, the ones ``assessment-hub worker`` prints
    (``serve`` passes a printer to stdout; default: not printed)."""
    settings = settings or Settings()
    configure_logging(settings.log_level, settings.log_format)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        role = API_WITH_WORKER if worker else API  # pg_stat_activity's application_name
        engine = build_engine(settings, role=role)
        wake = threading.Event()
        app.state.engine = engine
        app.state.sessions = sessionmaker(engine, expire_on_commit=False)
        app.state.read_sessions = sessionmaker(read_only(engine), expire_on_commit=False)
        try:
            with app.state.read_sessions() as session:  # a key that cannot read the stored credentials: no start
                require_readable(session, settings.cipher)
        except Exception as exc:  # a database that cannot be used, or that key: one line, not a traceback
            refused = refusal(exc, settings.database_url)
            if refused is None:
                raise
            engine.dispose()
            raise refused from None
        wake_on_outbox_commit(app.state.sessions, wake)
        app.state.writer = Writer(app.state.sessions)
        loop_engine = None if settings.is_sqlite else build_loop_read_engine(settings, role=role)
        app.state.reader = Reader(read_only(engine) if loop_engine is None else loop_engine)
        app.state.lookups = Lookups(settings.lookup_cache_s)
        app.state.attachment_store = AttachmentStore(settings.attachments_dir)
        app.state.data_urls = data_url_client(settings, resolver)
        app.state.http = httpx.Client(timeout=settings.data_url_timeout_s)  # checks a connect form's credentials
        app.state.concurrency = build_slots(database_url(settings, role), settings.concurrency_limit)
        app.state.admin_key_hash = load_admin_key_hash(app.state.read_sessions, settings)
        stop = threading.Event()
        thread = None
        if worker:
            chores = retention_chores(settings, app.state.sessions)
            delivery = DeliveryWorker(settings, app.state.sessions, wake=wake, chores=chores)
            thread = threading.Thread(target=delivery.run, args=(stop,), name="delivery-worker", daemon=True)
            thread.start()
            if announce is not None:
                announce(started_line(delivery))
        try:
            yield
        finally:
            stop.set()
            wake.set()
            if thread is not None:
                thread.join(timeout=settings.delivery_timeout_s + 5)
                if announce is not None:
                    announce(
                        STOPPED_LINE
                        if not thread.is_alive()
                        else f"delivery worker did not stop within {settings.delivery_timeout_s + 5:g} s; its sends in progress are left to their lease"
                    )
            await app.state.data_urls.aclose()
            app.state.http.close()
            await app.state.concurrency.close()
            app.state.writer.close()
            if loop_engine is not None:
                loop_engine.dispose()
            engine.dispose()

    app = FastAPI(
        title="assessment-hub",
        version=__version__,
        description="Between assessment vendors and applicant tracking systems. The vendor API under `/v1` "
        "is compatible with Kombo's Assessment API (the official `kombo` SDKs work by changing `server_url`); "
        "`/admin` is the operator's API; `/connectors/{tool}/...` are the URLs each ATS calls.",
        lifespan=lifespan,
        docs_url=None,  # apidocs: served with the package's own assets
        redoc_url=None,
        redirect_slashes=False,
    )  # a trailing slash is a 404, not a redirect built from the Host header
    app.state.settings = settings
    app.router.lifespan = one_line_refusals(app.router.lifespan)  # type: ignore[method-assign]  # ops.startup
    app.state.connectors = CONNECTORS
    """The connector registry, for routes that need a tool's connector (they do not import the registry)."""
    app.include_router(assessment_router, prefix="/v1")
    app.include_router(general_router, prefix="/v1")
    app.include_router(icon_router)
    app.include_router(admin_router)
    app.include_router(attachment_link_router)
    app.include_router(connect_router)
    app.include_router(console_router)
    app.include_router(ops_router)
    app.include_router(erasures_router)
    mount_inbound_routes(app, CONNECTORS)
    app.include_router(apidocs_router)
    install_openapi(app, {tool: connector.label for tool, connector in CONNECTORS.items()})
    app.add_middleware(ConcurrencyHeaders)
    _install_error_handlers(app)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)  # every route, before a body or key is read
    _guard_urls(app)
    _wrap_stack(app, keep_alive_after_errors)  # around Starlette's ServerErrorMiddleware
    install_request_log(app)  # outermost: X-Request-Id and the access line for every request
    return app


def create_api_app() -> FastAPI:
    """The API alone, settings from the environment: the factory each API process of ``supervise`` builds
    (``serve --workers N``, and ``serve`` on PostgreSQL); the delivery worker runs in a process of its own there."""
    from assessment_hub.kit.header_timeout import HeaderTimeoutProtocol
    from assessment_hub.supervise import stop_with_supervisor

    stop_with_supervisor()  # a SIGKILLed supervisor leaves no API process serving
    settings = Settings()
    HeaderTimeoutProtocol.timeout_s = settings.header_timeout_s  # the class uvicorn imports by name here
    return create_app(settings, worker=False)


def _wrap_stack(app: FastAPI, wrapper: Any) -> None:
    """``wrapper`` around the whole middleware stack Starlette builds (outside its ServerErrorMiddleware)."""
    inner = app.build_middleware_stack
    app.build_middleware_stack = lambda: wrapper(inner())  # type: ignore[method-assign]


def _guard_urls(app: FastAPI) -> None:
    """A URL longer than ``kit.url_limit.MAX_URL_BYTES`` (path and query; 414) or with a NUL character in
    the path or query (400: PostgreSQL cannot compare text with it, and no id or filter contains one) is
    refused before any route sees it, with the Kombo envelope. A pure ASGI wrapper: no per-request cost
    beyond a length and two substring checks."""
    inner = app.build_middleware_stack

    def build() -> Any:
        downstream = inner()

        async def guard(scope: dict, receive: Any, send: Any) -> None:
            error: HubError | None = None
            if scope["type"] == "http":
                size = url_bytes(scope)
                if size > MAX_URL_BYTES:
                    error = UrlTooLong(too_long_message(size))
                elif "\x00" in scope.get("path", "") or b"%00" in scope.get("query_string", b""):
                    error = InputInvalid("The URL must not contain the NUL character (%00).")
            if error is not None:
                body = error_body(error.code, error.title, error.message)
                await JSONResponse(body, status_code=error.status_code)(scope, receive, send)
                return
            await downstream(scope, receive, send)

        return guard

    app.build_middleware_stack = build  # type: ignore[method-assign]


def _install_error_handlers(app: FastAPI) -> None:
    def respond(exc: HubError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.code, exc.title, exc.message), status_code=exc.status_code, headers=exc.headers
        )

    app.add_exception_handler(ConsolePage, answer_console_page)  # a console route's HTML error page

    @app.exception_handler(HubError)
    async def hub_error(_request: Request, exc: HubError) -> JSONResponse:
        return respond(exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return respond(InputInvalid(describe_validation_error(exc).replace("Invalid request body", "Invalid request")))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        path = request.url.path
        unrouted: HubError | None = None
        if exc.status_code == 404:
            unrouted = NotFound(f"No route {request.method} {path}.")
        elif exc.status_code == 405:
            unrouted = MethodNotAllowed(f"{request.method} is not allowed on {path}.")
        if unrouted is not None:  # under /console, the console's HTML page; elsewhere the JSON envelope
            in_console = path == "/console" or path.startswith("/console/")
            return unrouted_page(request, unrouted) if in_console else respond(unrouted)
        error = InputInvalid(str(exc.detail))
        error.status_code = exc.status_code
        return respond(error)

    @app.exception_handler(ClientDisconnect)
    async def client_gone(_request: Request, _exc: ClientDisconnect) -> Response:
        # the client hung up while sending its body: nothing was stored and nobody reads the answer;
        # not an error of the hub (and rendering a traceback for it costs the event loop dearly)
        return Response(status_code=400)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # a console route answers its own as an HTML page (ConsoleRoute); this is everything else
        return stamp_remaining(request, respond(answer_for_exception(exc, request.method, request.url.path)))
