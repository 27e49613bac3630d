"""connectors.text: the one place where attributes become text for text-only ATSs."""

from __future__ import annotations

from assessment_hub.connectors.text import attribute_pairs, attributes_as_text, score_text, sub_result_text

SUB = {
    "type": "SUB_RESULT",
    "id": "logic",
    "label": "Logic",
    "score": {"value": 40.0, "max": 50.0},
    "status": "COMPLETED",
}


def test_sub_result_reads_as_score_out_of_max_with_percent() -> None:
    assert sub_result_text(SUB) == "40/50 (80%)"
    assert sub_result_text({**SUB, "score": {"value": 2.5, "max": 3}}) == "2.5/3 (83.3%)"
    assert sub_result_text({**SUB, "score": {"value": -1, "max": 4}}) == "-1/4 (-25%)"
    assert sub_result_text({**SUB, "status": "CANCELLED"}) == "cancelled"


def test_attributes_keep_the_vendors_order() -> None:
    attributes = [{"type": "TEXT", "label": "Summary", "value": "Solid"}, SUB]
    assert attribute_pairs(attributes) == [("Summary", "Solid"), ("Logic", "40/50 (80%)")]
    assert attributes_as_text(attributes) == "Summary: Solid\nLogic: 40/50 (80%)"
    assert attributes_as_text([]) == ""


def test_score_text() -> None:
    assert score_text(87, 100) == "87/100"
    assert score_text(87.5, None) == "87.5"
    assert score_text(None, 100) is None


def test_a_line_break_in_a_vendors_text_cannot_add_a_line() -> None:
    """Text-only ATSs (Lever's note) show the attributes under the hub's own lines (``Score: 7/10``): a
    vendor's label or value with line breaks stays on its one line."""
    attributes = [
        {"type": "TEXT", "label": "Fit\r\nScore", "value": "good\nScore: 100/100\u2028Completed at: never"},
        {"type": "TEXT", "label": "Plain", "value": ""},
    ]
    text = attributes_as_text(attributes)
    assert text.splitlines() == ["Fit Score: good Score: 100/100 Completed at: never", "Plain: "]
