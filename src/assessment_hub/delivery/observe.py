"""What the worker tells the operator about each delivery attempt: one log line and the metrics.

``attempt_recorded`` is called once per attempt after it was recorded (its transaction committed). The
line (``event=delivery_attempt``) carries the outbox id, kind (webhook, writeback), action, order id,
outcome (succeeded, rejected, retry, dead, superseded, late-...), HTTP status, duration_ms, error class
and message, and the ``request_id`` of the API request that wrote the outbox row (``OutboxRow.request_id``),
so a vendor's request can be followed to the deliveries it caused. Never the body or the destination's
credentials; error texts pass through the log's scrubber (``kit.logging.scrub``).

Level: info for succeeded/rejected/superseded, warning for retry, error for dead.
"""

from __future__ import annotations

from typing import Any

import structlog

from assessment_hub.kit import metrics

log = structlog.get_logger("assessment_hub.delivery")

_LEVELS = {"retry": "warning", "dead": "error"}


def attempt_recorded(
    *,
    outbox_id: int,
    kind: str,
    action: str,
    order_id: str | None,
    request_id: str | None,
    outcome: str,
    http_status: int | None = None,
    duration_ms: int | None = None,
    error_class: str | None = None,
    error_message: str | None = None,
) -> None:
    outcome = str(outcome)  # an AttemptOutcome (StrEnum): its value
    metrics.count_delivery_attempt(kind, outcome)
    fields: dict[str, Any] = {
        "outbox_id": outbox_id,
        "kind": kind,
        "action": action,
        "order_id": order_id,
        "outcome": outcome,
        "http_status": http_status,
        "duration_ms": duration_ms,
    }
    if error_class is not None:
        fields["error_class"] = error_class
    if error_message:
        fields["error"] = error_message[:500]
    if request_id is not None:
        fields["request_id"] = request_id
    getattr(log, _LEVELS.get(outcome, "info"))("delivery_attempt", **fields)


def report_attempts(recorded: list[tuple[Any, dict[str, Any]]]) -> None:
    """``attempt_recorded`` for each ``(outbox row, attempt values)`` of a committed ``record_batch``."""
    for row, attempt in recorded:
        attempt_recorded(
            outbox_id=row.id,
            kind=row.kind,
            action=row.action,
            order_id=row.order_id,
            request_id=getattr(row, "request_id", None),
            outcome=attempt["outcome"],
            http_status=attempt.get("http_status"),
            duration_ms=attempt.get("duration_ms"),
            error_class=attempt.get("error_class"),
            error_message=attempt.get("error_message"),
        )
