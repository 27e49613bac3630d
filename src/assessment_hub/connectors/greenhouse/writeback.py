"""The write-back: ``PATCH {url}`` (ats-protocols.md §2.5), after which Greenhouse pulls ``test_status``.

The PATCH has no body and no parameters; it carries ``Authorization: Basic base64(api_key + ":")`` as
in the docs' example (whether Greenhouse checks it is UNCONFIRMED). Any 2xx is success. The ``url``
is called only when its host is Greenhouse's own (https, ``*.greenhouse.io``) or listed in the
integration's ``allowed_callback_hosts``; checked again here, so adding a host later lets a parked
write-back through on the operator's retry.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx

from assessment_hub.connectors.base import (
    ConfigError,
    ConnectorContext,
    RetryableError,
    check_http_response,
    send_request,
)
from assessment_hub.connectors.callbacks import callback_allowed

GREENHOUSE_HOSTS = ("greenhouse.io",)


def callback_url(remote_data: dict[str, Any] | None) -> str | None:
    """The take-home-test ``url`` Greenhouse sent with the order."""
    url = (remote_data or {}).get("url")
    return url if isinstance(url, str) and url else None


def nudge_request(http: httpx.Client, url: str | None, settings: dict[str, Any], timeout: float) -> httpx.Request:
    """The body-less PATCH; raises ``ConfigError`` when there is no url or its host is not allowed."""
    if url is None:
        raise ConfigError("the order has no Greenhouse take-home-test url to PATCH")
    if not callback_allowed(url, GREENHOUSE_HOSTS, settings):
        raise ConfigError(
            f"the take-home-test url {url!r} is not on a Greenhouse host nor in allowed_callback_hosts; "
            "the hub does not call it (Greenhouse sees the result only if it polls test_status)"
        )
    api_key = str(settings.get("api_key") or "")
    basic = base64.b64encode(f"{api_key}:".encode()).decode()
    return http.build_request("PATCH", url, headers={"Authorization": f"Basic {basic}"}, timeout=timeout)


def nudge(context: ConnectorContext, request: httpx.Request, timeout: float) -> None:
    """Send a ``nudge_request``; raise a ``ConnectorError`` the delivery worker understands."""
    url = str(request.url)
    try:
        response = send_request(context, request)
    except httpx.TimeoutException:
        raise RetryableError(f"Greenhouse PATCH {url}: no answer within {timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise RetryableError(f"Greenhouse PATCH {url}: {type(exc).__name__}: {exc}") from None
    check_http_response(response, f"Greenhouse PATCH {url}")
