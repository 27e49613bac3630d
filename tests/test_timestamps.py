"""kit.timestamps: lenient parsing, one emission format."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects.sqlite import DATETIME

from assessment_hub.kit.timestamps import format_instant, format_listed_instant, parse_instant

_EMITTED = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")


@pytest.mark.parametrize(
    "text,expected,naive",
    [
        ("2023-04-04T00:00:00.000Z", datetime(2023, 4, 4, tzinfo=UTC), False),
        ("2023-04-04T00:00:00.1234567Z", datetime(2023, 4, 4, 0, 0, 0, 123456, tzinfo=UTC), False),
        ("2024-05-01T10:00:00+0200", datetime(2024, 5, 1, 8, tzinfo=UTC), False),
        ("2024-05-01T10:00:00-05:30", datetime(2024, 5, 1, 15, 30, tzinfo=UTC), False),
        ("2024-05-01 10:00:00", datetime(2024, 5, 1, 10, tzinfo=UTC), True),
        ("2024-05-01T10:00Z", datetime(2024, 5, 1, 10, tzinfo=UTC), False),
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC), False),
    ],
)
def test_parse(text: str, expected: datetime, naive: bool) -> None:
    parsed = parse_instant(text)
    assert parsed.value == expected and parsed.was_naive is naive


@pytest.mark.parametrize("text", ["yesterday", "2024-13-01T00:00:00Z", "2024-02-30", "2024-05-01T25:00:00Z", ""])
def test_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_instant(text)


def test_format_truncates_to_milliseconds_in_utc() -> None:
    value = datetime(2026, 3, 3, 2, 26, 14, 481999, tzinfo=timezone(timedelta(hours=1)))
    assert format_instant(value) == "2026-03-03T01:26:14.481Z"
    assert format_instant(None) is None


@pytest.mark.parametrize(
    "value,expected",
    [
        (datetime(99, 1, 2, 3, 4, 5, 500_000, tzinfo=UTC), "0099-01-02T03:04:05.500Z"),
        (datetime(1, 1, 1), "0001-01-01T00:00:00.000Z"),
        (datetime(999, 12, 31, 23, 59, 59, 999_999), "0999-12-31T23:59:59.999Z"),
        (datetime(1000, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))), "0999-12-31T23:30:00.000Z"),
    ],
)
def test_format_pads_years_before_1000_to_four_digits(value: datetime, expected: str) -> None:
    """kombo-contract.md §4.1 / docs/api.md: ``YYYY-MM-DDTHH:mm:ss.sssZ`` for years 1-9999 (glibc's
    ``strftime("%Y")`` writes ``99``)."""
    assert format_instant(value) == expected
    assert format_listed_instant(value) == expected


def test_the_listing_formats_stored_instants_exactly_as_format_instant() -> None:
    """The order listing reads instants unconverted (SQLite's stored text, psycopg's datetime) and
    ``format_listed_instant`` slices the text: for every instant of years 1-9999, whole seconds and
    sub-millisecond fractions included, it writes what ``format_instant`` writes of the datetime."""
    stored_text = DATETIME().bind_processor(None)  # what SQLAlchemy writes into SQLite's column
    draw = random.Random(15)
    span_us = int((datetime(9999, 12, 31) - datetime(1, 1, 1)).total_seconds()) * 10**6
    for i in range(20_000):
        value = datetime(1, 1, 1) + timedelta(microseconds=draw.randrange(span_us))
        value = value.replace(microsecond=(0, 999_999, 1_000, 999, value.microsecond)[i % 5])
        expected = format_instant(value)
        assert _EMITTED.fullmatch(expected or ""), expected  # four-digit year, years 1-999 included
        assert format_listed_instant(stored_text(value)) == expected, value
        assert format_listed_instant(value) == expected, value
        assert format_listed_instant(value.replace(tzinfo=UTC)) == expected, value
        assert format_listed_instant(value.isoformat(" ")) == expected, value  # text without a fraction
    assert format_listed_instant("2024-05-01 10:00:00.123999") == "2024-05-01T10:00:00.123Z"  # truncated
    with pytest.raises(ValueError):
        format_listed_instant("not an instant")
