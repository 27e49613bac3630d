"""Alembic environment: the engine is handed in by ``assessment_hub.db.migrate``.

On PostgreSQL the migration transaction first takes an advisory lock, so processes started together on
a fresh database (``serve --no-worker`` beside N ``worker``s, each migrating on start) run the
migrations one after the other: the first applies them, the others then find the database at head.
(On SQLite the write transaction begins IMMEDIATE, which serializes them already.)
"""

from alembic import context
from sqlalchemy import text

from assessment_hub.db.models import Base

MIGRATION_LOCK_KEY = 0x61687562  # "ahub"
engine = context.config.attributes["engine"]
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        context.run_migrations()
    connection.commit()
