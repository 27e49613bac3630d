"""What an operator does with deliveries: list them, read their attempts, retry or cancel one."""

from __future__ import annotations

from collections.abc import Sequence

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from assessment_hub.assessment.models import OrderRow
from assessment_hub.delivery.models import STATES, DeliveryAttemptRow, OutboxRow
from assessment_hub.delivery.senders import Outcome, send_webhook
from assessment_hub.delivery.states import CANCELLABLE_STATES, RETRYABLE_STATES, DeliveryState
from assessment_hub.errors import InputInvalid, NotFound
from assessment_hub.kit.crypto import Cipher
from assessment_hub.kit.ids import new_id
from assessment_hub.kit.timestamps import format_instant, utcnow
from assessment_hub.webhooks.models import WebhookEndpointRow
from assessment_hub.webhooks.service import encode_event, endpoint_secret


def list_deliveries(
    session: Session,
    *,
    state: str | None = None,
    order_id: str | None = None,
    integration_id: str | None = None,
    limit: int = 100,
) -> Sequence[OutboxRow]:
    """Deliveries, newest first; raises ``InputInvalid`` for a ``state`` that is not one of ``STATES``
    and ``NotFound`` for an ``order_id`` that names no order (so a typo is not mistaken for "none")."""
    if state is not None and state not in STATES:
        raise InputInvalid(f"state: unknown delivery state {state!r}; use one of {', '.join(STATES)}.")
    if order_id and session.get(OrderRow, order_id) is None:
        raise NotFound(f"order_id: unknown order {order_id!r}.")
    query = select(OutboxRow).order_by(OutboxRow.id.desc()).limit(limit)
    if state:
        query = query.where(OutboxRow.state == state)
    if order_id:
        query = query.where(OutboxRow.order_id == order_id)
    if integration_id:
        query = query.where(OutboxRow.integration_id == integration_id)
    return session.scalars(query).all()


def get_delivery(session: Session, outbox_id: int, *, for_update: bool = False) -> OutboxRow:
    """The delivery; ``for_update`` locks it against a worker claiming it meanwhile (PostgreSQL)."""
    query = select(OutboxRow).where(OutboxRow.id == outbox_id)
    row = session.scalar(query.with_for_update() if for_update else query)
    if row is None:
        raise NotFound(f"No delivery with id {outbox_id}.")
    return row


def attempts_of(session: Session, outbox_id: int) -> Sequence[DeliveryAttemptRow]:
    return session.scalars(
        select(DeliveryAttemptRow).where(DeliveryAttemptRow.outbox_id == outbox_id).order_by(DeliveryAttemptRow.id)
    ).all()


def attempts_by_delivery(session: Session, outbox_ids: Sequence[int]) -> dict[int, list[DeliveryAttemptRow]]:
    """The attempts of each delivery (oldest first), in one query."""
    found: dict[int, list[DeliveryAttemptRow]] = {outbox_id: [] for outbox_id in outbox_ids}
    if outbox_ids:
        for attempt in session.scalars(
            select(DeliveryAttemptRow)
            .where(DeliveryAttemptRow.outbox_id.in_(list(outbox_ids)))
            .order_by(DeliveryAttemptRow.id)
        ):
            found[attempt.outbox_id].append(attempt)
    return found


def act_on_deliveries(session: Session, action: str, outbox_ids: Sequence[int]) -> list[tuple[int, str | None]]:
    """``retry`` or ``cancel`` each delivery (the rules of ``retry_delivery`` / ``cancel_delivery``);
    returns ``(id, None)`` for each done and ``(id, why not)`` for each refused, in the order given."""
    act = {"retry": retry_delivery, "cancel": cancel_delivery}.get(action)
    if act is None:
        raise InputInvalid(f"action: must be retry or cancel (got {action!r}).")
    done: list[tuple[int, str | None]] = []
    for outbox_id in outbox_ids:
        try:
            act(session, outbox_id)
            done.append((outbox_id, None))
        except (InputInvalid, NotFound) as exc:
            done.append((outbox_id, exc.message))
    return done


def retry_delivery(session: Session, outbox_id: int) -> OutboxRow:
    """Make a dead, cancelled or waiting delivery due now. Its attempt history is kept, and the
    retry policy's age limit counts from now."""
    row = get_delivery(session, outbox_id, for_update=True)
    if row.state not in RETRYABLE_STATES:
        raise InputInvalid(
            f"Delivery {outbox_id} is {row.state}; only {', '.join(RETRYABLE_STATES)} deliveries can be retried."
        )
    now = utcnow()
    row.state, row.next_attempt_at, row.finished_at, row.updated_at = DeliveryState.PENDING, now, None, now
    row.created_at = now  # the age limit restarts: the operator asked for a fresh run
    session.flush()
    return row


def cancel_delivery(session: Session, outbox_id: int) -> OutboxRow:
    """Cancel a delivery that is not being sent right now (an in-flight one cannot be called back)."""
    row = get_delivery(session, outbox_id, for_update=True)
    if row.state not in CANCELLABLE_STATES:
        raise InputInvalid(
            f"Delivery {outbox_id} is {row.state}; only {', '.join(CANCELLABLE_STATES)} deliveries can be cancelled."
        )
    now = utcnow()
    row.state, row.finished_at, row.updated_at = DeliveryState.CANCELLED, now, now
    session.flush()
    return row


def delivery_view(row: OutboxRow, attempts: Sequence[DeliveryAttemptRow] | None = None) -> dict:
    view = {
        "id": row.id,
        "kind": row.kind,
        "action": row.action,
        "state": row.state,
        "integration_id": row.integration_id,
        "order_id": row.order_id,
        "revision_id": row.revision_id,
        "endpoint_id": row.endpoint_id,
        "event_id": row.event_id,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "next_attempt_at": format_instant(row.next_attempt_at),
        "claimed_by": row.claimed_by,
        "lease_until": format_instant(row.lease_until),
        "created_at": format_instant(row.created_at),
        "finished_at": format_instant(row.finished_at),
    }
    if attempts is not None:
        view["attempt_log"] = [
            {
                "at": format_instant(a.started_at),
                "duration_ms": a.duration_ms,
                "http_status": a.http_status,
                "outcome": a.outcome,
                "error_class": a.error_class,
                "error_message": a.error_message,
                "response_excerpt": a.response_excerpt,
                "worker_id": a.worker_id,
            }
            for a in attempts
        ]
    return view


TEST_EVENT = "hub:test"
"""The type of the event ``send_test_event`` sends; not one of ``webhooks.events.EVENT_TYPES`` (never queued)."""


def send_test_event(
    session: Session, cipher: Cipher, endpoint_id: str, http: httpx.Client, timeout: float
) -> tuple[str, Outcome]:
    """Send one signed ``hub:test`` event to the endpoint now, outside the outbox (an operator's check,
    not a message the vendor is owed); returns the body sent and the ``Outcome``. Raises ``NotFound``."""
    row = session.get(WebhookEndpointRow, endpoint_id)
    if row is None:
        raise NotFound(f"No webhook endpoint with id {endpoint_id!r}.")
    body = encode_event(new_id(), TEST_EVENT, {"endpoint_id": row.id, "sent_at": format_instant(utcnow())})
    return body, send_webhook(http, row.url, endpoint_secret(row, cipher), body, TEST_EVENT, timeout)
