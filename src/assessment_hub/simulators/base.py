"""What every simulated ATS shares: a Starlette app served by uvicorn in a thread on loopback, a record of every
request the hub made, outage modes, refusal bookkeeping, and the vendor's click-through page.

A simulator subclass implements ``handle(request) -> Reply`` (the ATS's own API, i.e. the hub's write-backs) and
its client side (methods that call the hub as the ATS does, each checking the hub's answer against the protocol
and raising ``ProtocolViolation`` when it deviates), built on what is here: ``call_hub`` (one request with the
ATS's headers), ``require_setup``, ``expect_success`` and ``json_of``. ``Reply(..., reason=...)`` marks a request the ATS refuses:
it lands in ``rejected`` with the reason, everything else in ``received``.

Modes (``set_mode``): ``ok``; ``503`` (every write-back refused with 503, an outage); ``401`` (the ATS refuses the
hub's credentials); ``timeout`` (requests are held ``hold_seconds``, then 504).

The page at ``GET /`` (``page_html``) shows the simulator's set-up form, its orders and the requests it refused;
its forms post to ``/_simulator/{action}`` (``actions``), so a vendor can click through an order without code.
"""

from __future__ import annotations

import asyncio
import base64
import html
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

MODES = ("ok", "503", "401", "timeout")


class ProtocolViolation(AssertionError):
    """The hub answered the simulated ATS in a way that ATS's protocol does not allow."""


def violation(condition: bool, message: str) -> None:
    """Raise ``ProtocolViolation(message)`` unless ``condition``."""
    if not condition:
        raise ProtocolViolation(message)


@dataclass
class RecordedRequest:
    """One request the hub made to the simulator; ``status`` and ``reason`` (why it was refused, None when
    accepted) are filled in once answered."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    json: Any
    status: int = 0
    reason: str | None = None
    at: float = field(default_factory=time.time)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def form(self) -> dict[str, str]:
        """The body as ``application/x-www-form-urlencoded`` fields (the last value of a repeated one)."""
        return {k: v[-1] for k, v in parse_qs(self.text, keep_blank_values=True).items()}


@dataclass
class Reply:
    """The simulator's answer; ``reason`` set records the request as refused. A body that is not bytes or
    str is sent as JSON."""

    status: int
    body: Any = b""
    headers: dict[str, str] | None = None
    media_type: str | None = None
    reason: str | None = None

    def to_response(self) -> Response:
        body, media_type = self.body, self.media_type
        if self.status in (204, 304):
            body = b""
        elif not isinstance(body, (bytes, str)):
            body, media_type = json.dumps(body), media_type or "application/json"
        return Response(content=body, status_code=self.status, headers=self.headers, media_type=media_type)


def bearer_of(headers: dict[str, str]) -> str | None:
    """The token of ``Authorization: Bearer <token>`` (scheme case-insensitive), or None."""
    scheme, _, token = (headers.get("authorization") or "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def basic_auth_value(username: str, password: str = "") -> str:
    """``Authorization`` value of HTTP Basic (RFC 7617) for ``username:password``."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def parse_basic(header: str | None) -> tuple[str, str] | None:
    """``(username, password)`` of an ``Authorization: Basic`` header, or None when it is not one."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic" or not token.strip():
        return None
    try:
        raw = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    if ":" not in raw:
        return None
    user, _, password = raw.partition(":")
    return user, password


def is_http_url(value: Any) -> bool:
    """``value`` is an absolute http(s) URL with a host."""
    if not isinstance(value, str) or not value:
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def wait_until(predicate: Callable[[], Any], timeout: float, what: str = "condition") -> Any:
    """The first truthy ``predicate()`` within ``timeout`` seconds; raises ``TimeoutError`` naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        found = predicate()
        if found:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.02)


def expect_success(response: httpx.Response, what: str) -> None:
    """Raise ``ProtocolViolation`` unless the hub answered 2xx: ``"<what>: expected 2xx, got <status>: <body>"``
    (the body's first 300 characters)."""
    violation(response.is_success, f"{what}: expected 2xx, got {response.status_code}: {response.text[:300]}")


def json_of(response: httpx.Response, what: str) -> Any:
    """The hub's answer parsed as JSON; ``ProtocolViolation`` ``"<what>: body is not JSON: ..."`` when it is not."""
    try:
        return response.json()
    except ValueError:
        raise ProtocolViolation(f"{what}: body is not JSON: {response.text[:200]!r}") from None


class Simulator:
    """Base of a simulated ATS (see the module docstring). ``tool`` and ``label`` name the ATS; ``setup_keys``
    are the hub's set-up values the customer pastes into the ATS (the page's set-up form)."""

    tool: ClassVar[str] = ""
    label: ClassVar[str] = ""
    setup_keys: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, timeout: float = 30.0, hold_seconds: float = 10.0):
        self.host, self.port = host, port
        self.timeout = timeout
        """Seconds the simulator waits for each of its calls to the hub."""
        self.mode = "ok"
        self.hold_seconds = hold_seconds
        self.setup: dict[str, str] = {}
        self.requests: list[RecordedRequest] = []
        self.received: list[RecordedRequest] = []
        self.rejected: list[RecordedRequest] = []
        self.events: list[str] = []
        """What happened, for the page and the CLI (newest last)."""
        self._lock = threading.RLock()
        self._closing = threading.Event()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None
        self.app = Starlette(
            routes=[
                Route("/", self._page, methods=["GET"]),
                Route("/_simulator/{action}", self._action, methods=["POST"]),
                Route("/{path:path}", self._endpoint, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
            ]
        )

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        """``http://host:port`` of the running simulator."""
        if self._url is None:
            raise RuntimeError(f"the {self.label} simulator is not running: call start()")
        return self._url

    @property
    def netloc(self) -> str:
        """``host:port`` of the running simulator: what the hub's ``allowed_callback_hosts`` setting lists."""
        return self.url.split("://", 1)[1]

    def start(self) -> Simulator:
        """Bind (port 0: a free one) and serve in a daemon thread; returns once it accepts connections."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._closing.clear()
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=f"{self.tool}-simulator", daemon=True
        )
        self._thread.start()
        server = self._server
        wait_until(lambda: server.started or not self._thread or not self._thread.is_alive(), 10, "the simulator")
        if not server.started:
            raise RuntimeError(f"the {self.label} simulator did not start")
        self._url = f"http://{self.host}:{port}"
        return self

    def stop(self) -> None:
        self._closing.set()
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(5)
            if self._thread.is_alive():
                self._server.force_exit = True
                self._thread.join(5)
        self._server = self._thread = None
        self._url = None

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def set_mode(self, mode: str, *, hold_seconds: float | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        self.mode = mode
        if hold_seconds is not None:
            self.hold_seconds = hold_seconds
        self.note(f"mode set to {mode}")

    def configure(self, setup: dict[str, str]) -> None:
        """Take the hub's set-up values (what the customer pastes into the ATS); raises ``ValueError`` naming
        a missing one."""
        missing = [k for k in self.setup_keys if not str(setup.get(k) or "").strip()]
        if missing:
            raise ValueError(f"{self.label} set-up values missing: {', '.join(missing)}")
        self.setup = {k: str(setup[k]).strip() for k in self.setup_keys}
        self.note(f"set-up pasted: {', '.join(self.setup_keys)}")

    def require_setup(self) -> None:
        """Raise ``ProtocolViolation`` until the hub's set-up values are pasted (``configure``)."""
        violation(bool(self.setup), f"paste the hub's set-up ({', '.join(self.setup_keys)}) first")

    def call_hub(self, method: str, url: str, ats_headers: dict[str, str], **kwargs: Any) -> httpx.Response:
        """One request to the hub, on a fresh client with the simulator's ``timeout``: the ATS's own
        ``ats_headers`` (its auth), and over them any ``headers`` in ``kwargs`` (a test's extra or changed ones);
        the rest of ``kwargs`` goes to ``httpx.Client.request``."""
        headers = {**ats_headers, **(kwargs.pop("headers", None) or {})}
        with httpx.Client(timeout=self.timeout) as client:
            return client.request(method, url, headers=headers, **kwargs)

    def note(self, text: str) -> None:
        with self._lock:
            self.events.append(f"{time.strftime('%H:%M:%S')} {text}")
            del self.events[:-200]

    # ------------------------------------------------------------------ hooks

    def handle(self, rec: RecordedRequest) -> Reply:  # pragma: no cover - every simulator implements it
        raise NotImplementedError

    def outage_reply(self) -> Reply:
        return Reply(503, "Service Unavailable", media_type="text/plain")

    def bad_credentials_reply(self) -> Reply:
        return Reply(401, "Unauthorized", media_type="text/plain")

    def hub_settings(self) -> dict[str, str]:
        """The ``integrations create --setting`` values for an integration against this simulator (its API base
        URL, the credentials it issued, its host in ``allowed_callback_hosts``)."""
        return {}

    def order(self, package_id: str, email: str, first_name: str = "Ada", last_name: str = "Lovelace") -> str:
        """Order ``package_id`` for a candidate the way the ATS does; returns the ATS's key of the order."""
        raise NotImplementedError

    def writebacks(self, key: str) -> list[dict[str, Any]]:
        """The results the hub wrote for the order ``key``, oldest first, normalized for the demo:
        ``{"status": "OPEN"|"COMPLETED"|..., "score": float|None, "max_score": float|None}``."""
        return []

    def orders_view(self) -> list[dict[str, Any]]:
        """The page's order table: one dict per order, column -> text."""
        return []

    def packages_for_page(self) -> list[tuple[str, str]]:
        """``(id, name)`` of the packages the ATS offers now (asked of the hub), for the page's order form."""
        return []

    def instructions(self, hub_url: str = "http://127.0.0.1:8000") -> list[str]:
        """What a vendor does to point an integration at this simulator (``assessment-hub simulate``)."""
        settings = " ".join(f"--setting {k}={v}" for k, v in self.hub_settings().items())
        keys = ", ".join(self.setup_keys)
        return [
            f"{self.label} simulator listening on {self.url} (open it in a browser to click through)",
            f"1. with the hub running at {hub_url} (ASSESSMENT_HUB_PUBLIC_BASE_URL={hub_url}), create the integration:",
            f"   assessment-hub integrations create --tool {self.tool} --organization 'Simulated {self.label}' "
            f"{settings} --json".replace("  ", " "),
            f"2. paste its setup ({keys}) into {self.url}/ (or start this command again with --setup KEY=VALUE ...)",
            "3. publish packages with the kombo SDK (assessment.set_packages), order from the page, send a result "
            "(assessment.update_order_result): the page shows what the ATS shows",
            "Ctrl-C stops the simulator.",
        ]

    # ------------------------------------------------------------------ plumbing

    async def _endpoint(self, request: Request) -> Response:
        body = await request.body()
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        rec = RecordedRequest(
            method=request.method,
            path=request.url.path,
            query=request.url.query,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            json=parsed,
        )
        with self._lock:
            self.requests.append(rec)
        if self.mode == "503":
            reply = self.outage_reply()
            reply.reason = "mode:503"
        elif self.mode == "401":
            reply = self.bad_credentials_reply()
            reply.reason = "mode:401"
        elif self.mode == "timeout":
            deadline = time.monotonic() + self.hold_seconds
            while time.monotonic() < deadline and not self._closing.is_set():
                await asyncio.sleep(0.05)
            reply = Reply(504, "Gateway Timeout", media_type="text/plain", reason="mode:timeout")
        else:
            try:
                with self._lock:
                    reply = self.handle(rec)
            except Exception as exc:  # a fault in the simulator is loud, never a silent 500
                reply = Reply(500, f"simulator fault: {exc!r}", media_type="text/plain", reason=f"fault: {exc!r}")
        rec.status, rec.reason = reply.status, reply.reason
        with self._lock:
            (self.rejected if reply.reason else self.received).append(rec)
        if reply.reason and not reply.reason.startswith("mode:"):
            self.note(f"refused {rec.method} {rec.path}: {reply.reason}")
        return reply.to_response()

    async def _action(self, request: Request) -> Response:
        raw = (await request.body()).decode("utf-8", "replace")  # the page's forms are url-encoded
        form = {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}
        action = request.path_params["action"]
        try:
            if action == "setup":
                await asyncio.to_thread(self.configure, form)
            elif action == "order":
                key = await asyncio.to_thread(
                    self.order,
                    form.get("package_id", ""),
                    form.get("email", "") or "candidate@example.com",
                    form.get("first_name", "") or "Ada",
                    form.get("last_name", "") or "Lovelace",
                )
                self.note(f"ordered {form.get('package_id')} from the page: order {key}")
            elif action == "mode":
                self.set_mode(form.get("mode", "ok"))
            else:
                return Response(f"no simulator action {action!r}", status_code=404, media_type="text/plain")
        except (ValueError, ProtocolViolation, OSError, NotImplementedError) as exc:
            self.note(f"{action} failed: {exc}")
        return RedirectResponse("/", status_code=303)

    async def _page(self, request: Request) -> Response:
        packages = await asyncio.to_thread(self._packages_or_note) if self.setup else []
        return HTMLResponse(self.page_html(packages))

    def _packages_or_note(self) -> list[tuple[str, str]]:
        try:
            return self.packages_for_page()
        except (ProtocolViolation, OSError, ValueError) as exc:
            self.note(f"listing packages failed: {exc}")
            return []

    def page_html(self, packages: list[tuple[str, str]]) -> str:
        e = html.escape
        setup_fields = "".join(
            f'<label>{e(k)} <input name="{e(k)}" value="{e(self.setup.get(k, ""))}" size="70"></label><br>'
            for k in self.setup_keys
        )
        options = "".join(f'<option value="{e(pid)}">{e(name)} ({e(pid)})</option>' for pid, name in packages)
        order_form = (
            f'<form method="post" action="/_simulator/order"><select name="package_id">{options}</select> '
            '<input name="email" value="candidate@example.com"> <input name="first_name" value="Ada"> '
            '<input name="last_name" value="Lovelace"> <button>Order</button></form>'
            if packages
            else "<p>No packages yet: paste the set-up, and publish packages with the kombo SDK "
            "(<code>assessment.set_packages</code>).</p>"
        )
        rows = self.orders_view()
        columns = list(rows[0]) if rows else []
        table = (
            "<table border=1 cellpadding=4><tr>"
            + "".join(f"<th>{e(c)}</th>" for c in columns)
            + "</tr>"
            + "".join("<tr>" + "".join(f"<td>{e(str(r.get(c, '')))}</td>" for c in columns) + "</tr>" for r in rows)
            + "</table>"
            if rows
            else "<p>No orders yet.</p>"
        )
        modes = "".join(f'<button name="mode" value="{m}">{m}</button> ' for m in MODES)
        events = "".join(f"<li>{e(line)}</li>" for line in reversed(self.events[-30:]))
        return (
            f"<!doctype html><html><head><meta charset=utf-8><title>{e(self.label)} simulator</title></head><body>"
            f"<h1>{e(self.label)} simulator</h1><p>Mode: <b>{e(self.mode)}</b> "
            f'<form method="post" action="/_simulator/mode" style="display:inline">{modes}</form></p>'
            f'<h2>1. Set-up from the hub</h2><form method="post" action="/_simulator/setup">{setup_fields}'
            "<button>Save</button></form>"
            f"<h2>2. Order</h2>{order_form}<h2>3. Orders and what {e(self.label)} shows</h2>{table}"
            f"<h2>Events</h2><ul>{events}</ul></body></html>"
        )


def simulator_class(tool: str) -> type[Simulator]:
    """The simulator of ``tool``: module ``assessment_hub.simulators.<tool>``, its ``SIMULATOR`` class. Raises
    ``KeyError`` naming the tool when there is none."""
    import importlib

    if not tool.isidentifier():
        raise KeyError(f"no simulator for {tool!r}")
    try:
        module = importlib.import_module(f"assessment_hub.simulators.{tool}")
    except ModuleNotFoundError:
        raise KeyError(f"no simulator for {tool!r}") from None
    found = getattr(module, "SIMULATOR", None)
    if not (isinstance(found, type) and issubclass(found, Simulator)):
        raise KeyError(f"no simulator for {tool!r}")
    return found
