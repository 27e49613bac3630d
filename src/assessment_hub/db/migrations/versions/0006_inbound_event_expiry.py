"""inbound_events.expires_at: each remembered event id carries its own expiry (Lever replay protection)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03

- ``inbound_events.expires_at``: the end of the window in which the event's signature can be used again.
  Teamtailor's window is 10 minutes from the first delivery, Lever's about 30 days from the delivery's
  ``triggeredAt``; with the expiry on the row, the worker's prune chore deletes every connector's expired
  rows without knowing their windows. The rows already there (Teamtailor's, at most 10 minutes old) get
  ``seen_at`` + 10 minutes.
- The index on ``seen_at`` (no longer queried) goes; ``expires_at`` gets one (the prune chore, every
  integration) and ``(integration_id, expires_at)`` another (an integration's next event deletes its own expired
  ids: with only the primary key, the planner walked all of the integration's rows, 99 ms per delivery on SQLite
  with 100k remembered Lever tokens).
"""

from datetime import timedelta

import sqlalchemy as sa
from alembic import op

from assessment_hub.db.base import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TEAMTAILOR_WINDOW = timedelta(minutes=10)


def upgrade() -> None:
    with op.batch_alter_table("inbound_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", UTCDateTime(), nullable=True))
    events = sa.table(
        "inbound_events",
        sa.column("integration_id", sa.String()),
        sa.column("event_id", sa.String()),
        sa.column("seen_at", UTCDateTime()),
        sa.column("expires_at", UTCDateTime()),
    )
    connection = op.get_bind()
    for integration_id, event_id, seen_at in connection.execute(
        sa.select(events.c.integration_id, events.c.event_id, events.c.seen_at)
    ).all():
        connection.execute(
            events.update()
            .where(events.c.integration_id == integration_id, events.c.event_id == event_id)
            .values(expires_at=seen_at + TEAMTAILOR_WINDOW)
        )
    with op.batch_alter_table("inbound_events", schema=None) as batch_op:
        batch_op.alter_column("expires_at", existing_type=UTCDateTime(), nullable=False)
        batch_op.drop_index(batch_op.f("ix_inbound_events_seen_at"))
        batch_op.create_index(batch_op.f("ix_inbound_events_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index("ix_inbound_events_integration_expiry", ["integration_id", "expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("inbound_events", schema=None) as batch_op:
        batch_op.drop_index("ix_inbound_events_integration_expiry")
        batch_op.drop_index(batch_op.f("ix_inbound_events_expires_at"))
        batch_op.create_index(batch_op.f("ix_inbound_events_seen_at"), ["seen_at"], unique=False)
        batch_op.drop_column("expires_at")
