"""inbound_events: ATS event ids seen within their signature window (Teamtailor replay protection)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

- ``inbound_events`` (integration_id, event_id) -> fingerprint, seen_at: a signed Teamtailor event id is
  taken once per body; the same signature replayed with another body within the window is refused.
  Rows older than the window are deleted as new ones arrive.
"""

import sqlalchemy as sa
from alembic import op

from assessment_hub.db.base import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbound_events",
        sa.Column("integration_id", sa.String(length=80), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("seen_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("integration_id", "event_id", name=op.f("pk_inbound_events")),
    )
    with op.batch_alter_table("inbound_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbound_events_seen_at"), ["seen_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("inbound_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbound_events_seen_at"))
    op.drop_table("inbound_events")
