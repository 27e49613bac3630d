"""JSON request bodies: content type checked, size capped while streaming, parsed by pydantic.

Every failure is a Kombo ``PLATFORM.INPUT_INVALID`` error (415, 413 or 400 naming the field).

The body must be UTF-8 (RFC 8259 §8.1): a ``charset`` other than ``utf-8`` is a 415 naming it, a body that is
not UTF-8 a 400 saying so; a UTF-8 byte order mark at its start is ignored, as the RFC lets a parser do.

A body model that is a ``KeepsMemberText`` also gets the JSON text, exactly as sent, of the top-level
members it names (``member_texts``): ``remote_fields`` of a result is stored and listed in the vendor's
own spelling.
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


_WHITESPACE = re.compile(r"[ \t\n\r]*")  # JSON's insignificant whitespace (RFC 8259 §2)
_VALUE = json.JSONDecoder(parse_int=len, parse_float=len, parse_constant=len)
"""Finds where a value ends; its numbers are not converted (an integer of more than 4,300 digits, which
pydantic takes, would be a ``ValueError`` for ``int``)."""


def _after_space(text: str, at: int) -> int:
    """The index of the first character at or after ``at`` that is not JSON whitespace."""
    return _WHITESPACE.match(text, at).end()  # type: ignore[union-attr]  # the pattern matches "" anywhere


def member_texts(text: str, names: Collection[str]) -> dict[str, str]:
    """The JSON text of each member of the top-level object ``text`` whose (decoded) name is in ``names``:
    ``{name: text of its value}``, the value's text exactly as written (spacing, key order and duplicate
    keys inside it, number spelling, escapes), from its first character to its last. A name given twice
    maps to its last value, as pydantic and Python's ``json`` keep it. ``text`` must be a JSON object (the
    body has validated); raises ``ValueError`` otherwise."""
    found: dict[str, str] = {}
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
        _, at = _VALUE.raw_decode(text, start)
        if name in names:
            found[name] = text[start:at]
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


UTF8_BOM = b"\xef\xbb\xbf"


def charset_problem(content_type: str) -> str | None:
    """Why the ``Content-Type`` header value ``content_type`` names a charset the body cannot be read in, or
    None: no ``charset`` parameter, or ``utf-8`` (any case, quoted or not; ``utf8`` too). JSON exchanged
    between systems is UTF-8 (RFC 8259 §8.1), and the body is read as UTF-8 whatever the header says."""
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"')
            if charset.lower() not in ("utf-8", "utf8"):
                return (
                    f"The request body must be UTF-8 JSON (RFC 8259 §8.1), but 'Content-Type' names "
                    f"charset={charset[:64]!r}: send it encoded as UTF-8, with no charset or charset=utf-8."
                )
    return None


def encoding_problem(raw: bytes) -> str | None:
    """Why ``raw``, a body that did not parse as JSON, is not UTF-8 text, or None when it is: a UTF-16/32
    byte order mark, a NUL byte among its first two (UTF-16/32 text of ASCII, RFC 4627 §3), or the first
    byte that is not UTF-8 (ISO-8859-1, Windows-1252) with its offset."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")):
        return "The request body starts with a UTF-16 or UTF-32 byte order mark: it must be UTF-8 JSON (RFC 8259 §8.1)."
    if b"\x00" in raw[:2]:
        return "The request body looks like UTF-16 or UTF-32 text (NUL bytes): it must be UTF-8 JSON (RFC 8259 §8.1)."
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return (
            f"The request body is not UTF-8 (byte 0x{raw[exc.start]:02X} at offset {exc.start} is not valid "
            "UTF-8; ISO-8859-1 or Windows-1252 text?): it must be UTF-8 JSON (RFC 8259 §8.1)."
        )
    return None


def _validate_json(model: type[Model], raw: bytes) -> Model:
    """``model.model_validate_json(raw)``; a body that is not JSON because it is not UTF-8 is refused saying
    so (``encoding_problem``, 400), other refusals raise pydantic's ``ValidationError``. The check runs only
    once parsing failed: nothing is added on the way of a body that parses."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors()) and (problem := encoding_problem(raw)):
            raise InputInvalid(problem) from None
        raise


def json_body(model: type[Model]) -> Callable[[Request], Awaitable[Model]]:
    """A dependency that parses the request body into ``model``."""

    async def parse(request: Request) -> Model:
        header = request.headers.get("content-type", "")
        content_type = header.split(";")[0].strip().lower()
        if content_type != "application/json" and not content_type.endswith("+json"):
            raise UnsupportedMediaType(
                f"The request body must be JSON with 'Content-Type: application/json' (got {content_type or 'none'!r})."
            )
        if (problem := charset_problem(header)) is not None:
            raise UnsupportedMediaType(problem)
        # a UTF-8 byte order mark is no part of the JSON text: ignored (RFC 8259 §8.1), as the ATS routes'
        # json.loads of the bytes does
        raw = (await read_body(request, request.app.state.settings.max_body_bytes)).removeprefix(UTF8_BOM)
        if not raw.strip():
            raise InputInvalid("The request body is empty; a JSON object is required.")
        try:
            parsed = _validate_json(model, raw)
        except ValidationError as exc:
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
                parsed._member_texts = member_texts(raw.decode("utf-8"), names)
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
