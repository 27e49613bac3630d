"""Lever's webhook signature (ats-protocols-2.md §4.2, SECONDARY, corroborated by several implementations):
``signature == hex(HMAC-SHA256(key=signatureToken, message=token + triggeredAt))``, the per-delivery ``token`` and
the millisecond ``triggeredAt`` concatenated as text with no separator; the body itself is not signed. The
conflicting ``Lever-Signature`` header reading (one generated summary) is not implemented."""

from __future__ import annotations

import hashlib
import hmac


def expected(signature_token: str, token: str, triggered_at: int | str) -> str:
    return hmac.new(signature_token.encode(), f"{token}{triggered_at}".encode(), hashlib.sha256).hexdigest()


def valid(signature_token: str, token: str, triggered_at: int | str, signature: str) -> bool:
    """Constant-time comparison (hex case-insensitive); never true for an empty signature token."""
    if not signature_token:
        return False
    return hmac.compare_digest(expected(signature_token, token, triggered_at), signature.strip().lower())
