"""What an ATS's answers to write-backs say about the hub's credentials for an integration.

An ATS that refuses the integration's credentials (HTTP 401/403: a ``ConfigError`` with that status) makes an
ACTIVE integration ``INVALID``; a write-back it then accepts makes it ``ACTIVE`` again. Each change queues
``integration-state-changed`` (kombo-contract.md §7.5) in the recording transaction. ``INVALID`` is Kombo's
"the credentials stopped working": the vendor API keeps accepting results for it (they are delivered once the
customer fixes the credentials and the operator retries), unlike ``INACTIVE`` (the operator switched it off).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import cast

from sqlalchemy import Table, bindparam, update
from sqlalchemy.orm import Session

from assessment_hub.integrations.models import IntegrationRow
from assessment_hub.webhooks.events import INTEGRATION_STATE_CHANGED, integration_state_data
from assessment_hub.webhooks.service import enqueue_event

CREDENTIALS_REFUSED = (401, 403)
"""HTTP statuses of an ATS refusing the hub's credentials (``connectors.base.check_http_response``)."""

_integrations = cast(Table, IntegrationRow.__table__)
_MOVE = (
    update(_integrations)
    .where(
        _integrations.c.id.in_(bindparam("b_ids", expanding=True)),
        _integrations.c.status == bindparam("b_from"),
        _integrations.c.deleted_at.is_(None),
    )
    .values(status=bindparam("b_to"))
    .returning(_integrations.c.id)
)


def note_credentials(session: Session, *, refused: Collection[str], accepted: Collection[str]) -> list[str]:
    """ACTIVE -> INVALID for the integrations in ``refused``, INVALID -> ACTIVE for those in ``accepted`` (and not
    refused in the same batch); returns the ids that changed. One UPDATE per direction, none when empty: this runs
    for every batch of recorded write-backs."""
    changed: list[str] = []
    moves = ((set(refused), "ACTIVE", "INVALID"), (set(accepted) - set(refused), "INVALID", "ACTIVE"))
    for ids, before, after in moves:
        if not ids:
            continue
        moved = session.connection().execute(_MOVE, {"b_ids": sorted(ids), "b_from": before, "b_to": after})
        for integration_id in moved.scalars().all():
            row = session.get(IntegrationRow, integration_id, populate_existing=True)
            if row is not None:
                enqueue_event(session, INTEGRATION_STATE_CHANGED, integration_state_data(row), integration_id=row.id)
                changed.append(integration_id)
    return changed
