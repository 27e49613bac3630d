"""Run Alembic migrations programmatically (``assessment-hub migrate`` and every command on start).

``migrate_to`` brings the database to a revision of this version's chain, up or down, saying which
migration it starts as it starts it (``on_step``: a long one, 0007 on PostgreSQL, rewrites a table) and
returning where it started and ended (``Migrated``). ``upgrade`` is ``migrate_to`` the head.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


@dataclass(frozen=True)
class Step:
    """One migration as it starts: ``revision`` (``"0007"``), ``doc`` (the first line of its docstring) and
    ``upgrade`` (False: its downgrade, back to the revision before it)."""

    revision: str
    doc: str
    upgrade: bool

    def line(self) -> str:
        """``applying 0007 (result_revisions ...) ...``, or ``reverting 0007 (...) ...`` for a downgrade."""
        return f"{'applying' if self.upgrade else 'reverting'} {self.revision} ({self.doc}) ..."


@dataclass(frozen=True)
class Migrated:
    """Where the database was (``before``; None: a new, empty database) and is (``after``), and the ``steps``
    run in between, in order (none: it was at the revision asked for already)."""

    before: str | None
    after: str | None
    steps: tuple[Step, ...]

    @property
    def downgraded(self) -> bool:
        return any(not step.upgrade for step in self.steps)


class UnknownRevision(Exception):
    """The database is at a revision this version does not ship (a newer version migrated it), or a revision
    asked for is not one of this version's; the message says which, and what to do."""


def chain(scripts: ScriptDirectory | None = None) -> list[str]:
    """This version's revisions, oldest first (``0001`` ... the head): the chain is linear (CONTRIBUTING.md)."""
    scripts = scripts or ScriptDirectory.from_config(alembic_config())
    return [script.revision for script in reversed(list(scripts.walk_revisions()))]


def head() -> str:
    """This version's newest revision."""
    return chain()[-1]


def migrate_to(
    engine: Engine,
    revision: str = "head",
    *,
    on_step: Callable[[Step], None] | None = None,
    downgrade: bool = True,
) -> Migrated:
    """Bring the database at ``engine`` to ``revision`` (one of ``chain()``, or ``"head"``), upgrading or, with
    ``downgrade``, downgrading (without: a database past ``revision`` is left as it is); safe to call on every
    start (at ``revision`` already: nothing runs). ``on_step`` is called as each migration starts, before its
    work. On PostgreSQL the whole run is one transaction under an advisory
    lock (``migrations/env.py``): processes starting together migrate one after the other, and a failure
    leaves the database where it was. Raises ``UnknownRevision`` (nothing run) for a revision not in
    ``chain()``, asked for or found in the database."""
    config = alembic_config(engine)
    script = ScriptDirectory.from_config(config)
    revisions = chain(script)
    target = revisions[-1] if revision == "head" else revision
    if target not in revisions:
        raise UnknownRevision(
            f"unknown revision {revision!r}: this version's migrations are {revisions[0]} to {revisions[-1]}"
        )
    seen: dict[str, Any] = {}

    def steps(heads: tuple[str, ...], _context: Any) -> Iterator[Any]:
        # called inside the migration transaction, after the advisory lock: ``heads`` is where the database is
        current = heads[0] if heads else None
        seen["before"] = current
        if current is not None and current not in revisions:
            raise UnknownRevision(
                f"the database is at revision {current}, which this version does not know (a newer version "
                f"migrated it; this one's newest is {revisions[-1]}): run the newer version's "
                f"`assessment-hub migrate --to {revisions[-1]}`, then start this one (docs/deployment.md, "
                '"Downgrading")'
            )
        up = current is None or revisions.index(target) > revisions.index(current)
        if not up and not downgrade:
            return
        # what alembic.command.upgrade/downgrade run (their ``fn``), with the heads as they pass them
        move = script._upgrade_revs if up else script._downgrade_revs
        planned = move(target, heads)  # type: ignore[arg-type]
        done: list[Step] = []
        seen["steps"] = done
        for planned_step in planned:  # lazily: each step is announced as the previous one has finished
            step = Step(planned_step.revision.revision, (planned_step.doc or "").strip(), planned_step.is_upgrade)
            if on_step is not None:
                on_step(step)
            done.append(step)
            yield planned_step

    with EnvironmentContext(config, script, fn=steps, destination_rev=target):
        script.run_env()
    before: str | None = seen.get("before")
    done: tuple[Step, ...] = tuple(seen.get("steps", ()))
    return Migrated(before, target if done else before, done)


def upgrade(engine: Engine, revision: str = "head", *, on_step: Callable[[Step], None] | None = None) -> Migrated:
    """Bring the database at ``engine`` up to ``revision`` (this version's head), never down; safe to call on
    every start."""
    return migrate_to(engine, revision, on_step=on_step, downgrade=False)
