"""The order status rules, in one place (shared/cases/result-status-transitions.json).

- An order's status may change only while it is OPEN (kombo-contract.md §4.5).
- A terminal status (COMPLETED, CANCELLED) may be re-sent: a correction, stored as a new revision.
- REJECTED orders (the vendor refused them) take no result.
"""

from __future__ import annotations

from assessment_hub.errors import InputInvalid

TERMINAL = frozenset({"COMPLETED", "CANCELLED"})


def check_result_transition(current: str, requested: str) -> None:
    """Raise ``InputInvalid`` when a result with ``requested`` status may not be applied to an order in ``current``."""
    if current == "OPEN":
        return
    if current == "REJECTED":
        raise InputInvalid("This order was rejected and takes no result.")
    if current in TERMINAL and requested != current:
        raise InputInvalid(
            f"status: the order is already {current}; a result may re-send {current} to correct it, "
            f"but not change it to {requested}."
        )
