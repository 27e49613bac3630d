"""Opaque keyset cursors for paginated listings.

A cursor encodes the sort key of the last row of a page: ``(created_at, id)``. The next page is
``WHERE (created_at, id) > (cursor)``, so a page costs the same at any depth (with the right index).
Encoding: base64url of compact JSON ``["<created_at ISO 8601>", "<id>"]``, no padding. A cursor that
does not decode to exactly that (two strings, no NUL in either: PostgreSQL refuses NUL in text
parameters, docs/api.md) is ``ValueError``: a crafted cursor is never handed to the database.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime

from assessment_hub.kit.timestamps import as_utc


def encode_cursor(created_at: datetime, row_id: str) -> str:
    raw = json.dumps([as_utc(created_at).isoformat(), row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """``(created_at aware UTC, id)`` of a cursor from ``encode_cursor``; ``ValueError`` for anything else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created_at, row_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(created_at, str) or not isinstance(row_id, str) or "\x00" in created_at + row_id:
            raise ValueError
        return as_utc(datetime.fromisoformat(created_at)), row_id
    except Exception:
        raise ValueError("is not a cursor returned by this API") from None
