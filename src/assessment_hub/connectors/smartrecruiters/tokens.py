"""The access tokens the hub issues to SmartRecruiters at ``POST {base_url}/oauth/token`` (ats-protocols-2.md §1.1).

Stateless, so any hub process can check any token without a table: ``srat_<expiry>.<mac>`` where ``expiry`` is a
Unix time in seconds and ``mac = hex(HMAC-SHA256(client_secret, "<integration id>.<expiry>"))``. A token is good
until ``expiry`` for the integration whose minted ``client_secret`` made it; minting a new secret revokes them all.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time

PREFIX = "srat_"
TTL_S = 3600
"""``expires_in`` of every token (the hub's choice; SmartRecruiters reads it)."""
_EXPIRY = re.compile(r"[0-9]{1,12}")  # Unix seconds in ASCII digits: int() refuses "²" and 5000 digits


def _mac(client_secret: str, integration_id: str, expiry: int) -> str:
    return hmac.new(client_secret.encode(), f"{integration_id}.{expiry}".encode(), hashlib.sha256).hexdigest()


def issue(client_secret: str, integration_id: str, *, now: float | None = None) -> tuple[str, int]:
    """``(access_token, expires_in)``."""
    expiry = int(time.time() if now is None else now) + TTL_S
    return f"{PREFIX}{expiry}.{_mac(client_secret, integration_id, expiry)}", TTL_S


def valid(token: str | None, client_secret: str, integration_id: str, *, now: float | None = None) -> bool:
    """True when ``token`` was issued for this integration with this secret and has not expired."""
    if not token or not client_secret or not token.startswith(PREFIX):
        return False
    expiry_text, _, mac = token[len(PREFIX) :].partition(".")
    if not _EXPIRY.fullmatch(expiry_text) or int(expiry_text) < (time.time() if now is None else now):
        return False
    return hmac.compare_digest(mac, _mac(client_secret, integration_id, int(expiry_text)))
