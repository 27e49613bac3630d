"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import assessment_hub.db.base

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("key_prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", assessment_hub.db.base.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", assessment_hub.db.base.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_table(
        "hub_meta",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_hub_meta")),
    )
    op.create_table(
        "integrations",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("tool", sa.String(length=40), nullable=False),
        sa.Column("organization_name", sa.String(length=255), nullable=False),
        sa.Column("creator_email", sa.String(length=255), nullable=True),
        sa.Column("origin_id", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("settings_encrypted", sa.Text(), nullable=True),
        sa.Column("created_at", assessment_hub.db.base.UTCDateTime(), nullable=False),
        sa.Column("deleted_at", assessment_hub.db.base.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integrations")),
    )
    with op.batch_alter_table("integrations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_integrations_tool"), ["tool"], unique=False)

    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("integration_id", sa.String(length=80), nullable=False),
        sa.Column("order_id", sa.String(length=24), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", assessment_hub.db.base.UTCDateTime(), nullable=False),
        sa.Column("delivered_at", assessment_hub.db.base.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
    )
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notices_integration_id"), ["integration_id"], unique=False)

    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("integration_id", sa.String(length=80), nullable=True),
        sa.Column("order_id", sa.String(length=24), nullable=True),
        sa.Column("revision_id", sa.String(length=24), nullable=True),
        sa.Column("endpoint_id", sa.String(length=24), nullable=True),
        sa.Column("event_id", sa.String(length=24), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("next_attempt_at", assessment_hub.db.base.UTCDateTime(), nullable=False),
        sa.Column("lease_until", assessment_hub.db.base.UTCDateTime(), nullable=True),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", assessment_hub.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", assessment_hub.db.base.UTCDateTime(), nullable=False),
        sa.Column("finished_at", assessment_hub.db.base.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_due", ["state", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_integration_id"), ["integration_id"], unique=False)
        batch_op.create_index("ix_outbox_order", ["order_id", "kind", "id"], unique=False)

    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column(
            "events", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", assessment_hub.db.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
    )
    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("outbox_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("worker_id", sa.String(length=64), nullable=False),
        sa.Column("started_at", assessment_hub.db.base.UTCDateTime(), nullable=False),
        sa.Column("finished_at", assessment_hub.db.base.UTCDateTime(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("response_excerpt", sa.Text(), nullable=True),
        sa.Column("error_class", sa.String(length=32), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["outbox_id"], ["outbox.id"], name=op.f("fk_delivery_attempts_outbox_id_outbox"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_attempts")),
    )
    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_delivery_attempts_outbox_id"), ["outbox_id"], unique=False)

    op.create_table(
        "orders",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("integration_id", sa.String(length=80), nullable=False),
        sa.Column("package_id", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "candidate", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column(
            "application", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("job", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False),
        sa.Column(
            "remote_data", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=True
        ),
        sa.Column("inline", sa.Boolean(), nullable=False),
        sa.Column("rejection_message", sa.Text(), nullable=True),
        sa.Column("assessment_url", sa.Text(), nullable=True),
        sa.Column("latest_result_id", sa.String(length=24), nullable=True),
        sa.Column("created_at", assessment_hub.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", assessment_hub.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_orders_integration_id_integrations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_integration_created", ["integration_id", "created_at", "id"], unique=False)
        batch_op.create_index(
            "ix_orders_integration_status_created", ["integration_id", "status", "created_at", "id"], unique=False
        )

    op.create_table(
        "packages",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("integration_id", sa.String(length=80), nullable=False),
        sa.Column("package_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=True),
        sa.Column("updated_at", assessment_hub.db.base.UTCDateTime(), nullable=False),
        sa.Column("deleted_at", assessment_hub.db.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_packages_integration_id_integrations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_packages")),
        sa.UniqueConstraint("integration_id", "package_id", name=op.f("uq_packages_integration_id_package_id")),
    )
    op.create_table(
        "sandbox_state",
        sa.Column("integration_id", sa.String(length=80), nullable=False),
        sa.Column("outage_mode", sa.String(length=16), nullable=False),
        sa.Column("fail_ratio", sa.Float(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_sandbox_state_integration_id_integrations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("integration_id", name=op.f("pk_sandbox_state")),
    )
    op.create_table(
        "result_revisions",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("order_id", sa.String(length=24), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("max_score", sa.Float(), nullable=True),
        sa.Column("result_url", sa.Text(), nullable=False),
        sa.Column("completed_at", assessment_hub.db.base.UTCDateTime(), nullable=True),
        sa.Column(
            "attributes", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column(
            "remote_fields",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "warnings", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("created_at", assessment_hub.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_result_revisions_order_id_orders"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_result_revisions")),
        sa.UniqueConstraint("order_id", "revision", name=op.f("uq_result_revisions_order_id_revision")),
    )
    op.create_table(
        "sandbox_writebacks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.String(length=24), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("max_score", sa.Float(), nullable=True),
        sa.Column("result_url", sa.Text(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column(
            "payload", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column("received_at", assessment_hub.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_sandbox_writebacks_order_id_orders"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_writebacks")),
        sa.UniqueConstraint("order_id", "kind", "revision", name=op.f("uq_sandbox_writebacks_order_id_kind_revision")),
    )
    with op.batch_alter_table("sandbox_writebacks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sandbox_writebacks_order_id"), ["order_id"], unique=False)

    op.create_table(
        "attachments",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("revision_id", sa.String(length=24), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("source_url", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["revision_id"],
            ["result_revisions.id"],
            name=op.f("fk_attachments_revision_id_result_revisions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
        sa.UniqueConstraint("revision_id", "position", name=op.f("uq_attachments_revision_id_position")),
    )
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attachments_sha256"), ["sha256"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attachments_sha256"))

    op.drop_table("attachments")
    with op.batch_alter_table("sandbox_writebacks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sandbox_writebacks_order_id"))

    op.drop_table("sandbox_writebacks")
    op.drop_table("result_revisions")
    op.drop_table("sandbox_state")
    op.drop_table("packages")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_integration_status_created")
        batch_op.drop_index("ix_orders_integration_created")

    op.drop_table("orders")
    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_attempts_outbox_id"))

    op.drop_table("delivery_attempts")
    op.drop_table("webhook_endpoints")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_order")
        batch_op.drop_index(batch_op.f("ix_outbox_integration_id"))
        batch_op.drop_index("ix_outbox_due")

    op.drop_table("outbox")
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notices_integration_id"))

    op.drop_table("notices")
    with op.batch_alter_table("integrations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_integrations_tool"))

    op.drop_table("integrations")
    op.drop_table("hub_meta")
    op.drop_table("api_keys")
