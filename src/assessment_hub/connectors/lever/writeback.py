"""hub -> Lever: ``GET {api_base_url}/opportunities/{id}`` (when an order comes in) and ``POST
{api_base_url}/opportunities/{id}/notes`` (results), both with HTTP Basic, the API key as the user name and a
blank password (ats-protocols-2.md §4.1 OFFICIAL-PARTIAL, §4.4 SECONDARY).

Answers (``check_http_response`` with ``STATUS_RULES``): 401/403 -> the API key needs a human (``ConfigError``);
429 -> rate limited (Lever sends no Retry-After: the hub's default wait), 408, 425, 5xx and network failures ->
retry; any other 4xx (404: no such opportunity, 400/422: a refused note) is final (``RemoteInputError``).
Notes cannot be updated at Lever ("remove the note and add again"): each revision is a note of its own.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

import httpx

from assessment_hub import __version__
from assessment_hub.connectors.base import (
    ConfigError,
    ConnectorContext,
    StatusRules,
    check_http_response,
    send_request,
)

DEFAULT_API_BASE_URL = "https://api.lever.co/v1"
USER_AGENT = f"assessment-hub/{__version__} (+lever-connector)"
STATUS_RULES = StatusRules(
    retry=frozenset({408, 425}),
    credentials_hint="check the api_key setting: the customer's Lever API key (HTTP Basic)",
)
OPPORTUNITY = ("hub", "opportunity_id")
"""Where an order's ``remote_data`` holds the Lever opportunity id."""


def basic(api_key: str) -> str:
    return "Basic " + base64.b64encode(f"{api_key}:".encode()).decode()


def headers(settings: dict[str, Any]) -> dict[str, str]:
    """Basic auth, JSON; raises ``ConfigError`` without an API key."""
    api_key = str(settings.get("api_key") or "")
    if not api_key:
        raise ConfigError("the Lever integration has no api_key setting (the customer's Lever API key)")
    return {"Authorization": basic(api_key), "Accept": "application/json", "User-Agent": USER_AGENT}


def opportunity_url(settings: dict[str, Any], opportunity_id: str) -> str:
    base = str(settings.get("api_base_url") or DEFAULT_API_BASE_URL).rstrip("/")
    return f"{base}/opportunities/{quote(opportunity_id, safe='')}"


def opportunity_of(order_remote_data: dict[str, Any] | None) -> str:
    hub = (order_remote_data or {}).get("hub") or {}
    opportunity_id = hub.get("opportunity_id") if isinstance(hub, dict) else None
    if not isinstance(opportunity_id, str) or not opportunity_id:
        raise ConfigError("the Lever order has no opportunity id: nothing to write the note on")
    return opportunity_id


def note_request(context: ConnectorContext, opportunity_id: str, body: dict[str, Any]) -> httpx.Request:
    return context.http.build_request(
        "POST",
        opportunity_url(context.settings, opportunity_id) + "/notes",
        json=body,
        headers={**headers(context.settings), "Content-Type": "application/json"},
    )


def post_note(context: ConnectorContext, request: httpx.Request) -> None:
    """Send a ``note_request``; raise a ``ConnectorError`` unless Lever took it."""
    response = send_request(context, request)
    if not response.is_success:
        check_http_response(response, "Lever note POST", STATUS_RULES, detail=_detail(response))


def fetch_opportunity(http: httpx.Client, settings: dict[str, Any], opportunity_id: str, timeout: float) -> Any:
    """``GET /opportunities/{id}``: the JSON answer; raises a ``ConnectorError`` for a non-2xx answer, and
    ``httpx.HTTPError`` when Lever cannot be reached."""
    response = http.get(opportunity_url(settings, opportunity_id), headers=headers(settings), timeout=timeout)
    if not response.is_success:
        check_http_response(response, "Lever opportunity GET", STATUS_RULES, detail=_detail(response))
    return response.json()


def _detail(response: httpx.Response) -> str | None:
    """Lever's ``{"code", "message"}`` error body (SECONDARY), else the first 300 characters."""
    try:
        data = response.json()
    except ValueError:
        return response.text[:300] or None
    if isinstance(data, dict) and (data.get("message") or data.get("code")):
        return f"{data.get('code') or ''}: {data.get('message') or ''}".strip(": ")[:300]
    return response.text[:300] or None
