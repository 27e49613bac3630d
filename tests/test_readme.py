"""The README's connector matrix says what the connectors' code says."""

from __future__ import annotations

from pathlib import Path

from assessment_hub.connectors.registry import CONNECTORS

README = Path(__file__).resolve().parents[1] / "README.md"
COLUMNS = (
    "text_only_attributes",
    "shows_open_results",
    "accepts_attachments",
    "shows_rejection_message",
    "ats_can_cancel",
)


def test_capability_matrix_matches_the_code() -> None:
    rows = {}
    for line in README.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) == 8:
            rows[cells[0].strip("`")] = cells[3:]
    assert set(rows) == set(CONNECTORS), "every connector has one row, and only connectors have rows"
    for tool, connector in CONNECTORS.items():
        said = [cell.split(" ")[0] == "yes" for cell in rows[tool]]
        actual = [getattr(connector.capabilities, column) for column in COLUMNS]
        assert said == actual, f"README row for {tool} disagrees with its capabilities"
