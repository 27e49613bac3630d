"""console: order indexes across integrations, the request each write-back attempt sent

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

- ``ix_orders_created`` (created_at, id) and ``ix_orders_status_created`` (status, created_at, id): the
  operator console lists orders of every integration newest first, keyset-paginated, with or without a
  status filter; these keep any page as cheap as the first (bench: console_orders).
- ``delivery_attempts.request_text``: the request an attempt sent (method, URL, headers with secrets
  masked, body), shown on the console's order page.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_created", ["created_at", "id"], unique=False)
        batch_op.create_index("ix_orders_status_created", ["status", "created_at", "id"], unique=False)
    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_text", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.drop_column("request_text")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_status_created")
        batch_op.drop_index("ix_orders_created")
