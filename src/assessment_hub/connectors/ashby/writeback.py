"""Calling Ashby's ``assessment.update``: timestamps, auth, and how answers map to the error taxonomy.

Timestamps (integer ms, strictly increasing per assessment, ats-protocols.md §5.7):
revision ``n`` is sent with ``ts(n) = max(ms(created_at of n), ts(n-1) + 1)``, folded over the
order's revisions in order. It is a pure function of the stored revisions, so every retry of a
revision sends the same value and a (late, operator-triggered) retry of an older revision always
carries a smaller timestamp than any newer revision: Ashby can never be made to take it as newer.
A rejection is stamped ``max(ms(order.updated_at), ts(last revision) + 1)``.

Answers (Ashby returns would-be 4xx errors as HTTP 200 ``{"success": false, "errorInfo": {code,
message, requestId}}``, https://developers.ashbyhq.com/reference/responses):
- HTTP status first (``check_http_response``): 401/403 -> ConfigError, 429/5xx/timeouts -> RetryableError,
  other 4xx -> RemoteInputError.
- ``success: false``: an ``errorInfo`` code or message about credentials or permissions
  (``invalid_credentials``, ``unauthorized``, ``forbidden``, "...lacking permissions..." as in Ashby's own
  ``application_not_found`` example) -> ConfigError; rate limits and server-side codes
  (``rate_limit*``, ``too_many_requests``, ``internal*``, ``*unavailable``, ``timeout``) -> RetryableError;
  anything else (invalid input, unknown assessment, stale timestamp) -> RemoteInputError, because sending
  the same body again cannot succeed.
- A 2xx answer that is not an Ashby envelope (no boolean ``success``) -> RetryableError (a proxy or an
  outage page, not Ashby's verdict).
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

import httpx

from assessment_hub import __version__
from assessment_hub.assessment import intake
from assessment_hub.connectors.base import (
    ConfigError,
    ConnectorContext,
    RemoteInputError,
    RetryableError,
    check_http_response,
    send_request,
)

DEFAULT_API_BASE_URL = "https://api.ashbyhq.com"
USER_AGENT = f"assessment-hub/{__version__} (+ashby-connector)"

_CONFIG_HINTS = ("credential", "unauthori", "forbidden", "permission", "api_key", "api key", "authenticat")
_RETRY_HINTS = ("rate_limit", "ratelimit", "too_many_requests", "internal", "unavailable", "timeout")


def ms(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)


def fold_timestamps(created: list[datetime]) -> list[int]:
    """Strictly increasing ms timestamps for revisions created at ``created`` (in revision order)."""
    out: list[int] = []
    for instant in created:
        out.append(max(ms(instant), out[-1] + 1) if out else ms(instant))
    return out


def revision_timestamp(context: ConnectorContext, order_id: str, revision: int) -> int:
    with context.read_sessions() as session:
        created = intake.result_times(session, order_id, up_to_revision=revision)
    return fold_timestamps(created)[-1]


def rejection_timestamp(context: ConnectorContext, order_id: str) -> int:
    with context.read_sessions() as session:
        created = intake.result_times(session, order_id)
        rejected_at = intake.order_changed_at(session, order_id)
    last = fold_timestamps(created)[-1] if created else None
    stamp = ms(rejected_at) if rejected_at is not None else 0
    return max(stamp, last + 1) if last is not None else stamp


def classify_failure(info: dict[str, Any], excerpt: str) -> Exception:
    code = str(info.get("code") or "")
    text = f"{code} {info.get('message') or ''}".lower()
    message = f"Ashby assessment.update refused: {code or 'error'}: {info.get('message') or excerpt[:300]}"
    if any(h in text for h in _CONFIG_HINTS):
        return ConfigError(
            message + " (check the Ashby API key and its candidatesWrite permission)",
            http_status=200,
            response_excerpt=excerpt,
        )
    if any(h in code.lower() for h in _RETRY_HINTS):
        return RetryableError(message, http_status=200, response_excerpt=excerpt)
    return RemoteInputError(message, http_status=200, response_excerpt=excerpt)


def update_request(context: ConnectorContext, body: dict[str, Any]) -> httpx.Request:
    """The ``POST {api_base_url}/assessment.update`` carrying ``body``; raises ``ConfigError`` without an api_key."""
    api_key = context.settings.get("api_key")
    if not api_key:
        raise ConfigError("the Ashby integration has no api_key setting (the customer's Ashby API key)")
    base = (context.settings.get("api_base_url") or DEFAULT_API_BASE_URL).rstrip("/")
    return context.http.build_request(
        "POST",
        f"{base}/assessment.update",
        content=json.dumps(body).encode(),
        headers={
            # HTTP Basic: the API key as user name, empty password (§5.2); set here, not by httpx's auth=, so
            # the built request (the console's preview) carries it
            "Authorization": "Basic " + base64.b64encode(f"{api_key}:".encode()).decode(),
            "Content-Type": "application/json",
            "Accept": "application/json; version=1",
            "User-Agent": USER_AGENT,
        },
    )


def send_update(context: ConnectorContext, request: httpx.Request) -> None:
    """Send an ``update_request``; raise a ``ConnectorError`` unless Ashby says success."""
    response = send_request(context, request)
    check_http_response(response, "Ashby assessment.update")
    excerpt = response.text[:1000]
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("success"), bool):
        raise RetryableError(
            "Ashby assessment.update: the answer is not an Ashby envelope (no boolean 'success')",
            http_status=response.status_code,
            response_excerpt=excerpt,
        )
    if data["success"] is False:
        info: dict[str, Any] = data["errorInfo"] if isinstance(data.get("errorInfo"), dict) else {}
        if not info and isinstance(data.get("errors"), list) and data["errors"]:
            info = {"message": "; ".join(map(str, data["errors"]))}
        raise classify_failure(info, excerpt)
