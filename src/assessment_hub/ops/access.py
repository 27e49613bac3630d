"""Request ids and the access line: one pure ASGI wrapper around the whole application.

For every HTTP request it
- takes the caller's ``X-Request-Id`` when it is a plain token (1-128 of ``A-Z a-z 0-9 . _ : / = + -``),
  or makes one (32 hex digits), and echoes it in the response's ``X-Request-Id``;
- makes it the request's id for every log line written while the request is handled and for the
  ``log_url`` of its error envelope (``Settings.log_url_template``), and for the outbox rows it writes
  (``OutboxRow.request_id``: the delivery lines it causes carry it too);
- writes one access line (``event=request``: method, path without the query string, route template,
  status, duration_ms, client) and counts it in ``assessment_hub_http_requests_total``. Probes
  (``/health``, ``/ready``, ``/metrics``) are logged at debug level.

Installed outermost (``install_request_log``), so requests that inner layers refuse early (a NUL in the
URL, a body too large) have an id and an access line too.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import structlog
from fastapi import FastAPI

from assessment_hub.kit import metrics
from assessment_hub.request_context import log_url_var, request_id_var

log = structlog.get_logger("assessment_hub.access")

_VALID_ID = re.compile(r"[A-Za-z0-9._:/=+-]{1,128}")
QUIET_PATHS = frozenset({"/health", "/ready", "/metrics"})


def request_id_from(headers: list[tuple[bytes, bytes]]) -> str:
    """The caller's ``X-Request-Id`` if it is a plain token, else a new one."""
    for name, value in headers:
        if name == b"x-request-id":
            try:
                text = value.decode("ascii")
            except UnicodeDecodeError:
                break
            if _VALID_ID.fullmatch(text):
                return text
            break
    return uuid.uuid4().hex


def route_template(scope: dict[str, Any]) -> str:
    """The matched route's path template (``/v1/assessment/orders/{assessment_order_id}/result``), or
    ``unmatched``: raw paths would make one metric series per order id."""
    # FastAPI (0.16x) keeps the included route (without its router's prefix) in scope["route"] and the
    # full template in its effective route context; tests/test_operations.py checks the prefix is there
    fastapi_scope = scope.get("fastapi")
    context = fastapi_scope.get("effective_route_context") if isinstance(fastapi_scope, dict) else None
    route = scope.get("route")
    path = getattr(context, "path_format", None) or getattr(route, "path_format", None) or getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


def install_request_log(app: FastAPI) -> None:
    """Wrap ``app``'s middleware stack (outermost) with the request-id and access-line layer."""
    template = app.state.settings.log_url_template
    inner = app.build_middleware_stack

    def build() -> Any:
        downstream = inner()

        async def request_log(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await downstream(scope, receive, send)
                return
            started = time.perf_counter()
            request_id = request_id_from(scope.get("headers") or [])
            header = (b"x-request-id", request_id.encode("ascii"))
            id_token = request_id_var.set(request_id)
            url_token = log_url_var.set(template.replace("{request_id}", request_id))
            status = 500

            async def send_with_id(message: Any) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    message["headers"] = [*message.get("headers", ()), header]
                await send(message)

            try:
                await downstream(scope, receive, send_with_id)
            finally:
                seconds = time.perf_counter() - started
                route = route_template(scope)
                method = scope.get("method", "")
                metrics.observe_request(method, route, status, seconds)
                path = scope.get("path", "")
                client = scope.get("client")
                emit = log.debug if path in QUIET_PATHS else (log.warning if status >= 500 else log.info)
                emit(
                    "request",
                    method=method,
                    path=path,
                    route=route,
                    status=status,
                    duration_ms=round(seconds * 1000, 1),
                    client=client[0] if client else None,
                )
                request_id_var.reset(id_token)
                log_url_var.reset(url_token)

        return request_log

    app.build_middleware_stack = build  # type: ignore[method-assign]
