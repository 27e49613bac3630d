"""docs/configuration.md lists every setting of ``config.Settings``, with its real default."""

from __future__ import annotations

import re
from pathlib import Path

from assessment_hub.config import Settings

DOC = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"
ROW = re.compile(r"^\|\s*`([A-Z0-9_]+)`\s*\|\s*([^|]*?)\s*\|")


def documented() -> dict[str, str]:
    """NAME -> default cell of every table row of the document."""
    rows: dict[str, str] = {}
    for line in DOC.read_text().splitlines():
        match = ROW.match(line)
        if match:
            assert match.group(1) not in rows, f"{match.group(1)} is documented twice"
            rows[match.group(1)] = match.group(2).strip("`")
    return rows


def test_every_setting_is_documented_and_nothing_else() -> None:
    fields = {name.upper() for name in Settings.model_fields}
    rows = documented()
    assert not fields - rows.keys(), f"missing from docs/configuration.md: {sorted(fields - rows.keys())}"
    assert not rows.keys() - fields, f"documented but not a setting: {sorted(rows.keys() - fields)}"


def test_documented_defaults_match() -> None:
    rows = documented()
    for name, field in Settings.model_fields.items():
        default, cell = field.default, rows[name.upper()]
        if default is None:
            assert cell == "unset", (name, cell)
        elif isinstance(default, bool):
            assert cell == str(default).lower(), (name, cell)
        elif isinstance(default, Path):
            assert Path(cell) == default, (name, cell)
        else:
            assert cell == str(default), (name, cell)
