"""Retention: the candidate data of orders not changed for ``RETENTION_DAYS`` days is erased, and remembered
inbound event ids (``inbound_events``) are deleted once they expire.

Run by every delivery worker (``delivery.heartbeat.Chore``s from ``retention_chores``, which the composition
root hands to the worker) at its first heartbeat and then about once an hour; idempotent (erased orders are
skipped), so several workers may run them. Orders are erased in batches of ``BATCH`` (oldest first), each
batch in its own transaction with its own audit row (reason ``retention``). The orders stay, as with an
erasure on request (``privacy.erasure``). Expired event ids are also deleted by the next event of their own
integration (``intake.remember_event``); the chore deletes those of integrations that went quiet or were
deleted, so the table holds no more than the unexpired ids.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.orm import Session, sessionmaker

from assessment_hub.assessment.models import OrderRow
from assessment_hub.config import Settings
from assessment_hub.db.session import unit_of_work
from assessment_hub.delivery.heartbeat import Chore
from assessment_hub.integrations.models import InboundEventRow
from assessment_hub.kit.timestamps import utcnow
from assessment_hub.privacy.erasure import erase_orders

BATCH = 200
SWEEP_INTERVAL_S = 3600.0


def retention_chores(settings: Settings, sessions: sessionmaker[Session]) -> list[Chore]:
    """The worker chores: the prune of expired inbound event ids, and the sweep that applies
    ``RETENTION_DAYS`` (when it is set)."""
    chores = [Chore("inbound-events-prune", SWEEP_INTERVAL_S, lambda: prune_inbound_events(sessions))]
    if settings.retention_days is not None:
        chores.append(Chore("retention-sweep", SWEEP_INTERVAL_S, lambda: apply_retention(sessions, settings)))
    return chores


def prune_inbound_events(sessions: sessionmaker[Session]) -> int:
    """Delete every integration's expired ``inbound_events`` rows; returns how many."""
    with unit_of_work(sessions) as session:
        result = session.execute(delete(InboundEventRow).where(InboundEventRow.expires_at < utcnow()))
    return cast(CursorResult[Any], result).rowcount


def apply_retention(sessions: sessionmaker[Session], settings: Settings, *, max_batches: int = 1000) -> int:
    """Erase the candidate data of orders last changed more than ``settings.retention_days`` days ago;
    returns how many orders were erased (0 when ``retention_days`` is unset)."""
    if settings.retention_days is None:
        return 0
    cutoff = utcnow() - timedelta(days=settings.retention_days)
    actor = f"retention RETENTION_DAYS={settings.retention_days}"
    total = 0
    for _ in range(max_batches):
        with unit_of_work(sessions) as session:
            ids = list(
                session.scalars(
                    select(OrderRow.id)
                    .where(OrderRow.updated_at < cutoff, OrderRow.erased_at.is_(None))
                    .order_by(OrderRow.updated_at, OrderRow.id)
                    .limit(BATCH)
                )
            )
            if not ids:
                break
            erasure = erase_orders(session, ids, reason="retention", actor=actor)
        delete_attachment_bytes(settings.attachments_dir, erasure.orphaned_sha256)
        total += len(ids)
    return total


def delete_attachment_bytes(root: Path, sha256s: list[str]) -> None:
    """Remove stored attachment contents that no attachment row references any more (after the commit)."""
    from assessment_hub.assessment.attachments import AttachmentStore

    store = AttachmentStore(root)
    for digest in sha256s:
        store.path_for(digest).unlink(missing_ok=True)
