"""The states of an order and of a result revision, as stored and as the vendor API shows them.

Source: kombo-contract.md §4.4-4.5 (order statuses in listings, result statuses of ``PUT .../result``);
the rules between them are ``assessment.lifecycle``'s. ``StrEnum``s: a member equals its string, so the
database keeps exactly these strings (``orders.status``, ``result_revisions.status``, no migration) and
code comparing with a plain string keeps working. Here in ``kit`` so that connectors can use them
without reaching into the orders feature.
"""

from __future__ import annotations

from enum import StrEnum


class OrderStatus(StrEnum):
    """``orders.status``. Only an OPEN order takes a new status (``assessment.lifecycle``)."""

    OPEN = "OPEN"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"
    """The vendor refused the order (a 422 with a message to ``assessment:order-received``)."""


class ResultStatus(StrEnum):
    """``result_revisions.status``: what a vendor's result says (an order takes its result's status).
    The legacy spelling ``COMPLETE`` is accepted on input and stored as COMPLETED (``assessment.results``)."""

    OPEN = "OPEN"
    """An interim result; the assessment is still running."""
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


TERMINAL_RESULT_STATUSES = frozenset({ResultStatus.COMPLETED, ResultStatus.CANCELLED})
"""Statuses that end an order; re-sending the same one is a correction (a new revision)."""
