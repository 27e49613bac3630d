"""Preparing: loading what a claim's rows need to be sent, set-based, as typed targets.

One read transaction per claim (DEFERRED on SQLite: it does not queue for the write lock) and one query
per table: which write-backs have a newer one (those are ``superseded``, never sent: an operator retrying
an old dead one cannot put stale data over newer data in the ATS), webhook endpoints, integrations,
orders, and revisions with their attachments. Everything is read at send time, so a retry sends what is
current; a webhook sends its stored body, the same bytes with the same event id every time.

Decrypted connector settings and endpoint secrets are kept by their ciphertext, which is read with every
claim: a changed setting is used at once, only the decryption is saved.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import httpx
from sqlalchemy import Connection, Table, bindparam, exists, select
from sqlalchemy.orm import Session, sessionmaker

from assessment_hub.assessment.models import AttachmentRow, OrderRow, ResultRevisionRow
from assessment_hub.assessment.records import AttachmentRecord, RevisionRecord
from assessment_hub.config import Settings
from assessment_hub.connectors.base import ConnectorContext
from assessment_hub.connectors.snapshots import order_snapshot, result_snapshot
from assessment_hub.delivery.jobs import ClaimedRow, Job, WebhookTarget, WritebackTarget
from assessment_hub.delivery.models import OutboxRow
from assessment_hub.integrations.models import IntegrationRow
from assessment_hub.webhooks.models import WebhookEndpointRow

DECRYPTED_KEPT = 4096
"""Decrypted values kept at most; the cache is emptied when full."""


class Preparer:
    """Turns claimed rows into ``Job``s. ``public_base_url`` is the base of attachment links."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        read_sessions: sessionmaker[Session],
        http: httpx.Client,
        public_base_url: str,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.read_sessions = read_sessions
        self.http = http
        self.public_base_url = public_base_url
        self._decrypted: dict[str, Any] = {}

    def prepare(self, rows: Sequence[ClaimedRow]) -> list[Job]:
        """One ``Job`` per row, in order: ``target`` set, or None when the destination no longer exists;
        ``superseded`` set for a write-back with a newer one."""
        if not rows:
            return []
        jobs = [Job(row.id, row.kind, row.action, row.body, row.lease_until) for row in rows]
        writebacks = [(job, row) for job, row in zip(jobs, rows, strict=True) if row.kind == "writeback"]
        hooks = [(job, row) for job, row in zip(jobs, rows, strict=True) if row.kind == "webhook"]
        with self.read_sessions() as session:
            conn = session.connection()
            if hooks:
                self._webhook_targets(conn, hooks)
            if writebacks:
                newer = set(conn.scalars(_HAS_NEWER, {"ids": [job.outbox_id for job, _ in writebacks]}))
                live = []
                for job, row in writebacks:
                    job.superseded = job.outbox_id in newer
                    if not job.superseded:
                        live.append((job, row))
                if live:
                    self._writeback_targets(session, live)
        return jobs

    def _webhook_targets(self, conn: Connection, hooks: list[tuple[Job, ClaimedRow]]) -> None:
        endpoints = {e.id: e for e in conn.execute(_ENDPOINTS, {"ids": list({row.endpoint_id for _, row in hooks})})}
        for job, row in hooks:
            endpoint = endpoints.get(row.endpoint_id)
            if endpoint is not None:
                job.target = WebhookTarget(endpoint.url, self._decrypt(endpoint.secret_encrypted))

    def _writeback_targets(self, session: Session, live: list[tuple[Job, ClaimedRow]]) -> None:
        conn = session.connection()
        integrations = {
            i.id: i for i in conn.execute(_INTEGRATIONS, {"ids": list({row.integration_id for _, row in live})})
        }
        orders = {o.id: o for o in conn.execute(_ORDERS, {"ids": list({row.order_id for _, row in live})})}
        revision_ids = list({row.revision_id for _, row in live if row.action == "result" and row.revision_id})
        revisions = _revisions_with_attachments(conn, revision_ids) if revision_ids else {}
        for job, row in live:
            integration, order = integrations.get(row.integration_id), orders.get(row.order_id)
            if integration is None or integration.deleted_at is not None or order is None:
                continue
            result = None
            if row.action == "result":
                revision = revisions.get(row.revision_id or "")
                if revision is None:
                    continue
                result = result_snapshot(revision, self.settings, self.public_base_url)
            settings = dict(self._decrypt(integration.settings_encrypted)) if integration.settings_encrypted else {}
            context = ConnectorContext(
                integration_id=integration.id,
                settings=settings,
                hub_settings=self.settings,
                http=self.http,
                sessions=self.sessions,
                read_sessions=self.read_sessions,
            )
            job.target = WritebackTarget(integration.tool, context, order_snapshot(order), result)

    def _decrypt(self, ciphertext: str) -> Any:
        value = self._decrypted.get(ciphertext)
        if value is None:
            if len(self._decrypted) >= DECRYPTED_KEPT:
                self._decrypted.clear()
            value = self._decrypted[ciphertext] = self.settings.cipher.decrypt_json(ciphertext)
        return value


def _revisions_with_attachments(conn: Connection, ids: list[str]) -> dict[str, RevisionRecord]:
    """The revisions ``ids`` as plain records with their attachments in order: two Core queries (the ORM's
    ``selectinload`` of the same cost ~15 % of a PostgreSQL worker's CPU in instance loading)."""
    attachments: dict[str, list[AttachmentRecord]] = {}
    for row in conn.execute(_ATTACHMENTS, {"ids": ids}):
        attachments.setdefault(row.revision_id, []).append(AttachmentRecord(**row._mapping))
    return {
        row.id: RevisionRecord(**row._mapping, attachments=attachments.get(row.id, []))
        for row in conn.execute(_REVISIONS, {"ids": ids})
    }


_revisions = cast(Table, ResultRevisionRow.__table__)
_REVISIONS = select(_revisions).where(_revisions.c.id.in_(bindparam("ids", expanding=True)))
_attachment_rows = cast(Table, AttachmentRow.__table__)
_ATTACHMENTS = (
    select(_attachment_rows)
    .where(_attachment_rows.c.revision_id.in_(bindparam("ids", expanding=True)))
    .order_by(_attachment_rows.c.revision_id, _attachment_rows.c.position)
)
_outbox = cast(Table, OutboxRow.__table__)
_newer = _outbox.alias("newer")
_HAS_NEWER = select(_outbox.c.id).where(
    _outbox.c.id.in_(bindparam("ids", expanding=True)),
    exists().where(
        _newer.c.order_id == _outbox.c.order_id,
        _newer.c.kind == "writeback",
        _newer.c.action == _outbox.c.action,
        _newer.c.id > _outbox.c.id,
    ),
)
_endpoints = cast(Table, WebhookEndpointRow.__table__)
_ENDPOINTS = select(_endpoints.c.id, _endpoints.c.url, _endpoints.c.secret_encrypted).where(
    _endpoints.c.id.in_(bindparam("ids", expanding=True))
)
_integrations = cast(Table, IntegrationRow.__table__)
_INTEGRATIONS = select(
    _integrations.c.id, _integrations.c.tool, _integrations.c.deleted_at, _integrations.c.settings_encrypted
).where(_integrations.c.id.in_(bindparam("ids", expanding=True)))
_orders = cast(Table, OrderRow.__table__)
_ORDERS = select(
    _orders.c.id,
    _orders.c.integration_id,
    _orders.c.package_id,
    _orders.c.status,
    _orders.c.candidate,
    _orders.c.application,
    _orders.c.job,
    _orders.c.remote_data,
    _orders.c.rejection_message,
).where(_orders.c.id.in_(bindparam("ids", expanding=True)))
