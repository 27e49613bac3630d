"""The states of delivery: an outbox row's state, how one send ended, and what its attempt row records.

``StrEnum``s: a member equals its string, so the database keeps exactly these strings (``outbox.state``,
``delivery_attempts.outcome``; no migration) and code comparing with a plain string keeps working.
The transitions are in docs/delivery.md ("Outbox states").
"""

from __future__ import annotations

from enum import StrEnum


class DeliveryState(StrEnum):
    """``outbox.state``."""

    PENDING = "pending"
    """Waiting for its first or next attempt (``next_attempt_at``)."""
    IN_FLIGHT = "in_flight"
    """Claimed by a worker (``claimed_by``), which holds it until ``lease_until``."""
    SUCCEEDED = "succeeded"
    """Delivered (for ``assessment:order-received``: including a vendor's rejection of the order). Final."""
    DEAD = "dead"
    """Out of retries, or refused for good; waits for an operator (``deliveries retry|cancel``)."""
    CANCELLED = "cancelled"
    """Cancelled by an operator (or ``sandbox reset``)."""
    SUPERSEDED = "superseded"
    """A write-back replaced by a newer one of the same order before it was delivered. Final."""


RETRYABLE_STATES = (DeliveryState.DEAD, DeliveryState.CANCELLED, DeliveryState.PENDING)
"""States an operator may retry (``deliveries retry``: due now)."""
CANCELLABLE_STATES = (DeliveryState.PENDING, DeliveryState.DEAD)
"""States an operator may cancel."""
UNFINISHED_STATES = (DeliveryState.PENDING, DeliveryState.IN_FLIGHT)
"""States that hold back a newer write-back of the same order (per-order revision order)."""


class SendStatus(StrEnum):
    """How one send ended (``delivery.senders.Outcome.status``), before it is recorded."""

    SUCCEEDED = "succeeded"
    REJECTED = "rejected"
    """The vendor refused the order (a 422 with a JSON ``message`` to ``assessment:order-received``)."""
    FAILED = "failed"
    SUPERSEDED = "superseded"
    """Not sent: a newer write-back of the same order exists."""


class AttemptOutcome(StrEnum):
    """``delivery_attempts.outcome``: what the attempt did to its row."""

    SUCCEEDED = "succeeded"
    REJECTED = "rejected"
    RETRY = "retry"
    """Failed; the row is ``pending`` again, due at its next attempt."""
    DEAD = "dead"
    SUPERSEDED = "superseded"
    LATE_SUCCEEDED = "late-succeeded"
    """An attempt that ended after the row stopped being this worker's claim: recorded, changes nothing."""
    LATE_REJECTED = "late-rejected"
    LATE_FAILED = "late-failed"
    LATE_SUPERSEDED = "late-superseded"

    @classmethod
    def late(cls, status: SendStatus) -> AttemptOutcome:
        """The outcome of an attempt that ended ``status`` on a row no longer this worker's."""
        return _LATE[status]


_LATE = {
    SendStatus.SUCCEEDED: AttemptOutcome.LATE_SUCCEEDED,
    SendStatus.REJECTED: AttemptOutcome.LATE_REJECTED,
    SendStatus.FAILED: AttemptOutcome.LATE_FAILED,
    SendStatus.SUPERSEDED: AttemptOutcome.LATE_SUPERSEDED,
}
