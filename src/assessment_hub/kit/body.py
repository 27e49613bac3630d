"""JSON request bodies: content type checked, size capped while streaming, parsed by pydantic.

Every failure is a Kombo ``PLATFORM.INPUT_INVALID`` error (415, 413 or 400 naming the field).

A body model that is a ``KeepsMemberText`` also gets the JSON text, exactly as sent, of the top-level
members it names (``member_texts``): ``remote_fields`` of a result is stored and listed in the vendor's
own spelling. Such a text is checked as written, every pair of it (a key given twice too, whose first
value the parsed body does not show): its arrays and objects nest at most ``MAX_DEPTH`` levels.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Awaitable, Callable, Collection
from typing import ClassVar, TypeVar

from fastapi import Request
from pydantic import BaseModel, PrivateAttr, ValidationError
from starlette.requests import ClientDisconnect

from assessment_hub.errors import InputInvalid, PayloadTooLarge, UnsupportedMediaType, describe_validation_error

Model = TypeVar("Model", bound=BaseModel)


class KeepsMemberText(BaseModel):
    """A request body that keeps the JSON text of its top-level members named in ``KEPT_TEXT``, exactly as
    the client sent it (``member_text``). ``json_body`` fills it in once the body has validated; a model
    built otherwise (``model_validate`` of Python values) has none."""

    KEPT_TEXT: ClassVar[tuple[str, ...]] = ()
    _member_texts: dict[str, str] = PrivateAttr(default_factory=dict)

    def member_text(self, name: str) -> str | None:
        """The JSON text the client sent for the top-level member ``name`` (the last one, as pydantic keeps,
        when it is given twice), or None: not sent, or the body did not come through ``json_body``."""
        return self._member_texts.get(name)


MAX_DEPTH = 64
"""How deeply arrays and objects may nest in a member whose JSON text the hub keeps (``KEPT_TEXT``:
``remote_fields``), the member's own value being level 1 (``{}`` is 1, ``{"a": [1]}`` is 2). The order
listing adds 5 levels around it (envelope, ``data``, ``results``, the order, ``result``), and many JSON
parsers stop at about 200 (the official SDKs' among them: pydantic's refuses a body nested 200 deep): one
result nested deeper would make every listing page holding it unreadable. docs/api.md states it."""

_WHITESPACE = re.compile(r"[ \t\n\r]*")  # JSON's insignificant whitespace (RFC 8259 §2)
_VALUE = json.JSONDecoder(parse_int=len, parse_float=len, parse_constant=len)
"""Finds where a value ends; its numbers are not converted (an integer of more than 4,300 digits, which
pydantic takes, would be a ``ValueError`` for ``int``)."""


class _Object:
    """What ``_SHAPE`` makes of a JSON object: how deep it nests (itself level 1)."""

    __slots__ = ("depth",)

    def __init__(self, depth: int) -> None:
        self.depth = depth


def _depth(value: object) -> int:
    """How deep arrays and objects nest in ``value`` as ``_SHAPE`` decoded it (0 for a scalar)."""
    if isinstance(value, _Object):
        return value.depth
    if isinstance(value, list):  # lists are not hooked: walked here, each once (objects inside are done)
        return 1 + max(map(_depth, value), default=0)
    return 0


def _object(pairs: list[tuple[str, object]]) -> _Object:
    return _Object(1 + max((_depth(value) for _, value in pairs), default=0))


_SHAPE = json.JSONDecoder(object_pairs_hook=_object, parse_int=len, parse_float=len, parse_constant=len)
"""Decodes a kept member's text into its shape: every pair of it, a key given twice too (``_object``)."""


def _check_kept(name: str, shape: object) -> None:
    """Refuse (400) the kept member ``name`` whose text (``shape``: as ``_SHAPE`` decoded it) breaks a rule
    in any pair of it."""
    depth = _depth(shape)
    if depth > MAX_DEPTH:
        raise InputInvalid(
            f"Invalid request body: {name}: arrays and objects nest {depth} levels deep in it; at most "
            f"{MAX_DEPTH} are taken (a listing holding it must stay readable by JSON parsers, which stop at "
            "about 200 levels)."
        )


def _after_space(text: str, at: int) -> int:
    """The index of the first character at or after ``at`` that is not JSON whitespace."""
    return _WHITESPACE.match(text, at).end()  # type: ignore[union-attr]  # the pattern matches "" anywhere


def member_texts(text: str, names: Collection[str]) -> dict[str, str]:
    """The JSON text of each member of the top-level object ``text`` whose (decoded) name is in ``names``:
    ``{name: text of its value}``, the value's text exactly as written (spacing, key order and duplicate
    keys inside it, number spelling, escapes), from its first character to its last. A name given twice
    maps to its last value, as pydantic and Python's ``json`` keep it. ``text`` must be a JSON object (the
    body has validated); raises ``ValueError`` otherwise."""
    return {name: kept[0] for name, kept in _kept_members(text, names).items()}


def _kept_members(text: str, names: Collection[str]) -> dict[str, tuple[str, object]]:
    """``member_texts``, each text with its shape as ``_SHAPE`` decodes it (every pair of it)."""
    found: dict[str, tuple[str, object]] = {}
    at = _after_space(text, 0)
    if text[at : at + 1] != "{":
        raise ValueError("not a JSON object")
    at = _after_space(text, at + 1)
    if text[at : at + 1] == "}":
        return found
    while True:
        if text[at : at + 1] != '"':
            raise ValueError(f"a member name expected at {at}")
        name, at = _VALUE.raw_decode(text, at)  # a JSON string: the member's name, decoded
        at = _after_space(text, at)
        if text[at : at + 1] != ":":
            raise ValueError(f"':' expected at {at}")
        start = _after_space(text, at + 1)
        if name in names:
            shape, at = _SHAPE.raw_decode(text, start)
            found[name] = (text[start:at], shape)
        else:
            _, at = _VALUE.raw_decode(text, start)
        at = _after_space(text, at)
        if text[at : at + 1] == "}":
            return found
        if text[at : at + 1] != ",":
            raise ValueError(f"',' or '}}' expected at {at}")
        at = _after_space(text, at + 1)


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
            if any("recursion limit exceeded" in str(e.get("ctx", {}).get("error", "")) for e in exc.errors()):
                raise InputInvalid(
                    "Invalid request body: arrays and objects nest too deep in it (about 200 levels or more: valid"
                    f" JSON, but more than JSON parsers take); remote_fields takes at most {MAX_DEPTH} levels."
                ) from None
            raise InputInvalid(describe_validation_error(exc)) from None
        if b"\\u0000" in raw and _has_nul(json.loads(raw)):
            raise InputInvalid("Invalid request body: strings must not contain the NUL character (\\u0000).")
        if _has_non_finite(parsed):
            raise InputInvalid(
                "Invalid request body: numbers must be finite (NaN, Infinity and numbers beyond "
                "±1.8e308 are not JSON, and could not be stored or listed)."
            )
        if isinstance(parsed, KeepsMemberText) and parsed.KEPT_TEXT:
            names = parsed.KEPT_TEXT
            # the scan parses every top-level value again (~10 ms for a 7 MB attachment): only when a kept
            # member can be there (its name as is, or spelled with \u escapes)
            if b"\\u" in raw or any(name.encode() in raw for name in names):
                kept = _kept_members(raw.decode("utf-8"), names)
                for name, (_, shape) in kept.items():
                    _check_kept(name, shape)
                parsed._member_texts = {name: text for name, (text, _) in kept.items()}
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
