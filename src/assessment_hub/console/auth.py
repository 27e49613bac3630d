"""Console sign-in: the admin credential once, then a signed session cookie; CSRF tokens for every form.

Cookie ``ahub_console`` (path ``/console``, HttpOnly, SameSite=Strict, Secure when the public base URL is
https): ``base64url(JSON {"exp": unix seconds, "csrf": token}) "." base64url(HMAC-SHA256)``. The HMAC key
is derived from the installation's current secret key (``kit/secret_keys.py``) and the admin credential in
force (``admin.keys.admin_fingerprint``): a new admin key or secret key signs every session out.

CSRF: each session carries a random token; every state-changing form posts it as ``csrf_token`` and it
must equal the session's (constant-time), and a cross-origin ``Origin`` header is refused.
Sign-in failures are slowed down: each failure from an address in the last 15 minutes adds a second
(capped at 5 s) before the answer.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi import Request

from assessment_hub.admin.keys import admin_fingerprint
from assessment_hub.config import Settings
from assessment_hub.errors import HubError

COOKIE = "ahub_console"
COOKIE_PATH = "/console"
SESSION_S = 12 * 3600
MAX_FORM_BYTES = 64 * 1024
FAILURE_WINDOW_S = 900.0
MAX_DELAY_S = 5.0


class SignInRequired(Exception):
    """No valid session: the console answers with the sign-in page."""


class ConsoleDisabled(HubError):
    status_code = 503
    title = "Console disabled"


class CsrfRefused(HubError):
    status_code = 403
    title = "Form refused"


@dataclass(frozen=True)
class ConsoleSession:
    csrf: str
    expires: int


def _signing_key(settings: Settings, fingerprint: str) -> bytes:
    """From the installation's current secret key (``kit/secret_keys.py``): a rotation signs everyone out."""
    secret = settings.cipher.keys[0]
    return hmac.new(secret.encode(), b"console-session|" + fingerprint.encode(), hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def fingerprint_of(request: Request) -> str | None:
    state = request.app.state
    return admin_fingerprint(state.settings, getattr(state, "admin_key_hash", None))


def issue_cookie(settings: Settings, fingerprint: str, *, now: float | None = None) -> tuple[str, ConsoleSession]:
    session = ConsoleSession(csrf=secrets.token_urlsafe(32), expires=int((now or time.time()) + SESSION_S))
    payload = _b64(json.dumps({"exp": session.expires, "csrf": session.csrf}, separators=(",", ":")).encode())
    signature = _b64(hmac.new(_signing_key(settings, fingerprint), payload.encode(), hashlib.sha256).digest())
    return f"{payload}.{signature}", session


def read_cookie(settings: Settings, fingerprint: str, value: str | None) -> ConsoleSession | None:
    """The session in ``value``, or None when it is missing, forged, malformed or expired."""
    if not value or value.count(".") != 1:
        return None
    payload, signature = value.split(".")
    expected = _b64(hmac.new(_signing_key(settings, fingerprint), payload.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(signature, expected):
        return None
    try:
        data = json.loads(_unb64(payload))
        session = ConsoleSession(csrf=str(data["csrf"]), expires=int(data["exp"]))
    except (ValueError, KeyError, TypeError):
        return None
    return session if session.expires > time.time() else None


def cookie_options(settings: Settings) -> dict[str, Any]:
    secure = (settings.public_base_url or "").lower().startswith("https://")
    return {"key": COOKIE, "path": COOKIE_PATH, "httponly": True, "samesite": "strict", "secure": secure}


def current_session(request: Request) -> ConsoleSession:
    """The signed-in session; raises ``SignInRequired`` (or ``ConsoleDisabled`` with no admin credential)."""
    fingerprint = fingerprint_of(request)
    if fingerprint is None:
        raise ConsoleDisabled("The console is disabled: no admin key is configured (set ASSESSMENT_HUB_ADMIN_API_KEY).")
    session = read_cookie(request.app.state.settings, fingerprint, request.cookies.get(COOKIE))
    if session is None:
        raise SignInRequired()
    return session


async def read_form(request: Request) -> dict[str, list[str]]:
    """An ``application/x-www-form-urlencoded`` body (at most ``MAX_FORM_BYTES``) as lists of values."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise CsrfRefused("The form is too large.")
    return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)


def check_origin(request: Request) -> None:
    """Refuse a form posted from another origin (``Origin`` / ``Sec-Fetch-Site``, when the browser sends them)."""
    origin = request.headers.get("origin")
    if origin and origin != "null":
        expected = {f"{request.url.scheme}://{request.headers.get('host', '')}"}
        public = request.app.state.settings.public_base_url
        if public:
            parts = urlsplit(public)
            expected.add(f"{parts.scheme}://{parts.netloc}")
        if origin not in expected:
            raise CsrfRefused("The form was posted from another site; it was refused.")
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise CsrfRefused("The form was posted from another site; it was refused.")


def check_csrf(session: ConsoleSession, form: dict[str, list[str]]) -> None:
    token = (form.get("csrf_token") or [""])[0]
    if not token or not hmac.compare_digest(token.encode(), session.csrf.encode()):
        raise CsrfRefused(
            "The form's security token is missing or does not match your session; "
            "reload the page and send the form again."
        )


class SignInThrottle:
    """Per client address: the number of failed sign-ins in the last ``FAILURE_WINDOW_S`` seconds."""

    def __init__(self) -> None:
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> list[float]:
        recent = [t for t in self._failures.get(address, []) if now - t < FAILURE_WINDOW_S]
        if recent:
            self._failures[address] = recent
        else:
            self._failures.pop(address, None)
        return recent

    async def failed(self, address: str) -> None:
        """Record a failure, then wait one second per recent failure (at most ``MAX_DELAY_S``)."""
        now = time.monotonic()
        with self._lock:
            if len(self._failures) > 10_000:
                self._failures.clear()
            recent = self._recent(address, now)
            recent.append(now)
            self._failures[address] = recent
            delay = min(float(len(recent)), MAX_DELAY_S)
        await asyncio.sleep(delay)

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._failures.pop(address, None)
