"""hub -> SmartRecruiters: an access token by client credentials, then ``PATCH {resultCallbackURL}``
(ats-protocols-2.md §1.1, §1.6; SPEC-DERIVED).

Token: ``POST {api_base_url}/identity/oauth/token``, form ``grant_type=client_credentials&client_id&client_secret``
(the ``api_client_id``/``api_client_secret`` SmartRecruiters returned at the credential exchange) ->
``{access_token, expires_in}``. Tokens are cached per process (``TokenCache``) until ``EXPIRY_MARGIN_S`` before
they expire; a PATCH answered 401 drops the cached token and is tried once more with a fresh one.

Answers (``check_http_response``): the token endpoint's 400/401/403 are refused credentials (``ConfigError``);
for the PATCH, 401/403 -> ``ConfigError``, 429 (Retry-After), 408, 425, 5xx and network failures -> retry; 400
(invalid partial update), 404 (no such order at SmartRecruiters) and 415 are final (``RemoteInputError``): the
order exists at SmartRecruiters before it calls the hub, so a 404 is no race.

``resultCallbackURL`` is called only on ``*.smartrecruiters.com`` over https or a host in ``allowed_callback_hosts``.
"""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Any

import httpx

from assessment_hub import __version__
from assessment_hub.connectors.base import (
    ConfigError,
    ConnectorContext,
    RetryableError,
    StatusRules,
    check_http_response,
    send_request,
)
from assessment_hub.connectors.callbacks import callback_allowed

DEFAULT_API_BASE_URL = "https://api.smartrecruiters.com"
SMARTRECRUITERS_HOSTS = ("smartrecruiters.com",)
TOKEN_PATH = "/identity/oauth/token"
USER_AGENT = f"assessment-hub/{__version__} (+smartrecruiters-connector)"
EXPIRY_MARGIN_S = 60.0
DEFAULT_EXPIRES_IN_S = 300.0
"""Used when SmartRecruiters' token answer has no readable ``expires_in``."""

TOKEN_RULES = StatusRules(
    retry=frozenset({408, 425}),
    needs_human=frozenset({400, 401, 403}),
    credentials_hint="check api_client_id and api_client_secret: the credentials SmartRecruiters returned",
)
RESULT_RULES = StatusRules(
    retry=frozenset({408, 425}),
    credentials_hint="check api_client_id and api_client_secret: the credentials SmartRecruiters returned",
)


class TokenCache:
    """Access tokens per (token URL, client id, client secret), shared by the connector instances of one
    process (each instance lives for one write-back); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[str, float]] = {}

    @staticmethod
    def key(url: str, client_id: str, client_secret: str) -> str:
        return hashlib.sha256(f"{url}\0{client_id}\0{client_secret}".encode()).hexdigest()

    def get(self, key: str) -> str | None:
        with self._lock:
            found = self._tokens.get(key)
            if found is None or found[1] <= time.monotonic():
                self._tokens.pop(key, None)
                return None
            return found[0]

    def put(self, key: str, token: str, expires_in: float) -> None:
        with self._lock:
            self._tokens[key] = (token, time.monotonic() + max(0.0, expires_in - EXPIRY_MARGIN_S))

    def drop(self, key: str) -> None:
        with self._lock:
            self._tokens.pop(key, None)


TOKENS = TokenCache()


def _credentials(context: ConnectorContext) -> tuple[str, str, str]:
    client_id = str(context.settings.get("api_client_id") or "")
    client_secret = str(context.settings.get("api_client_secret") or "")
    if not client_id or not client_secret:
        raise ConfigError(
            "the SmartRecruiters integration has no api_client_id/api_client_secret yet: set the credentials "
            "SmartRecruiters returned with `assessment-hub integrations update ID --setting api_client_id=... "
            "--setting api_client_secret=...`"
        )
    base = str(context.settings.get("api_base_url") or DEFAULT_API_BASE_URL).rstrip("/")
    return base + TOKEN_PATH, client_id, client_secret


def access_token(context: ConnectorContext, *, fresh: bool = False) -> tuple[str, str]:
    """``(cache key, access token)``: the cached one unless ``fresh``, else a new one from SmartRecruiters."""
    url, client_id, client_secret = _credentials(context)
    key = TokenCache.key(url, client_id, client_secret)
    cached = None if fresh else TOKENS.get(key)
    if cached is not None:
        return key, cached
    try:
        response = context.http.post(
            url,
            data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret},
            headers={"Accept": "application/json", "User-Agent": USER_AGENT},
        )
    except httpx.HTTPError as exc:  # unreachable or slow: try later (and the console's preview says why)
        raise RetryableError(f"SmartRecruiters token request: {type(exc).__name__}: {exc}") from None
    check_http_response(response, "SmartRecruiters token request", TOKEN_RULES)
    try:
        body = response.json()
    except ValueError:
        body = None
    token = body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        raise RetryableError(
            "SmartRecruiters token request: the answer has no access_token",
            http_status=response.status_code,
            response_excerpt=response.text[:1000],
        )
    expires_in = body.get("expires_in") if isinstance(body, dict) else None
    ttl = float(expires_in) if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool) else None
    TOKENS.put(key, token, ttl if ttl is not None else DEFAULT_EXPIRES_IN_S)
    return key, token


def callback_url(context: ConnectorContext, remote_data: dict[str, Any] | None) -> str:
    """The order's ``resultCallbackURL``, checked against the allowed hosts now (so an operator who adds the
    host to ``allowed_callback_hosts`` can retry the delivery)."""
    url = (remote_data or {}).get("resultCallbackURL")
    if not isinstance(url, str) or not url:
        raise ConfigError("the SmartRecruiters order has no resultCallbackURL: nothing to update")
    if not callback_allowed(url, SMARTRECRUITERS_HOSTS, context.settings):
        raise ConfigError(
            f"the resultCallbackURL {url!r} is not on a SmartRecruiters host; add its host[:port] to the "
            "integration's allowed_callback_hosts setting if it is genuine"
        )
    return url


def patch_request(context: ConnectorContext, url: str, body: dict[str, Any], *, fresh: bool = False) -> httpx.Request:
    """The results ``PATCH url`` with ``body`` (JSON merge patch) and a Bearer token (the cached one unless
    ``fresh``; getting one may call SmartRecruiters' token endpoint). What ``write_result`` sends and the console
    previews; raises ``ConfigError`` without API credentials, ``ConnectorError`` when no token can be had."""
    _, token = access_token(context, fresh=fresh)
    return context.http.build_request(
        "PATCH",
        url,
        json=body,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        },
    )


def patch_result(context: ConnectorContext, request: httpx.Request) -> None:
    """Send a ``patch_request``; raise a ``ConnectorError`` unless SmartRecruiters takes it. An answer 401 drops
    the cached token (it may have been revoked or expired early) and the same body is sent once more with a
    fresh one."""
    response = send_request(context, request)
    if response.status_code == 401:
        url, client_id, client_secret = _credentials(context)
        key = TokenCache.key(url, client_id, client_secret)
        TOKENS.drop(key)
        _, token = access_token(context, fresh=True)
        headers = httpx.Headers(request.headers)
        headers["Authorization"] = f"Bearer {token}"
        retry = httpx.Request(
            request.method, request.url, headers=headers, content=request.content, extensions=request.extensions
        )
        response = send_request(context, retry)
        if response.status_code == 401:
            TOKENS.drop(key)
    check_http_response(response, "SmartRecruiters results PATCH", RESULT_RULES, detail=_detail(response))


def _detail(response: httpx.Response) -> str | None:
    if response.is_success:
        return None
    try:
        data = response.json()
    except ValueError:
        return response.text[:300] or None
    if isinstance(data, dict):
        errors: list[Any] = data["errors"] if isinstance(data.get("errors"), list) else []
        parts = [str(data.get("message") or "")] + [
            f"{e.get('code')}: {e.get('message')}" for e in errors if isinstance(e, dict)
        ]
        return "; ".join(p for p in parts if p)[:300] or None
    return None
