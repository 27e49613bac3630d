"""Webhook signatures, for the hub and for vendors verifying what the hub sends.

``X-Kombo-Signature`` = base64url without ``=`` padding of HMAC-SHA256(secret as UTF-8, the exact raw
body bytes). Source: kombo-contract.md §7.1; shared/cases/webhook-signature.json. Verify the bytes you
received, before any JSON parsing: re-serialized JSON signs differently.

Vendors can use this module alone::

    from assessment_hub.signing import verify_signature
    if not verify_signature(secret, request_body_bytes, request.headers["X-Kombo-Signature"]):
        return 401
"""

from __future__ import annotations

import base64
import hashlib
import hmac

SIGNATURE_HEADER = "X-Kombo-Signature"


def sign(secret: str, raw_body: bytes) -> str:
    """The signature of ``raw_body``: base64url, no padding (43 characters)."""
    digest = hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verify_signature(secret: str, raw_body: bytes, header: str | None) -> bool:
    """True when ``header`` is the signature of ``raw_body`` under ``secret`` (constant-time compare).

    Exactly the documented form is accepted: standard base64 (``+``, ``/``, ``=``) is not.
    """
    if not header:
        return False
    return hmac.compare_digest(sign(secret, raw_body).encode("ascii"), header.strip().encode("ascii", "replace"))
