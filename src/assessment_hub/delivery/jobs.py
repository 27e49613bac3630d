"""What passes between the delivery worker's rooms (``delivery.worker``).

``claiming`` hands ``ClaimedRow``s to ``preparing``, which makes each a ``Job`` with its typed target;
``sending`` turns a ``Job`` into a ``Finished`` attempt, which ``recording`` writes. Plain records
(``slots``), no ORM instances: they are built for every row on the hot path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from assessment_hub.connectors.base import ConnectorContext, OrderSnapshot, ResultSnapshot
from assessment_hub.delivery.senders import Outcome


@dataclass(slots=True)
class ClaimedRow:
    """An outbox row this worker holds (``in_flight``, ``claimed_by`` it) until ``lease_until``."""

    id: int
    kind: str
    """``webhook`` or ``writeback``."""
    action: str
    """Webhook: the event type; write-back: ``result`` or ``rejection``."""
    integration_id: str | None
    order_id: str | None
    revision_id: str | None
    endpoint_id: str | None
    body: str | None
    """Webhook: the exact bytes to send (UTF-8 text)."""
    lease_until: datetime | None


class WebhookTarget(NamedTuple):
    """Where a webhook goes: the vendor endpoint's URL and its (decrypted) signing secret."""

    url: str
    secret: str


class WritebackTarget(NamedTuple):
    """What a write-back needs: the integration's tool (which connector), the connector's context, the
    order and, for a ``result`` write-back, the revision to send (None for a ``rejection``)."""

    tool: str
    context: ConnectorContext
    order: OrderSnapshot
    result: ResultSnapshot | None


@dataclass(slots=True)
class Job:
    """A claimed row with everything its send needs, loaded with the rest of its claim (``preparing``)."""

    outbox_id: int
    kind: str
    action: str
    body: str | None
    lease_until: datetime | None
    superseded: bool = False
    """A newer write-back of the same order and action exists: not sent, recorded ``superseded``."""
    target: WebhookTarget | WritebackTarget | None = None
    """None: the destination no longer exists (endpoint, integration, order or revision deleted)."""


@dataclass(slots=True)
class Finished:
    """An attempt that ended, waiting to be recorded."""

    outbox_id: int
    outcome: Outcome
    started_at: datetime
    finished_at: datetime
