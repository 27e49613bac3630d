"""hub -> Teamtailor: ``PUT {update-url}`` with a JSON:API partner-results document (ats-protocols.md §7.1, §7.5).

Error mapping (the Partner API's error answers are undocumented, UNCONFIRMED U1), as ``STATUS_RULES`` for
``connectors.base.check_http_response``: 401/403 -> the credentials need a human (``ConfigError``); 429
(with its Retry-After), 408, 5xx and network failures -> retry; any other 4xx (404 unknown partner result,
406/415/409/422 refused document) -> ``RemoteInputError``, since sending the same document again cannot help.
"""

from __future__ import annotations

from typing import Any

import httpx

from assessment_hub.connectors.base import ConfigError, ConnectorContext, StatusRules, check_http_response, send_request
from assessment_hub.connectors.callbacks import callback_allowed
from assessment_hub.connectors.teamtailor.settings import DEFAULT_API_BASE_URL, TEAMTAILOR_HOSTS

API_VERSION = "20180828"
JSONAPI = "application/vnd.api+json"
RESULTS_PATH = "/partner/v1/partner-results/"
STATUS_RULES = StatusRules(
    retry=frozenset({408}),
    credentials_hint="check the api_key setting: the Teamtailor partner API key",
)
"""Unlike the default, 404 (no such partner result) and 409 (a refused document) are final for Teamtailor."""


def update_url(context: ConnectorContext, hub_data: dict[str, Any]) -> str:
    """The partner result's ``update-url``, checked against the allowed hosts *now* (so an operator who
    adds the host to ``allowed_callback_hosts`` can retry the delivery)."""
    url = hub_data.get("update_url")
    if not url:
        result_id = hub_data.get("partner_result_id")
        if not result_id:
            raise ConfigError("the Teamtailor order has no partner-result id: nothing to update")
        base = str(context.settings.get("api_base_url") or DEFAULT_API_BASE_URL).rstrip("/")
        return f"{base}{RESULTS_PATH}{result_id}"
    if not callback_allowed(url, TEAMTAILOR_HOSTS, context.settings):
        raise ConfigError(
            f"the update-url {url!r} is not on a Teamtailor host; add its host[:port] to the "
            "integration's allowed_callback_hosts setting if it is genuine"
        )
    return url


def partner_result_request(
    context: ConnectorContext, url: str, result_id: str, attributes: dict[str, Any]
) -> httpx.Request:
    """The ``PUT {update-url}`` with the partner-results document; raises ``ConfigError`` without an api_key."""
    api_key = context.settings.get("api_key")
    if not api_key:
        raise ConfigError("the integration has no api_key setting (the Teamtailor partner API key)")
    document = {"data": {"type": "partner-results", "id": result_id, "attributes": attributes}}
    return context.http.build_request(
        "PUT",
        url,
        json=document,
        headers={
            "Authorization": f"Bearer {api_key}",
            "X-Api-Version": API_VERSION,
            "Content-Type": JSONAPI,
            "Accept": JSONAPI,
        },
    )


def put_partner_result(context: ConnectorContext, request: httpx.Request) -> None:
    """Send a ``partner_result_request``; raise a ``ConnectorError`` unless Teamtailor took it."""
    check_response(send_request(context, request))


def _detail(response: httpx.Response) -> str:
    try:
        errors = response.json().get("errors") or []
        details = [str(e.get("detail") or e.get("title")) for e in errors if isinstance(e, dict)]
    except (ValueError, AttributeError):
        details = []
    return "; ".join(details)[:300] if details else response.text[:300]


def check_response(response: httpx.Response) -> None:
    """Raise the ``ConnectorError`` for a non-2xx answer, with the JSON:API error details in the message."""
    if not response.is_success:
        check_http_response(response, "Teamtailor partner-results PUT", STATUS_RULES, detail=_detail(response))
