"""The remembered inbound event ids (``inbound_events``): migration 0006 gives the rows already there (Teamtailor's)
an expiry of ``seen_at`` + 10 minutes and the schema matches the models afterwards; an expired id is forgotten
(``intake.remember_event``), and the worker's prune chore deletes the expired rows of every integration, so the
table holds no more than the ids still in their window."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, select
from sqlalchemy.orm import sessionmaker

from assessment_hub.assessment import intake
from assessment_hub.config import Settings
from assessment_hub.db.base import Base, UTCDateTime
from assessment_hub.db.migrate import alembic_config, upgrade
from assessment_hub.db.session import unit_of_work
from assessment_hub.integrations.models import InboundEventRow
from assessment_hub.kit.timestamps import utcnow
from assessment_hub.privacy.retention import prune_inbound_events, retention_chores


def test_migration_0006_gives_the_rows_there_an_expiry_and_matches_the_models(engine: Engine) -> None:
    from alembic import command

    upgrade(engine, "0005")
    seen = utcnow() - timedelta(minutes=3)
    columns = [sa.column(c) for c in ("integration_id", "event_id", "fingerprint")] + [
        sa.column("seen_at", UTCDateTime())
    ]
    with engine.begin() as connection:
        connection.execute(
            sa.table("inbound_events", *columns).insert(),
            {"integration_id": "teamtailor:X", "event_id": "ev-1", "fingerprint": "f" * 64, "seen_at": seen},
        )
    upgrade(engine)
    with sessionmaker(engine)() as session:
        (row,) = session.scalars(select(InboundEventRow))
    assert row.expires_at == row.seen_at + timedelta(minutes=10)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    command.downgrade(alembic_config(engine), "0005")
    upgrade(engine)


def test_expired_ids_are_forgotten_and_pruned_for_every_integration(engine: Engine, own_database_url: str) -> None:
    upgrade(engine)
    sessions = sessionmaker(engine, expire_on_commit=False)
    with unit_of_work(sessions) as session:
        assert intake.remember_event(session, "lever:B", "kept", "1" * 64, keep_s=3600)
        assert intake.remember_event(session, "lever:B", "gone", "1" * 64, keep_s=-1)  # expired at once
        assert intake.remember_event(session, "lever:A", "gone", "1" * 64, keep_s=-1)
    with unit_of_work(sessions) as session:  # A's next event deletes A's expired ids: "gone" is new again
        assert intake.remember_event(session, "lever:A", "gone", "2" * 64, keep_s=3600)
    assert prune_inbound_events(sessions) == 1  # B went quiet: only the chore deletes its expired "gone"
    with sessions() as session:
        left = {(r.integration_id, r.event_id) for r in session.scalars(select(InboundEventRow))}
    assert left == {("lever:A", "gone"), ("lever:B", "kept")}
    with unit_of_work(sessions) as session:  # the unexpired id is still remembered with its first body
        assert not intake.remember_event(session, "lever:B", "kept", "2" * 64, keep_s=3600)
    without_retention = Settings(database_url=own_database_url, retention_days=None)
    assert [c.name for c in retention_chores(without_retention, sessions)] == ["inbound-events-prune"]
