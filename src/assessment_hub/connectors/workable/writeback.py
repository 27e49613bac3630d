"""hub -> Workable: ``PUT {callback_url}``, ``Authorization: Bearer {api_token}`` (the token Workable issues when
the customer creates the integration), JSON (ats-protocols.md §4.1 OFFICIAL for the auth, §4.4 SECONDARY for
the body).

Answers (Workable's error answers are undocumented, UNCONFIRMED), as ``STATUS_RULES`` for
``check_http_response``: 401/403 -> the token needs a human; 429 (Retry-After), 408, 425, 5xx and network
failures -> retry; any other 4xx (404 unknown assessment, 409, 422 refused body) is final.

``callback_url`` is called only on ``*.workable.com`` over https or a host in ``allowed_callback_hosts``.
"""

from __future__ import annotations

from typing import Any

import httpx

from assessment_hub import __version__
from assessment_hub.connectors.base import (
    ConfigError,
    ConnectorContext,
    StatusRules,
    check_http_response,
    send_request,
)
from assessment_hub.connectors.callbacks import callback_allowed

WORKABLE_HOSTS = ("workable.com",)
USER_AGENT = f"assessment-hub/{__version__} (+workable-connector)"
STATUS_RULES = StatusRules(
    retry=frozenset({408, 425}),
    credentials_hint="check the api_token setting: the token Workable issued for the integration",
)


def callback_url(context: ConnectorContext, remote_data: dict[str, Any] | None) -> str:
    """The order's ``callback_url``, checked against the allowed hosts now (so an operator who adds the host to
    ``allowed_callback_hosts`` can retry the delivery)."""
    url = (remote_data or {}).get("callback_url")
    if not isinstance(url, str) or not url:
        raise ConfigError("the Workable order has no callback_url: nothing to update")
    if not callback_allowed(url, WORKABLE_HOSTS, context.settings):
        raise ConfigError(
            f"the callback_url {url!r} is not on a Workable host; add its host[:port] to the integration's "
            "allowed_callback_hosts setting if it is genuine"
        )
    return url


def put_request(context: ConnectorContext, url: str, body: dict[str, Any]) -> httpx.Request:
    """The callback ``PUT url`` with ``body``: what ``write_result`` sends and the console previews; raises
    ``ConfigError`` without an ``api_token``."""
    token = context.settings.get("api_token")
    if not token:
        raise ConfigError(
            "the Workable integration has no api_token yet: set the token Workable issued with "
            "`assessment-hub integrations update ID --setting api_token=...`"
        )
    return context.http.build_request(
        "PUT",
        url,
        json=body,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        },
    )


def put_result(context: ConnectorContext, request: httpx.Request) -> None:
    """Send a ``put_request``; raise a ``ConnectorError`` unless Workable took it."""
    response = send_request(context, request)
    check_http_response(response, "Workable callback PUT", STATUS_RULES, detail=_detail(response.text))


def _detail(text: str) -> str | None:
    return text[:300] or None
