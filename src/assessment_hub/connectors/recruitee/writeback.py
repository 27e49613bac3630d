"""hub -> Recruitee: ``PATCH {api_base_url}/p/{codename}/reports/{report_id}`` (ats-protocols-2.md §3.2,
OFFICIAL-PARTIAL), headers ``RT-PARTNER-SECRET: {partner_secret}`` and ``Content-Type: application/json``.

Answers (``check_http_response`` with ``STATUS_RULES``): 401/403 -> the partner secret needs a human
(``ConfigError``); 429 (Retry-After), 408, 425, 5xx and network failures -> retry; any other 4xx (404: no such
report or codename, 422: a refused body) is final (``RemoteInputError``): the report exists at Recruitee before it
calls the hub, so a 404 is no race. Recruitee's error body is UNCONFIRMED: its first 300 characters go into the
message.
"""

from __future__ import annotations

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

DEFAULT_API_BASE_URL = "https://integrations.recruitee.com/api"
SECRET_HEADER = "RT-PARTNER-SECRET"
USER_AGENT = f"assessment-hub/{__version__} (+recruitee-connector)"
STATUS_RULES = StatusRules(
    retry=frozenset({408, 425}),
    credentials_hint="check the partner_secret setting (RT-PARTNER-SECRET) and the codename",
)
REPORT_KEY = ("report_id",)
"""Where an order's ``remote_data`` (the send-candidate body as received) holds the report id."""


def report_url(context: ConnectorContext, remote_data: dict[str, Any] | None) -> str:
    """The report of the order; raises ``ConfigError`` without a codename or a report id."""
    report_id = (remote_data or {}).get("report_id")
    if isinstance(report_id, int) and not isinstance(report_id, bool):
        report_id = str(report_id)
    if not isinstance(report_id, str) or not report_id.strip():
        raise ConfigError("the Recruitee order has no report_id: nothing to update")
    codename = str(context.settings.get("codename") or "")
    if not codename:
        raise ConfigError("the Recruitee integration has no codename setting (the partner's codename)")
    base = str(context.settings.get("api_base_url") or DEFAULT_API_BASE_URL).rstrip("/")
    return f"{base}/p/{quote(codename, safe='')}/reports/{quote(report_id.strip(), safe='')}"


def report_request(context: ConnectorContext, url: str, body: dict[str, Any]) -> httpx.Request:
    """The report ``PATCH``; raises ``ConfigError`` without a partner secret."""
    secret = str(context.settings.get("partner_secret") or "")
    if not secret:
        raise ConfigError("the Recruitee integration has no partner_secret setting (RT-PARTNER-SECRET)")
    return context.http.build_request(
        "PATCH",
        url,
        json=body,
        headers={
            SECRET_HEADER: secret,
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        },
    )


def patch_report(context: ConnectorContext, request: httpx.Request) -> None:
    """Send a ``report_request``; raise a ``ConnectorError`` unless Recruitee took it."""
    response = send_request(context, request)
    if not response.is_success:
        check_http_response(response, "Recruitee report PATCH", STATUS_RULES, detail=response.text[:300] or None)
