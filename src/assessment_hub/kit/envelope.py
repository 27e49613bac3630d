"""The Kombo success envelope (kombo-contract.md §3.1): ``{status, data, warnings}``, warnings always present.

``success`` returns the encoded response itself: FastAPI then sends it as is, skipping its generic
``jsonable_encoder`` walk and return-type validation, which cost more than the database work on
large listings.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from fastapi.responses import Response


class EnvelopeResponse(Response):
    media_type = "application/json"


def envelope(data: Any, warnings: Sequence[str] = ()) -> dict[str, Any]:
    return {"status": "success", "data": data, "warnings": [{"message": m} for m in warnings]}


def success(data: Any, warnings: Sequence[str] = ()) -> EnvelopeResponse:
    """A 200 with the envelope around ``data`` (JSON-ready: str, numbers, bools, None, lists, dicts)."""
    body = json.dumps(envelope(data, warnings), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return EnvelopeResponse(body.encode("utf-8"))
