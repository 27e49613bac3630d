"""Checking a customer's Ashby API key before an integration is created (the connect page, docs/connect.md).

The harmless call is ``POST {api_base_url}/apiKey.info`` (Ashby: "Retrieve information about the API key
being used to make the request"; https://developers.ashbyhq.com/reference/api-key), with the same HTTP Basic
auth as ``assessment.update`` (ats-protocols.md §5.2). It reads nothing about candidates and changes nothing.

It needs the ``apiKeysRead`` permission, which a key made only for assessments (``candidatesWrite``) may lack:
Ashby then answers 403 (or 200 ``success: false``) with the code ``missing_endpoint_permission``, which still
proves the key is Ashby's and live, so it passes. Ashby answers 401 for a missing key and 403 for a wrong or
deactivated one.
"""

from __future__ import annotations

from typing import Any

import httpx

from assessment_hub.connectors.ashby.writeback import DEFAULT_API_BASE_URL, USER_AGENT
from assessment_hub.connectors.base import ConfigError, RetryableError

PERMISSION_ONLY = "missing_endpoint_permission"


def check_credentials(http: httpx.Client, settings: dict[str, Any]) -> None:
    """Return when Ashby accepts ``settings["api_key"]``; raise ``ConfigError`` when it refuses it, and
    ``RetryableError`` when Ashby cannot be asked now (network error, timeout, 5xx, an answer that is not Ashby's)."""
    base = (settings.get("api_base_url") or DEFAULT_API_BASE_URL).rstrip("/")
    try:
        response = http.post(
            f"{base}/apiKey.info",
            content=b"{}",
            auth=(str(settings.get("api_key") or ""), ""),  # HTTP Basic, as assessment.update
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json; version=1",
                "User-Agent": USER_AGENT,
            },
        )
    except httpx.HTTPError as exc:
        raise RetryableError(f"Ashby could not be reached at {base} ({type(exc).__name__})") from None
    try:
        body = response.json()
    except ValueError:
        body = None
    info: dict[str, Any] = {}
    if isinstance(body, dict) and isinstance(body.get("errorInfo"), dict):
        info = body["errorInfo"]
    code = str(info.get("code") or "")
    if code == PERMISSION_ONLY:
        return
    if response.status_code in (401, 403):
        raise ConfigError("Ashby refused this API key", http_status=response.status_code)
    if not response.is_success or not isinstance(body, dict) or not isinstance(body.get("success"), bool):
        raise RetryableError(
            f"Ashby answered HTTP {response.status_code} without its usual envelope", http_status=response.status_code
        )
    if body["success"] is False:
        raise ConfigError(f"Ashby refused this API key ({code or 'error'}: {info.get('message') or ''})".strip())
