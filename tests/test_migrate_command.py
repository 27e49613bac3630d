"""``assessment-hub migrate`` says what it does, on a real database of each backend: one line as each
migration starts (its revision and the first line of its docstring), then where the database went
(``migrated from 0006 to 0007``) or ``already at 0007, nothing to do``; ``--to REVISION`` downgrades, as
docs/deployment.md's "Downgrading" recipe runs it; a database a newer version migrated is one line and exit
2, never a traceback. ``serve`` and ``worker`` log the migrations they run on start.

Found by a trial: ``migrate`` printed "is up to date" after applying migrations and with nothing to do alike,
and nothing while 0007 rewrote ``result_revisions`` on PostgreSQL (~14 s per million rows)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from assessment_hub.db.migrate import Step, chain, head, migrate_to, upgrade
from tests.support import free_port, key_env

pytestmark = pytest.mark.subprocess

CLI = [sys.executable, "-m", "assessment_hub.cli"]
DOC_0007 = (
    "result_revisions.attributes and remote_fields kept as sent: json, not jsonb (rewrites the table on PostgreSQL)"
)


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(CLI + args, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def ok(args: list[str], env: dict[str, str], cwd: Path) -> list[str]:
    """stdout lines of a command that succeeded."""
    done = run(args, env, cwd)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout.splitlines()


@pytest.fixture
def env(own_database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "ASSESSMENT_HUB_DATABASE_URL": own_database_url,
        "ASSESSMENT_HUB_ATTACHMENTS_DIR": str(tmp_path / "att"),
        **key_env(own_database_url),
    }


def version(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def remote_fields_type(engine: Engine) -> str:
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            query = "SELECT data_type FROM information_schema.columns WHERE table_name = 'result_revisions' AND column_name = 'remote_fields'"
        else:
            query = "SELECT type FROM pragma_table_info('result_revisions') WHERE name = 'remote_fields'"
        return str(connection.execute(sa.text(query)).scalar()).lower()


def summary(line: str, text: str) -> None:
    assert re.fullmatch(r"database at \S+ " + re.escape(text) + r"( \(\d+ migrations?, \d+\.\d s\))?", line), line


def test_migrate_says_what_it_applies_and_where_the_database_went(
    env: dict[str, str], engine: Engine, tmp_path: Path
) -> None:
    revisions = chain()
    assert revisions[0] == "0001" and revisions[-1] == head() and len(revisions) == len(set(revisions))
    first = ok(["migrate"], env, tmp_path)
    assert first[0] == "applying 0001 (initial schema) ..."
    assert [line.split(" ")[1] for line in first[:-1]] == revisions
    assert all(line.startswith("applying ") and line.endswith(") ...") for line in first[:-1])
    summary(first[-1], f"migrated from an empty database to {head()}")
    assert f"({len(revisions)} migrations, " in first[-1]

    again = ok(["migrate"], env, tmp_path)
    assert len(again) == 1
    summary(again[0], f"already at {head()}, nothing to do")
    assert version(engine) == head()


def test_downgrade_with_migrate_to_and_upgrade_again(env: dict[str, str], engine: Engine, tmp_path: Path) -> None:
    """docs/deployment.md, "Downgrading": with the new version still installed, ``migrate --to 0006``; then
    (here: this version again, as a new version's start would) ``migrate`` brings it back."""
    postgres = engine.dialect.name == "postgresql"
    ok(["migrate"], env, tmp_path)
    assert remote_fields_type(engine) == "json"

    down = ok(["migrate", "--to", "0006"], env, tmp_path)
    assert down[0] == f"reverting 0007 ({DOC_0007}) ..."
    summary(down[1], "migrated down from 0007 to 0006")
    assert "start the version whose newest migration is 0006" in down[2] and len(down) == 3
    assert version(engine) == "0006"
    assert remote_fields_type(engine) == ("jsonb" if postgres else "json")

    assert ok(["migrate", "--to", "0006"], env, tmp_path)[0].endswith("already at 0006, nothing to do")
    up = ok(["migrate"], env, tmp_path)
    assert up[0] == f"applying 0007 ({DOC_0007}) ..."
    summary(up[1], "migrated from 0006 to 0007")
    assert version(engine) == "0007" and remote_fields_type(engine) == "json"

    two_down = ok(["migrate", "--to", "0005"], env, tmp_path)
    assert [line.split(" (")[0] for line in two_down[:2]] == ["reverting 0007", "reverting 0006"]
    assert version(engine) == "0005"
    # any other command of this version migrates it up again (stderr: their stdout is their own)
    listed = run(["api-keys", "list", "--json"], env, tmp_path)
    assert listed.returncode == 0 and json.loads(listed.stdout) == [], listed.stdout
    notes = listed.stderr.splitlines()
    assert (
        notes[0].startswith("assessment-hub: applying 0006 (")
        and notes[1] == f"assessment-hub: applying 0007 ({DOC_0007}) ..."
    )
    assert "migrated from 0005 to 0007" in notes[2]
    assert version(engine) == "0007"
    quiet = run(["api-keys", "list", "--json"], env, tmp_path)
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_unknown_revisions_are_one_line_exit_2(env: dict[str, str], engine: Engine, tmp_path: Path) -> None:
    done = run(["migrate", "--to", "0042"], env, tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == f"error: unknown revision '0042': this version's migrations are 0001 to {head()}"

    ok(["migrate"], env, tmp_path)
    with engine.begin() as connection:  # as a newer version would leave it
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '0099'"))
    for command in (["migrate"], ["api-keys", "list"], ["worker"]):
        ahead = run(command, env, tmp_path)
        assert ahead.returncode == 2 and "Traceback" not in ahead.stderr, ahead.stderr
        (line,) = ahead.stderr.strip().splitlines()
        assert line.startswith("error: the database is at revision 0099, which this version does not know"), line
        assert f"`assessment-hub migrate --to {head()}`" in line
    assert version(engine) == "0099"


def test_each_step_is_announced_before_it_runs(engine: Engine) -> None:
    """``on_step`` comes before the migration's work: stopping there leaves the database where it was."""
    assert upgrade(engine, "0006").after == "0006"
    seen: list[Step] = []

    def stop_at_0007(step: Step) -> None:
        seen.append(step)
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        migrate_to(engine, on_step=stop_at_0007)
    assert [(s.revision, s.doc, s.upgrade) for s in seen] == [("0007", DOC_0007, True)]
    assert version(engine) == "0006"
    assert upgrade(engine, "0005").steps == ()  # upgrade never goes down
    migrated = migrate_to(engine)
    assert (migrated.before, migrated.after, [s.revision for s in migrated.steps]) == ("0006", "0007", ["0007"])


@pytest.mark.parametrize("command", [["worker"], ["serve", "--no-worker"]])
def test_serve_and_worker_log_the_migrations_they_run(
    env: dict[str, str], engine: Engine, tmp_path: Path, command: list[str]
) -> None:
    upgrade(engine, "0006")
    env = {**env, "ASSESSMENT_HUB_LOG_FORMAT": "json"}
    if command[0] == "serve":
        command = [*command, "--port", str(free_port())]
    process = subprocess.Popen(
        CLI + command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:  # the secret key file and first-start banner may come first
            if "delivery worker" in line or "serving" in line:
                break
        else:
            raise AssertionError("the command ended before it started")
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    records = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    migration = [r for r in records if r.get("logger") == "assessment_hub.migrate"]
    assert [r["event"] for r in migration][0] == f"applying 0007 ({DOC_0007}) ...", stderr
    assert "migrated from 0006 to 0007" in migration[1]["event"] and migration[1]["level"] == "info"
    assert version(engine) == "0007"
