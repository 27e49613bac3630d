"""The allowed import directions (docs/architecture.md, "Rooms and arrows"), as import-linter contracts in
pyproject.toml: checked here, so a connector that reaches past the intake port fails the suite."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import assessment_hub
from assessment_hub.connectors.registry import CONNECTORS

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = {
    c["id"]: c for c in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
}
BELOW_THE_PORT = {"kit", "errors", "config", "connectors"}
"""What connector code may import besides the port (``assessment.intake``)."""


def test_the_import_contracts_hold() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint_imports), "--no-cache", "--no-logo"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def _rooms() -> set[str]:
    package = Path(assessment_hub.__file__).parent
    return {p.stem for p in package.iterdir() if (p.suffix == ".py" or (p / "__init__.py").exists())} - {"__init__"}


def test_every_room_but_kit_errors_and_config_is_closed_to_connectors() -> None:
    forbidden = {
        m.removeprefix("assessment_hub.") for m in CONTRACTS["connectors-through-the-port"]["forbidden_modules"]
    }
    assert _rooms() - BELOW_THE_PORT == forbidden, "a new room: add it to connectors-through-the-port"


def test_every_registered_connector_is_under_the_contracts() -> None:
    packages = {connector.__module__.rsplit(".", 1)[0] for connector in CONNECTORS.values()}
    assert packages <= set(CONTRACTS["connectors-through-the-port"]["source_modules"])
    assert packages <= set(CONTRACTS["features-know-no-connector"]["forbidden_modules"])
    tools = {name.strip() for name in CONTRACTS["connectors-layers"]["layers"][1].split("|")}
    assert {p.rsplit(".", 1)[1] for p in packages} == tools


def test_every_room_is_either_below_or_in_the_composition_root() -> None:
    contract = CONTRACTS["composition-on-top"]
    below = {m.removeprefix("assessment_hub.") for m in contract["source_modules"]}
    top = {m.removeprefix("assessment_hub.") for m in contract["forbidden_modules"]}
    assert not below & top
    assert _rooms() == below | top, "a new room: say in composition-on-top whether it is a feature or the root"


def test_every_room_but_kit_errors_and_config_is_closed_to_the_simulators() -> None:
    forbidden = {m.removeprefix("assessment_hub.") for m in CONTRACTS["simulators-speak-http"]["forbidden_modules"]}
    assert _rooms() - {"kit", "errors", "config", "simulators"} == forbidden, (
        "a new room: add it to simulators-speak-http"
    )
