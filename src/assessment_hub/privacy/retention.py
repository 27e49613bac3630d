"""Retention: the candidate data of orders not changed for ``RETENTION_DAYS`` days is erased.

Run by every delivery worker (a ``delivery.heartbeat.Chore`` from ``retention_chores``, which the
composition root hands to the worker) at its first heartbeat and then about once an hour; idempotent (erased orders are
skipped), so several workers may run it. Orders are erased in batches of ``BATCH`` (oldest first), each
batch in its own transaction with its own audit row (reason ``retention``). The orders stay, as with an
erasure on request (``privacy.erasure``).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from assessment_hub.assessment.models import OrderRow
from assessment_hub.config import Settings
from assessment_hub.db.session import unit_of_work
from assessment_hub.delivery.heartbeat import Chore
from assessment_hub.kit.timestamps import utcnow
from assessment_hub.privacy.erasure import erase_orders

BATCH = 200
SWEEP_INTERVAL_S = 3600.0


def retention_chores(settings: Settings, sessions: sessionmaker[Session]) -> list[Chore]:
    """The worker chore that applies ``RETENTION_DAYS`` (none when it is unset)."""
    if settings.retention_days is None:
        return []
    return [Chore("retention-sweep", SWEEP_INTERVAL_S, lambda: apply_retention(sessions, settings))]


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
