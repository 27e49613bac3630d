"""The order status rules, in one place (shared/cases/result-status-transitions.json).

- An order's status may change only while it is OPEN (kombo-contract.md §4.5).
- A terminal status (COMPLETED, CANCELLED) may be re-sent: a correction, stored as a new revision.
- REJECTED orders (the vendor refused them) take no result.
"""

from __future__ import annotations

from assessment_hub.errors import InputInvalid
from assessment_hub.kit.states import TERMINAL_RESULT_STATUSES, OrderStatus


def check_result_transition(current: str, requested: str) -> None:
    """Raise ``InputInvalid`` when a result with ``requested`` status may not be applied to an order in ``current``."""
    if current == OrderStatus.OPEN:
        return
    if current == OrderStatus.REJECTED:
        raise InputInvalid("This order was rejected and takes no result.")
    if current in TERMINAL_RESULT_STATUSES and requested != current:
        raise InputInvalid(
            f"status: the order is already {current}; a result may re-send {current} to correct it, "
            f"but not change it to {requested}."
        )
