"""What every console page shares: the Jinja2 environment, the route class and the static files.

``ConsoleRoute`` wraps each console endpoint: a missing session becomes a redirect to the sign-in page,
a ``HubError`` (bad input, unknown id, refused form) an HTML error page with its status, so does any other
exception (``errors.answer_for_exception``: a database problem 503 or 429 with ``Retry-After``, a fault 500
with its traceback in the log; never the vendor API's JSON envelope), raised as ``ConsolePage`` so that the
request's writes roll back, and every
answer gets the security headers (``SECURITY_HEADERS``: a Content-Security-Policy without inline script
or style, no framing, no caching of pages).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from datetime import datetime
from importlib.resources import files
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from assessment_hub.console.auth import ConsoleSession, SignInRequired
from assessment_hub.errors import HubError, answer_for_exception, describe_validation_error
from assessment_hub.kit.timestamps import format_instant, utcnow

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
STATIC_FILES = {
    "htmx.min.js": "text/javascript; charset=utf-8",
    "console.js": "text/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
}
"""The only files ``/console/static/{name}`` serves (shipped in the package, no CDN)."""


def _ago(value: datetime | None) -> str:
    if value is None:
        return "never"
    seconds = (utcnow() - value).total_seconds()
    if seconds < 0:
        return "in " + _span(-seconds)
    return _span(seconds) + " ago"


def _span(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} d"


def _pretty(value: Any) -> str:
    return json.dumps(
        value, indent=2, ensure_ascii=False, default=lambda v: format_instant(v) if isinstance(v, datetime) else str(v)
    )


def _pretty_body(text: str | None) -> str:
    """A JSON body indented for reading; any other text as it is."""
    if not text:
        return ""
    try:
        return _pretty(json.loads(text))
    except ValueError:
        return text


def build_environment() -> Environment:
    env = Environment(
        loader=PackageLoader("assessment_hub.console", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["instant"] = format_instant
    env.filters["ago"] = _ago
    env.filters["span"] = _span
    env.filters["pretty"] = _pretty
    env.filters["pretty_body"] = _pretty_body
    env.filters["urlquote"] = lambda value: quote(str(value), safe="")
    return env


TEMPLATES = build_environment()


def render(
    request: Request,
    template: str,
    session: ConsoleSession | None = None,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """``template`` with ``context``, the session's CSRF token (``csrf``), the current path (``path``) and
    a ``notice`` from the query string (set by the redirect after a form)."""
    html = TEMPLATES.get_template(template).render(
        request=request,
        csrf=session.csrf if session else None,
        signed_in=session is not None,
        path=request.url.path,
        notice=request.query_params.get("notice"),
        **context,
    )
    return HTMLResponse(html, status_code=status_code)


def back_to(target: str, notice: str | None = None) -> RedirectResponse:
    """303 to a console page (``target`` must start with ``/console``), with an optional notice."""
    if not target.startswith("/console") or target.startswith("//"):
        target = "/console"
    if notice:
        target += ("&" if "?" in target else "?") + "notice=" + quote(notice, safe="")
    return RedirectResponse(target, status_code=303)


def error_page(request: Request, exc: HubError) -> HTMLResponse:
    """``exc`` as the console's error page: its status, title, message and headers (e.g. ``Retry-After``)."""
    response = render(request, "error.html", status_code=exc.status_code, title=exc.title, message=exc.message)
    response.headers.update(exc.headers or {})
    return response


class ConsolePage(Exception):
    """A console route's error page (``response``, security headers on), raised rather than returned so that the
    request's unit of work sees the error and rolls back (``db.session``: the dependency ends after the route
    handler); the app answers it with ``answer_console_page``."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


async def answer_console_page(_request: Request, exc: Exception) -> Response:
    """The exception handler for ``ConsolePage``: its page."""
    assert isinstance(exc, ConsolePage)
    return exc.response


def unrouted_page(request: Request, exc: HubError) -> Response:
    """The console's error page for a path under ``/console`` that no route answers (404) or a method it does
    not take (405): Starlette's router answers those before any ``ConsoleRoute`` runs."""
    return _secured(error_page(request, exc))


def _secured(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _page_for(request: Request, exc: Exception) -> Response:
    if isinstance(exc, HubError):
        return error_page(request, exc)
    if isinstance(exc, RequestValidationError):
        return render(
            request, "error.html", status_code=400, title="Invalid request", message=describe_validation_error(exc)
        )
    # a database problem (503 or 429, Retry-After) or a fault (500, its traceback logged)
    return error_page(request, answer_for_exception(exc, request.method, request.url.path))


class ConsoleRoute(APIRoute):
    """An endpoint of the console (see the module docstring)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def console_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except SignInRequired:
                wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                target = "/console/login"
                if request.method == "GET" and wanted not in ("/console", "/console/login"):
                    target += "?next=" + quote(wanted, safe="")
                response = RedirectResponse(target, status_code=303)
                if request.headers.get("hx-request"):
                    response.headers["HX-Redirect"] = target
            except (StarletteHTTPException, ClientDisconnect):
                raise  # the app's handlers: a malformed body's 400, a client that hung up
            except Exception as exc:
                raise ConsolePage(_secured(_page_for(request, exc))) from exc
            return _secured(response)

        return console_handler


def static_file(name: str) -> tuple[bytes, str] | None:
    media_type = STATIC_FILES.get(name)
    if media_type is None:
        return None
    return files("assessment_hub.console").joinpath("static", name).read_bytes(), media_type
