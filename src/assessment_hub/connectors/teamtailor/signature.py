"""``Teamtailor-Signature: t=<unix s>,v1=<hex>[,v0=<hex>]`` (ats-protocols.md §7.2, _webhook_signatures).

``v1 = hex(HMAC-SHA256(webhook_secret, "<t>.<partner-event.id>"))``: it signs the event id, not the
body. Only ``v1`` is checked (``v0`` is undocumented, UNCONFIRMED U8); the timestamp must be within
``TOLERANCE_S`` of now (the hub's choice); ``t`` is 1 to ``MAX_T_DIGITS`` ASCII digits, else the header is
malformed (401: no int conversion of Unicode digits such as ``²`` or of thousands of digits). Because the body is not signed, the webhook remembers each signed
event id with a digest of its body (``connectors.inbound.body_fingerprint``) for ``REPLAY_WINDOW_S``, the
longest a signature stays valid (a timestamp up to ``TOLERANCE_S`` ahead, then ``TOLERANCE_S`` more): the
same id with another body is a replay.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time

HEADER = "Teamtailor-Signature"
TOLERANCE_S = 300
REPLAY_WINDOW_S = 2 * TOLERANCE_S
MAX_T_DIGITS = 12  # Unix seconds up to the year 33658; now 10 digits
_T = re.compile(rf"[0-9]{{1,{MAX_T_DIGITS}}}")


def expected_v1(secret: str, timestamp: str, event_id: str) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.{event_id}".encode(), hashlib.sha256).hexdigest()


def check_signature(secret: str, header: str | None, event_id: str, *, now: float | None = None) -> str | None:
    """None when the header is valid; otherwise why it is not (for the plain-string 401 answer)."""
    if not header:
        return f"Missing {HEADER} header"
    timestamp, signatures = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            timestamp = value.strip()
        elif key == "v1":
            signatures.append(value.strip())
    if not timestamp or not _T.fullmatch(timestamp) or not signatures:
        return f"Malformed {HEADER} header"
    if abs((time.time() if now is None else now) - int(timestamp)) > TOLERANCE_S:
        return f"{HEADER} timestamp is outside the {TOLERANCE_S} s window"
    expected = expected_v1(secret, timestamp, event_id)
    if not any(hmac.compare_digest(expected, s) for s in signatures):
        return f"{HEADER} v1 does not match"
    return None
