"""The outbox and its delivery attempts.

Every message that leaves the hub (a webhook to the vendor, a write-back to an ATS) is an ``OutboxRow``
written in the same transaction as the change that caused it, and every try to send it is a
``DeliveryAttemptRow``. Rows are never deleted by the hub: an operator can always see where a message
stands and why.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from assessment_hub.db.base import Base, UTCDateTime
from assessment_hub.delivery.states import DeliveryState
from assessment_hub.kit.timestamps import utcnow
from assessment_hub.request_context import current_request_id

BigId = BigInteger().with_variant(Integer(), "sqlite")

STATES = tuple(state.value for state in DeliveryState)
"""Every ``outbox.state`` as plain strings (``delivery.states.DeliveryState``, where each is described);
the admin API's ``state`` filter is a ``Literal`` of these."""


class OutboxRow(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "state", "next_attempt_at"),
        Index("ix_outbox_order", "order_id", "kind", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    """``webhook`` (to a vendor endpoint) or ``writeback`` (to the integration's ATS)."""
    action: Mapped[str] = mapped_column(String(64))
    """Webhook: the event type. Write-back: ``result`` or ``rejection``."""
    integration_id: Mapped[str | None] = mapped_column(String(80), index=True)
    order_id: Mapped[str | None] = mapped_column(String(24))
    revision_id: Mapped[str | None] = mapped_column(String(24))
    endpoint_id: Mapped[str | None] = mapped_column(String(24))
    event_id: Mapped[str | None] = mapped_column(String(24))
    body: Mapped[str | None] = mapped_column(Text)
    """Webhook: the exact UTF-8 body sent (and signed) on every attempt."""
    state: Mapped[str] = mapped_column(String(16), default=DeliveryState.PENDING)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    """Number of ``DeliveryAttemptRow``s, kept equal to their count in the same transaction."""
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    request_id: Mapped[str | None] = mapped_column(String(128), default=current_request_id)
    """The id of the API request whose transaction wrote this row (``X-Request-Id``), for the delivery log
    lines; null when no request caused it (the worker, the CLI)."""


class DeliveryAttemptRow(Base):
    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"), index=True)
    worker_id: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int] = mapped_column(Integer)
    http_status: Mapped[int | None] = mapped_column(Integer)
    response_excerpt: Mapped[str | None] = mapped_column(Text)
    """The first ``RESPONSE_EXCERPT_CHARS`` characters of the response body."""
    error_class: Mapped[str | None] = mapped_column(String(32))
    """``transient``, ``rate_limited``, ``needs_human``, ``bad_input`` or null on success."""
    error_message: Mapped[str | None] = mapped_column(Text)
    request_text: Mapped[str | None] = mapped_column(Text)
    """What was sent: ``METHOD URL``, the headers (secrets masked), a blank line and the body
    (``delivery.requests.describe_request``); null when nothing went over HTTP."""
    outcome: Mapped[str] = mapped_column(String(16))
    """``delivery.states.AttemptOutcome``: ``succeeded``, ``rejected`` (vendor refused the order), ``retry``,
    ``dead``, ``superseded``, or ``late-...`` (the row was no longer this worker's claim)."""


RESPONSE_EXCERPT_CHARS = 1000
