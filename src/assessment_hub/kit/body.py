"""JSON request bodies: content type checked, size capped while streaming, parsed by pydantic.

Every failure is a Kombo ``PLATFORM.INPUT_INVALID`` error (415, 413 or 400 naming the field).

The body must be UTF-8 (RFC 8259 §8.1): a ``charset`` other than ``utf-8`` is a 415 naming it, a body that is
not UTF-8 a 400 saying so; a UTF-8 byte order mark at its start is ignored, as the RFC lets a parser do.

A body model that is a ``KeepsMemberText`` also gets the JSON text, exactly as sent, of the top-level
members it names (``member_texts``): ``remote_fields`` of a result is stored and listed in the vendor's
own spelling. Such a text is checked as written, every pair of it (a key given twice too, whose first
value the parsed body does not show): its arrays and objects nest at most ``MAX_DEPTH`` levels.

Every number of a body keeps ``NUMBER_RULE`` (docs/api.md, "Numbers"): within an IEEE 754 double's range,
not read as 0 unless it is 0, at most ``MAX_NUMBER_DIGITS`` digits and an exponent within
``±MAX_EXPONENT``. Such a number converts to a double (JavaScript clients), to PostgreSQL's ``numeric``
(``jsonb``: the downgrade of migration 0007) and back.
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

MAX_NUMBER_DIGITS = 1100
"""Digits a number may be written with (before its exponent): enough for any double's exact value written
out in full (5e-324 is 1,075 digits plainly: ``0.`` and 1,074 decimals)."""
MAX_EXPONENT = 1100
"""The largest exponent (``e-1100``..``e+1100``) a number may be written with."""
NUMBER_RULE = (
    "numbers must be finite and within an IEEE 754 double's range: at most 1.7976931348623157e308 in magnitude "
    "(integers too), not so small that a double reads them as 0 unless they are 0 (below about 2.5e-324), "
    f"written with at most {MAX_NUMBER_DIGITS} digits and an exponent within ±{MAX_EXPONENT} "
    "(NaN and Infinity are not JSON numbers)"
)
"""The number rule, as every refusal of a number states it (``kit.body`` and the result's typed scores)."""

_PLAIN = 300
"""A number written in fewer characters, without an exponent, keeps ``NUMBER_RULE`` whatever it is (at most
299 digits: below 1e300, and 1e-298 or more unless it is 0)."""
_DIGITS = frozenset("0123456789")
_NUMBER = re.compile(r"-?([0-9]+)(?:\.([0-9]+))?(?:[eE]([-+]?[0-9]+))?")


def number_breaks_rule(text: str) -> bool:
    """True when the JSON number ``text`` (as written) breaks ``NUMBER_RULE``. Exact: its value rounds to a
    double as ``float`` (correctly) rounds the text, and an integer as ``float`` rounds it (the same)."""
    if len(text) < _PLAIN and "e" not in text and "E" not in text and text[-1:] in _DIGITS:
        return False
    parts = _NUMBER.fullmatch(text)
    if parts is None:  # NaN, Infinity and other texts that are not JSON numbers
        return True
    whole, fraction, exponent = parts.group(1), parts.group(2) or "", parts.group(3)
    if len(whole) + len(fraction) > MAX_NUMBER_DIGITS:
        return True
    if exponent is not None and (len(exponent.lstrip("+-").lstrip("0")) > 5 or abs(int(exponent)) > MAX_EXPONENT):
        return True
    value = float(text)
    return math.isinf(value) or (value == 0.0 and (whole + fraction).strip("0") != "")


class _OutOfRule(ValueError):
    """A number (or NaN, Infinity) of a body's text that breaks ``NUMBER_RULE``; ``member``: the top-level
    member holding it, once known."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text
        self.member = ""


def _number(text: str) -> int:
    """``parse_int``/``parse_float`` of the checking decoders: refuses a number out of the rule, else
    converts nothing (an integer of more than 4,300 digits would be a ``ValueError`` for ``int``)."""
    if number_breaks_rule(text):
        raise _OutOfRule(text)
    return 0


def _constant(text: str) -> int:
    raise _OutOfRule(text)


def number_refusal(member: str, text: str | None = None) -> InputInvalid:
    """The 400 for a number out of ``NUMBER_RULE`` in the top-level ``member`` (its text, when known)."""
    shown = "" if text is None else f" ({text if len(text) <= 40 else text[:30] + '…' + text[-6:]})"
    return InputInvalid(f"Invalid request body: {member}: a number is out of range{shown}; {NUMBER_RULE}.")


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


_SHAPE = json.JSONDecoder(object_pairs_hook=_object, parse_int=_number, parse_float=_number, parse_constant=_constant)
"""Decodes a kept member's text into its shape: every pair of it, a key given twice too (``_object``); its
numbers are checked (``_number``)."""
_NUMBERS = json.JSONDecoder(parse_int=_number, parse_float=_number, parse_constant=_constant)
"""Checks the numbers of a member's text (every pair: a key given twice too) and converts none."""


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
    return {name: kept[0] for name, kept in _members(text, names, _VALUE, _VALUE).items()}


def _members(
    text: str, names: Collection[str], kept: json.JSONDecoder, other: json.JSONDecoder
) -> dict[str, tuple[str, object]]:
    """``member_texts``, each text with what the decoder ``kept`` made of it; every other member's value is
    decoded with ``other``. Raises ``_OutOfRule`` (its ``member`` set) when a decoder does."""
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
        try:
            if name in names:
                value, at = kept.raw_decode(text, start)
                found[name] = (text[start:at], value)
            else:
                _, at = other.raw_decode(text, start)
        except _OutOfRule as exc:
            exc.member = name
            raise
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
            raise _refusal(exc) from None
        # a backslash first: one byte is a memchr (0.2 ms for 7 MB of base64); a two-byte search took 12 ms
        if b"\\" in raw and b"\\u0000" in raw and _has_nul(_PAIRS.decode(raw.decode("utf-8"))):
            raise InputInvalid("Invalid request body: strings must not contain the NUL character (\\u0000).")
        _check_values(parsed, raw)
        return parsed

    return parse


def _refusal(exc: ValidationError) -> InputInvalid:
    """The 400 for a body pydantic refused; what its parser calls invalid JSON but is not (a body nested
    about 200 deep, an integer of more than 4,300 digits) says what it is."""
    errors = [str(e.get("ctx", {}).get("error", "")) for e in exc.errors() if e.get("type") == "json_invalid"]
    if any("recursion limit exceeded" in error for error in errors):
        return InputInvalid(
            "Invalid request body: arrays and objects nest too deep in it (about 200 levels or more: valid JSON,"
            f" but more than JSON parsers take); remote_fields takes at most {MAX_DEPTH} levels."
        )
    for error in errors:
        if error.startswith("number out of range"):
            at = error.removeprefix("number out of range ")
            return InputInvalid(f"Invalid request body: a number is out of range ({at}); {NUMBER_RULE}.")
    return InputInvalid(describe_validation_error(exc))


def _check_values(parsed: BaseModel, raw: bytes) -> None:
    """Refuse (400) a validated body (``parsed``, from ``raw``) with a number out of ``NUMBER_RULE``, or a kept
    member (``KEPT_TEXT``) out of a rule in any pair of its text; keep those texts on ``parsed``."""
    walk = _Walk()
    for name, value in [*parsed.__dict__.items(), *(parsed.model_extra or {}).items()]:
        if walk.out_of_rule(value):
            raise number_refusal(name)
    names = parsed.KEPT_TEXT if isinstance(parsed, KeepsMemberText) else ()
    # a kept member can be there: its name as is, or spelled with \u escapes
    escaped = b"\\" in raw and b"\\u" in raw  # one byte first: see ``json_body``
    if isinstance(parsed, KeepsMemberText) and names and (escaped or any(n.encode() in raw for n in names)):
        # the text is parsed again (~10 ms for a 7 MB attachment): by the scan that cuts the kept texts, which
        # checks every number of the body too; or when the parsed values cannot show that every number keeps
        # the rule (``_Walk``)
        try:
            kept = _members(raw.decode("utf-8"), names, _SHAPE, _NUMBERS)
        except _OutOfRule as exc:
            raise number_refusal(exc.member, exc.text) from None
        for name, (_, shape) in kept.items():
            _check_kept(name, shape)
        parsed._member_texts = {name: text for name, (text, _) in kept.items()}
    elif walk.needs_text(raw):
        _check_numbers(raw.decode("utf-8"))


def _check_numbers(text: str) -> None:
    """Refuse (400) the body ``text`` when a number of it breaks ``NUMBER_RULE``: one decode (a quarter of
    the member scan's time), then, for a refusal only, the scan that names the member."""
    try:
        _NUMBERS.decode(text)
    except _OutOfRule as exc:
        culprit = exc
        try:
            _members(text, (), _NUMBERS, _NUMBERS)
        except _OutOfRule as found:
            culprit = found
        raise number_refusal(culprit.member or "body", culprit.text) from None


class _Walk:
    """Walks a parsed body for its numbers (``out_of_rule``), cheaply: a 7 MB attachment body is a few
    values, its base64 one string (which holds "NaN" and "e999" often: the raw text is not searched).

    The parsed values show a number that is NaN, infinite (pydantic turns ``1e400`` into ``inf``, even in
    fields typed ``Any``) or an integer beyond the double range, not a float written with too many digits
    or read as 0 (``1e-400`` is ``0.0``): those need the text (``_NUMBERS``), which is read only when the
    parsed body holds a float 0 (``zero``), or another float (``floats``) and more characters outside its
    long strings than ``_PLAIN`` (``long_strings``: their length, quotes included, never more than their
    text's; a float breaking the rule unseen is longer)."""

    __slots__ = ("floats", "long_strings", "zero")

    def __init__(self) -> None:
        self.zero = self.floats = False
        self.long_strings = 0

    def needs_text(self, raw: bytes) -> bool:
        """Whether only the text of ``raw`` (the body walked) can show a number out of the rule."""
        return self.zero or (self.floats and len(raw) - self.long_strings >= _PLAIN)

    def out_of_rule(self, value: object) -> bool:
        """True when a number anywhere in ``value`` (a parsed body member) breaks ``NUMBER_RULE`` visibly."""
        if isinstance(value, str):
            if len(value) >= 64:
                self.long_strings += len(value) + 2
            return False
        if isinstance(value, float):
            self.floats = True
            if value == 0.0:
                self.zero = True
            return not math.isfinite(value)
        if isinstance(value, int):  # bool too: never that long
            if value.bit_length() > 1023:
                try:
                    float(value)  # rounds as a double reads the integer's text
                except OverflowError:
                    return True
            return False
        if isinstance(value, BaseModel):
            return self.out_of_rule(value.__dict__) or self.out_of_rule(value.model_extra or {})
        if isinstance(value, dict):
            return any(self.out_of_rule(v) for v in value.values())
        if isinstance(value, list | tuple):
            return any(self.out_of_rule(v) for v in value)
        return False


_PAIRS = json.JSONDecoder(object_pairs_hook=list, parse_int=len, parse_float=len, parse_constant=len)
"""Decodes a body with every pair of its objects (``[(name, value), ...]``: a key given twice too, whose first
value is not in the parsed body but is in a kept member's stored text), converting no number."""


def _has_nul(value: object) -> bool:
    """True when a string anywhere in ``value`` (as ``_PAIRS`` decodes a body: names and values of every pair)
    holds U+0000 (PostgreSQL cannot store it in text, nor convert ``\\u0000`` in ``json`` to ``jsonb``)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False
