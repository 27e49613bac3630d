"""The Kombo success envelope (kombo-contract.md §3.1): ``{status, data, warnings}``, warnings always present.

``success`` returns the encoded response itself: FastAPI then sends it as is, skipping its generic
``jsonable_encoder`` walk and return-type validation, which cost more than the database work on
large listings. ``success_with_fragments`` encodes with orjson and splices pre-encoded JSON
(``orjson.Fragment``): the order listing's stored JSON columns and its results.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import orjson
from fastapi.responses import Response


class EnvelopeResponse(Response):
    """A success envelope, encoded once (``success``, ``success_with_fragments``): what the routes return."""

    media_type = "application/json"


Envelope = dict[str, Any]
"""The OpenAPI document's shape of a success answer (a JSON object). A route returns an
``EnvelopeResponse``, which FastAPI sends as is (no validation), and names ``response_model=Envelope``
so that its documented response stays a JSON object."""


def envelope(data: Any, warnings: Sequence[str] = ()) -> dict[str, Any]:
    return {"status": "success", "data": data, "warnings": [{"message": m} for m in warnings]}


def success(data: Any, warnings: Sequence[str] = ()) -> EnvelopeResponse:
    """A 200 with the envelope around ``data`` (JSON-ready: str, numbers, bools, None, lists, dicts)."""
    return EnvelopeResponse(_encode(envelope(data, warnings)))


def json_fragment(data: Any) -> orjson.Fragment:
    """``data`` (JSON-ready) encoded exactly as ``success`` encodes it, for ``success_with_fragments``."""
    return orjson.Fragment(_encode(data))


def success_with_fragments(data: Any, warnings: Sequence[str] = ()) -> EnvelopeResponse:
    """``success`` for large pages, encoded by orjson: ``data`` holds str, ints of 64 bits at most, bools,
    None, lists, dicts and ``orjson.Fragment`` (JSON text spliced in unchecked); no floats (orjson writes
    them differently, and NaN as null: put them in a ``json_fragment``). Strings come out byte for byte
    as ``success`` writes them."""
    return EnvelopeResponse(orjson.dumps(envelope(data, warnings)))


def _encode(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
