"""``integrations list | show | update | deactivate | delete``: the operator's commands after ``create``
(run in-process with typer's CliRunner on a temporary SQLite database)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assessment_hub.cli import app

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "ASSESSMENT_HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'hub.db'}",
        "ASSESSMENT_HUB_ATTACHMENTS_DIR": str(tmp_path / "attachments"),
        "ASSESSMENT_HUB_PUBLIC_BASE_URL": "https://hub.example.com",
    }


def _create(env: dict[str, str], *args: str) -> dict[str, object]:
    done = runner.invoke(app, ["integrations", "create", *args, "--json"], env=env)
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout.strip().splitlines()[-1])


def _show(env: dict[str, str], integration_id: str) -> dict[str, object]:
    done = runner.invoke(app, ["integrations", "show", integration_id, "--json"], env=env)
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout)


def test_update_changes_a_setting_and_keeps_what_the_hub_minted(env: dict[str, str]) -> None:
    created = _create(env, "--tool", "teamtailor", "--organization", "Acme", "--setting", "api_key=k1")
    iid = str(created["id"])
    done = runner.invoke(app, ["integrations", "update", iid, "--setting", "webhook_secret=whsec-1"], env=env)
    assert done.exit_code == 0, done.output
    shown = _show(env, iid)
    assert shown["setup"] == created["setup"]  # the provider_key the customer pasted is unchanged
    assert shown["integration"]["setting_keys"] == [  # type: ignore[index]
        "api_base_url",
        "api_key",
        "provider_key",
        "webhook_secret",
    ]
    removed = runner.invoke(app, ["integrations", "update", iid, "--setting", "webhook_secret="], env=env)
    assert removed.exit_code == 0, removed.output
    assert "webhook_secret" not in _show(env, iid)["integration"]["setting_keys"]  # type: ignore[index]


def test_update_refuses_bad_settings_without_changing_anything(env: dict[str, str]) -> None:
    iid = str(_create(env, "--tool", "teamtailor", "--organization", "Acme", "--setting", "api_key=k1")["id"])
    for bad, mentions in (("api_base_url=ftp://x", "api_base_url"), ("nope=1", "nope"), ("api_key=", "api_key")):
        done = runner.invoke(app, ["integrations", "update", iid, "--setting", bad], env=env)
        assert done.exit_code == 1 and mentions in done.output and "Traceback" not in done.output, done.output
    assert "nope" not in _show(env, iid)["integration"]["setting_keys"]  # type: ignore[index]
    unknown = runner.invoke(app, ["integrations", "update", "teamtailor:" + "X" * 24, "--setting", "a=b"], env=env)
    assert unknown.exit_code == 1 and "No integration" in unknown.output


def test_list_deactivate_and_delete(env: dict[str, str]) -> None:
    first = str(_create(env, "--tool", "sandbox", "--organization", "One")["id"])
    second = str(_create(env, "--tool", "greenhouse", "--organization", "Two")["id"])
    listed = runner.invoke(app, ["integrations", "list"], env=env)
    assert listed.exit_code == 0
    lines = listed.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines] == [first, second] and "ACTIVE" in lines[0]
    assert "api_key" in lines[1]  # setting names, never their values
    assert runner.invoke(app, ["integrations", "deactivate", first], env=env).exit_code == 0
    assert _show(env, first)["integration"]["status"] == "INACTIVE"  # type: ignore[index]
    assert runner.invoke(app, ["integrations", "delete", second], env=env).exit_code == 0
    remaining = json.loads(runner.invoke(app, ["integrations", "list", "--json"], env=env).stdout)
    assert [v["id"] for v in remaining] == [first]
    everything = json.loads(runner.invoke(app, ["integrations", "list", "--json", "--include-deleted"], env=env).stdout)
    assert [v["id"] for v in everything] == [first, second]
    gone = runner.invoke(app, ["integrations", "show", second], env=env)
    assert gone.exit_code == 1 and "No integration" in gone.output
