"""result_revisions.attributes and remote_fields kept as sent: json, not jsonb (rewrites the table on PostgreSQL)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

The order listing splices these two columns into its answer as their stored text
(``assessment.views.listed_result``). SQLite stores that text as written; PostgreSQL's ``jsonb`` kept the
values only: keys in its own order (shorter first), a key given twice once, ``-0.0`` as ``0.0``, numbers
without an exponent (``1.5e308`` as 309 digits, which a Python client reads as an ``int``). ``json`` keeps
the text byte for byte, so that ``remote_fields`` lists in the vendor's own spelling and ``attributes`` as
the hub serialized it, the same on both backends.

- PostgreSQL: one ``ALTER TABLE result_revisions ALTER COLUMN ... TYPE json USING ...::json`` for both
  columns. It **rewrites the whole table** (and rebuilds its indexes) under an ``ACCESS EXCLUSIVE`` lock:
  result writes, listings with results and the delivery worker wait until it is done, for a time that
  grows with the table's size, and it needs free disk space for a second copy of the table
  (``pg_total_relation_size('result_revisions')``). See docs/deployment.md, "Upgrades and backups".
- The rows already there keep what ``jsonb`` made of them (the values, in ``jsonb``'s spelling): their
  original text is gone. Rows written from now on keep the text as written.
- SQLite: nothing to do (the columns are JSON text already). The rows already there keep the hub's
  serialization of their values (``json.dumps``: a key given twice once, ``1e3`` as ``1000.0``); rows written
  from now on keep the vendor's text.
- Downgrade (PostgreSQL): back to ``jsonb`` (``USING ...::jsonb``), again rewriting the table; the values
  stay, their spelling is ``jsonb``'s again.

No SQL relies on ``jsonb`` here: no index, operator (``->>``, ``@>``) or comparison touches these columns
(``json`` has no equality operator).
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

COLUMNS = ("attributes", "remote_fields")


def _retype(type_name: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # one statement for both columns: one rewrite of the table, not two
    changes = ", ".join(f"ALTER COLUMN {name} TYPE {type_name} USING {name}::{type_name}" for name in COLUMNS)
    op.execute(f"ALTER TABLE result_revisions {changes}")


def upgrade() -> None:
    _retype("json")


def downgrade() -> None:
    _retype("jsonb")
