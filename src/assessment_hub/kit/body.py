"""JSON request bodies: content type checked, size capped while streaming, parsed by pydantic.

Every failure is a Kombo ``PLATFORM.INPUT_INVALID`` error (415, 413 or 400 naming the field).
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable
from typing import TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect

from assessment_hub.errors import InputInvalid, PayloadTooLarge, UnsupportedMediaType, describe_validation_error

Model = TypeVar("Model", bound=BaseModel)


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing (413) one longer than ``limit`` bytes without reading it all."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The request body is larger than the {limit} byte limit.")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"The request body is larger than the {limit} byte limit.")
            chunks.append(chunk)
    except ClientDisconnect:
        raise InputInvalid("The client disconnected before sending the whole body; nothing was stored.") from None
    return b"".join(chunks)


def json_body(model: type[Model]) -> Callable[[Request], Awaitable[Model]]:
    """A dependency that parses the request body into ``model``."""

    async def parse(request: Request) -> Model:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json" and not content_type.endswith("+json"):
            raise UnsupportedMediaType(
                f"The request body must be JSON with 'Content-Type: application/json' (got {content_type or 'none'!r})."
            )
        raw = await read_body(request, request.app.state.settings.max_body_bytes)
        if not raw.strip():
            raise InputInvalid("The request body is empty; a JSON object is required.")
        try:
            parsed = model.model_validate_json(raw)
        except ValidationError as exc:
            raise InputInvalid(describe_validation_error(exc)) from None
        if b"\\u0000" in raw and _has_nul(json.loads(raw)):
            raise InputInvalid("Invalid request body: strings must not contain the NUL character (\\u0000).")
        if _has_non_finite(parsed):
            raise InputInvalid(
                "Invalid request body: numbers must be finite (NaN, Infinity and numbers beyond "
                "±1.8e308 are not JSON, and could not be stored or listed)."
            )
        return parsed

    return parse


def _has_non_finite(value: object) -> bool:
    """True when a number anywhere in the parsed body is NaN or infinite: Python's and pydantic's JSON
    parsers accept ``NaN``/``Infinity`` and turn ``1e400`` into ``inf``, even in fields typed ``Any``
    (``remote_fields``), and such a value can be neither stored (PostgreSQL) nor listed (strict JSON).
    Walks the parsed model, not the raw text: a 7 MB attachment body holds "NaN" in its base64 often."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, BaseModel):
        return _has_non_finite(value.__dict__) or _has_non_finite(value.model_extra or {})
    if isinstance(value, dict):
        return any(_has_non_finite(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_non_finite(v) for v in value)
    return False


def _has_nul(value: object) -> bool:
    """True when a string anywhere in ``value`` holds U+0000 (PostgreSQL cannot store it in text)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False
