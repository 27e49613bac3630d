"""The hub's public base URL, and signed, expiring links to stored attachment bytes (for ATSs that take
attachments as URLs).

``{public_base_url}/attachments/{sha256}?name=...&expires=<unix s>&signature=<base64url HMAC>``; the
HMAC key is derived from the hub's secret key (``kit/secret_keys.py``): links are signed with the current
key and verified with every key of the ring, so links handed out before a rotation keep working while the
previous key is kept.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any
from urllib.parse import urlencode

from assessment_hub.config import Settings

DEFAULT_TTL_S = 7 * 24 * 3600


def public_base_url(request: Any) -> str:
    """The hub's public base URL for a request (a Starlette ``Request``): the ``public_base_url`` setting,
    else the URL the request came to; no trailing slash."""
    configured = request.app.state.settings.public_base_url
    return (configured or str(request.base_url)).rstrip("/")


def _signature(secret: str, sha256: str, name: str, expires: int) -> str:
    key = hashlib.sha256(b"attachment-links:" + secret.encode()).digest()
    mac = hmac.new(key, f"{sha256}\n{name}\n{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def attachment_link(settings: Settings, base_url: str, sha256: str, name: str, ttl_s: int = DEFAULT_TTL_S) -> str:
    expires = int(time.time()) + ttl_s
    signature = _signature(settings.cipher.keys[0], sha256, name, expires)
    query = urlencode({"name": name, "expires": expires, "signature": signature})
    return f"{base_url.rstrip('/')}/attachments/{sha256}?{query}"


def check_attachment_link(settings: Settings, sha256: str, name: str, expires: int, signature: str) -> bool:
    """True when the link is authentic (under any key of the ring) and not expired."""
    if expires < time.time():
        return False
    return any(hmac.compare_digest(_signature(key, sha256, name, expires), signature) for key in settings.cipher.keys)
