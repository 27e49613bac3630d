"""The one place where instants are parsed and formatted.

Parsing is lenient (shared/cases/result-completed-at.json): ``Z`` or ``+hh:mm`` offsets, no fraction
up to any number of fractional digits (truncated to microseconds), naive times (taken as UTC, flagged),
and bare dates (midnight UTC). Emission is always ``YYYY-MM-DDTHH:mm:ss.sssZ`` (kombo-contract.md §4.1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

_ISO = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[T ](?P<time>\d{2}:\d{2}(?::\d{2})?)(?:\.(?P<frac>\d+))?"
    r"(?P<tz>Z|z|[+-]\d{2}:?\d{2})?)?$"
)


@dataclass(frozen=True)
class ParsedInstant:
    value: datetime  # aware, UTC
    was_naive: bool  # a time of day without zone, taken as UTC


def parse_instant(text: str) -> ParsedInstant:
    """Parse an ISO 8601 instant into an aware UTC datetime.

    Raises ``ValueError`` with a readable reason when ``text`` names no instant
    (``"yesterday"``, month 13, ...).
    """
    match = _ISO.match(text.strip())
    if not match:
        raise ValueError("must be an ISO 8601 date-time such as 2024-05-01T10:00:00.000Z")
    date, time, frac, tz = match.group("date", "time", "frac", "tz")
    if time is None:
        naive = False
        candidate = f"{date}T00:00:00+00:00"
    else:
        if len(time) == 5:
            time += ":00"
        micro = (frac or "")[:6].ljust(6, "0")
        naive = tz is None
        zone = "+00:00" if tz in (None, "Z", "z") else (tz if ":" in tz else f"{tz[:3]}:{tz[3:]}")
        candidate = f"{date}T{time}.{micro}{zone}"
    try:
        value = datetime.fromisoformat(candidate).astimezone(UTC)
    except ValueError as exc:
        raise ValueError(f"is not a valid date-time ({exc})") from None
    except OverflowError:
        raise ValueError("is outside the supported range of years 1 to 9999 in UTC") from None
    return ParsedInstant(value, naive)


def format_instant(value: datetime | None) -> str | None:
    """Format as ``YYYY-MM-DDTHH:mm:ss.sssZ`` (milliseconds, truncated); naive values are taken as UTC.

    The year always has four digits (``0099-...``): ``datetime.isoformat`` pads it, unlike glibc's
    ``strftime("%Y")``."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="milliseconds") + "Z"


def format_listed_instant(value: datetime | str) -> str:
    """``format_instant`` of a naive UTC instant as a listing reads it without conversion: a ``datetime``
    (PostgreSQL, through psycopg) or SQLite's stored text ``YYYY-MM-DD HH:MM:SS.ffffff`` (the form
    SQLAlchemy's SQLite ``DATETIME`` always writes). That text is sliced, not parsed and formatted again:
    0.2 instead of ~1.5 us a value, two values an order. Other text is parsed (``datetime.fromisoformat``,
    ``ValueError`` if it names no instant)."""
    if isinstance(value, str):
        if len(value) == 26 and value[10] == " " and value[19] == ".":
            return f"{value[:10]}T{value[11:23]}Z"
        value = datetime.fromisoformat(value)
    return format_instant(value)  # type: ignore[return-value]


def utcnow() -> datetime:
    """The current time, aware UTC, microsecond precision."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Attach UTC to a naive datetime read back from a database that drops zones (SQLite)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
