"""CLI behaviour a newcomer meets first, run in-process (typer's CliRunner): option ranges, the port from
the environment and the Makefile, help that names each tool's settings, listing columns, unknown ids."""

from __future__ import annotations

import os
import re
import socket
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assessment_hub.cli import app
from assessment_hub.connectors.base import SettingsError
from assessment_hub.connectors.registry import CONNECTORS
from assessment_hub.integrations.tool_settings import TOOL_SETTINGS

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def _plain(text: str) -> str:
    """Help text without rich's box drawing and line wrapping."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "ASSESSMENT_HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'hub.db'}",
        "ASSESSMENT_HUB_ATTACHMENTS_DIR": str(tmp_path / "attachments"),
    }


@pytest.mark.parametrize("value", ["0", "65", "100", "-1"])
def test_worker_concurrency_outside_1_to_64_is_refused_without_a_traceback(value: str, env: dict[str, str]) -> None:
    result = runner.invoke(app, ["worker", "--concurrency", value], env=env)
    assert result.exit_code == 2, result.output
    assert "--concurrency" in result.output and "1<=x<=64" in _plain(result.output).replace(" ", "")
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output


def test_serve_takes_its_port_from_assessment_hub_port(env: dict[str, str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = runner.invoke(app, ["serve"], env={**env, "ASSESSMENT_HUB_PORT": str(port)})
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}: the port is already in use" in result.output


def test_make_run_passes_port_and_host() -> None:
    # Under `make test` this runs inside make: without MAKELEVEL/MAKEFLAGS the dry run prints no
    # "make[1]: Leaving directory" after the command.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    dry = subprocess.run(
        ["make", "-n", "run", "PORT=8030", "HOST=0.0.0.0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.strip().splitlines()[-1].endswith("assessment-hub serve --port 8030 --host 0.0.0.0")


def test_integrations_create_help_names_each_tools_settings() -> None:
    result = runner.invoke(app, ["integrations", "create", "--help"])
    assert result.exit_code == 0
    text = _plain(result.output)
    for tool, known in TOOL_SETTINGS.items():
        required = [key for key, needed, _ in known if needed]
        assert f"{tool}: {', '.join(required) + ' (required)' if required else 'nothing required'}" in text
        assert all(key in text for key, _, _ in known)


def test_tool_settings_say_what_the_connectors_accept() -> None:
    assert set(TOOL_SETTINGS) == set(CONNECTORS)
    for tool, known in TOOL_SETTINGS.items():
        prepare = CONNECTORS[tool].prepare_settings
        required = {key for key, needed, _ in known if needed}
        if required:  # each required key is asked for when missing
            with pytest.raises(SettingsError) as missing:
                prepare({})
            assert any(key in missing.value.message for key in required)
        else:
            prepare({})
        for key, _, _ in known:  # each listed key is one the connector knows (a bad value may still be refused)
            try:
                prepare({**{k: "value-for-test-1234567" for k in required}, key: "value-for-test-1234567"})
            except SettingsError as exc:
                assert "unknown" not in exc.message and "takes no setting" not in exc.message, exc.message


def test_api_keys_list_has_the_readme_columns(env: dict[str, str]) -> None:
    created = runner.invoke(app, ["api-keys", "create", "--name", "ci key"], env=env)
    assert created.exit_code == 0, created.output
    listing = runner.invoke(app, ["api-keys", "list"], env=env)
    assert listing.exit_code == 0, listing.output
    header, row = listing.output.splitlines()
    readme = re.search(r"under the columns ([a-z, ]+) \(never the key\)", (ROOT / "README.md").read_text())
    assert readme is not None
    assert header.split() == readme.group(1).split(", ") == ["id", "name", "prefix", "created", "revoked"]
    key = created.output.splitlines()[-1]
    assert "ci key" in row and f"{key[:10]}..." in row and key not in listing.output and row.endswith("-")


def test_deliveries_list_of_an_unknown_order_says_so(env: dict[str, str]) -> None:
    result = runner.invoke(app, ["deliveries", "list", "--order", "nope"], env=env)
    assert result.exit_code == 1
    assert "unknown order 'nope'" in result.output and "no deliveries" not in result.output


def test_first_start_banner_names_commands_that_run_here(monkeypatch: pytest.MonkeyPatch) -> None:
    from assessment_hub.bootstrap import DevCredentials, banner, how_to_run

    monkeypatch.setenv("PATH", "/nonexistent")  # the venv is not activated
    cli, python = how_to_run()
    assert Path(cli).is_file() or cli.endswith(" -m assessment_hub"), cli
    assert Path(python).is_file(), python
    text = banner(
        DevCredentials("ahk_x", "sandbox:y"), "http://127.0.0.1:8000", cli=cli, python=python, kombo_installed=True
    )
    assert "pip install" not in text and f"{cli} sandbox create-order --integration sandbox:y" in text
    version = subprocess.run([*cli.split(), "--help"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and "sandbox" in version.stdout
    assert "pip install kombo" in banner(
        DevCredentials("k", "i"), "http://h", cli=cli, python=python, kombo_installed=False
    )
