"""Attributes as readable text, for ATSs that show only text (Teamtailor, Greenhouse metadata, ...).

One place, so every text-only connector writes SUB_RESULTs the same way:

    Logic: 40/50 (80%)
    Communication: cancelled

Kombo does the same for text-only ATSs but does not document its format (kombo-contract.md §4.5,
UNCONFIRMED); this is the hub's.
"""

from __future__ import annotations

from typing import Any

from assessment_hub.connectors.numbers import format_number, percent
from assessment_hub.kit.states import ResultStatus

__all__ = ["attribute_pairs", "attributes_as_text", "format_number", "score_text", "sub_result_text"]


def sub_result_text(attribute: dict[str, Any]) -> str:
    """``"40/50 (80%)"``, or ``"cancelled"`` for a cancelled sub-result."""
    if attribute.get("status") == ResultStatus.CANCELLED:
        return "cancelled"
    value, maximum = attribute["score"]["value"], attribute["score"]["max"]
    share = percent(value, maximum)
    shown = f" ({format_number(round(share, 1))}%)" if share is not None else ""
    return f"{format_number(value)}/{format_number(maximum)}{shown}"


def attribute_pairs(attributes: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Each attribute as ``(label, text)`` in the vendor's order; SUB_RESULTs flattened."""
    pairs = []
    for attribute in attributes:
        if attribute["type"] == "SUB_RESULT":
            pairs.append((attribute["label"], sub_result_text(attribute)))
        else:
            pairs.append((attribute["label"], attribute["value"]))
    return pairs


def attributes_as_text(attributes: list[dict[str, Any]]) -> str:
    """All attributes as ``label: text`` lines, one line each: a line break inside a label or text becomes a
    space, so a vendor's text cannot add lines of its own to the block (a TEXT value ending in
    ``"\nScore: 100/100"`` would otherwise read, in a Lever note, as the hub's score line)."""
    return "\n".join(f"{_one_line(label)}: {_one_line(text)}" for label, text in attribute_pairs(attributes))


def _one_line(text: str) -> str:
    """``text`` with every line break (``str.splitlines``' set: CR, LF, U+2028 ...) replaced by a space."""
    return " ".join(text.splitlines()) if text else text


def score_text(score: float | None, max_score: float | None) -> str | None:
    """``"87/100"``, ``"87"`` without a maximum, or None without a score."""
    if score is None:
        return None
    return f"{format_number(score)}/{format_number(max_score)}" if max_score is not None else format_number(score)


def percent_text(value: float, maximum: float | None) -> str | None:
    """``value`` as a percentage of ``maximum``, one decimal at most (``"82"``, ``"82.5"``); None without a
    positive maximum."""
    share = percent(value, maximum)  # None without a positive maximum, or past the double range
    return None if share is None else format_number(round(share, 1))
