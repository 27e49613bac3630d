"""connect links

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import assessment_hub.db.base

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "connect_links",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("api_key_id", sa.String(length=24), nullable=False),
        sa.Column("link_type", sa.String(length=16), nullable=False),
        sa.Column("end_user_email", sa.String(length=255), nullable=False),
        sa.Column("end_user_organization_name", sa.String(length=255), nullable=False),
        sa.Column("end_user_origin_id", sa.String(length=255), nullable=True),
        sa.Column("integration_tool", sa.String(length=40), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column(
            "options", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("created_at", assessment_hub.db.base.UTCDateTime(), nullable=False),
        sa.Column("expires_at", assessment_hub.db.base.UTCDateTime(), nullable=False),
        sa.Column("used_at", assessment_hub.db.base.UTCDateTime(), nullable=True),
        sa.Column("integration_id", sa.String(length=80), nullable=True),
        sa.Column("activation_hash", sa.String(length=64), nullable=True),
        sa.Column("activation_encrypted", sa.Text(), nullable=True),
        sa.Column("activation_expires_at", assessment_hub.db.base.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connect_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_connect_links_token_hash")),
        sa.UniqueConstraint("activation_hash", name=op.f("uq_connect_links_activation_hash")),
    )
    with op.batch_alter_table("connect_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_connect_links_api_key_id"), ["api_key_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_connect_links_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("connect_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_connect_links_created_at"))
        batch_op.drop_index(batch_op.f("ix_connect_links_api_key_id"))
    op.drop_table("connect_links")
