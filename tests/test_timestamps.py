"""kit.timestamps: lenient parsing, one emission format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from assessment_hub.kit.timestamps import format_instant, parse_instant


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
