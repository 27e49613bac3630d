"""The one rule every connector's settings pass (``connectors.base.check_given_settings``): values are
strings, and a secret-bearing setting is never empty or blank (tests/data/cases/empty-secret.json), through
the CLI, the admin API and every other caller of ``connecting.create_integration``."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from assessment_hub.config import Settings
from assessment_hub.connecting import create_integration
from assessment_hub.connectors.base import SettingsError, is_secret_setting
from assessment_hub.connectors.registry import CONNECTORS, connector_class
from assessment_hub.db.engine import build_engine
from assessment_hub.db.session import unit_of_work
from assessment_hub.integrations.models import IntegrationRow
from assessment_hub.integrations.tool_settings import TOOL_SETTINGS
from tests.support import ADMIN_KEY, Hub
from tests.test_errors import check

CASES = json.loads((Path(__file__).parent / "data" / "cases" / "empty-secret.json").read_text())["cases"]
SECRETS = sorted(
    (tool, key)
    for tool, known in TOOL_SETTINGS.items()
    for key, *_ in known
    if is_secret_setting(connector_class(tool), key)
)
"""Every secret-bearing setting of every connector."""


def test_every_connector_has_its_secrets_known() -> None:
    assert set(TOOL_SETTINGS) == set(CONNECTORS)
    assert ("teamtailor", "webhook_secret") in SECRETS and ("recruitee", "partner_secret") in SECRETS
    assert ("smartrecruiters", "api_client_secret") in SECRETS and ("greenhouse", "api_key") in SECRETS
    assert not is_secret_setting(connector_class("teamtailor"), "api_base_url")


@pytest.mark.subprocess
@pytest.mark.parametrize("case", [c for c in CASES if c["via"] == "cli"], ids=lambda c: repr(c["command"][-20:]))
def test_cli_refuses_an_empty_secret(case: dict, tmp_path: Path) -> None:
    db = tmp_path / "hub.db"
    env = {
        **os.environ,
        "ASSESSMENT_HUB_DATABASE_URL": f"sqlite:///{db}",
        "ASSESSMENT_HUB_ATTACHMENTS_DIR": str(tmp_path),
    }
    args = shlex.split(case["command"])
    assert args[0] == "assessment-hub"
    result = subprocess.run(
        [sys.executable, "-m", "assessment_hub.cli", *args[1:]],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert case["expect"]["stderr_mentions"] in result.stderr and "Traceback" not in result.stderr
    engine = build_engine(Settings(database_url=f"sqlite:///{db}"))
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(IntegrationRow)).scalar() == 0
    engine.dispose()


@pytest.mark.parametrize("tool,key", SECRETS)
@pytest.mark.parametrize("value", ["", "   ", "\t"])
def test_admin_api_refuses_an_empty_secret(hub: Hub, tool: str, key: str, value: str) -> None:
    required = {k: "given-value-1234567890" for k, needed, _ in TOOL_SETTINGS[tool] if needed and k != key}
    with hub.http("/admin", headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as client:
        response = client.post(
            "/integrations", json={"tool": tool, "organization_name": "Blank", "settings": {**required, key: value}}
        )
    check(response, 400, mentions=key)
    assert "empty or blank" in response.json()["error"]["message"]


@pytest.mark.parametrize("tool", sorted(CONNECTORS))
@pytest.mark.parametrize("value", [123, ["a"], None, {"k": "v"}, True])
def test_non_string_settings_are_refused_for_every_tool(hub: Hub, tool: str, value: object) -> None:
    """The admin API's model refuses them first; the rule below it holds for every other caller too (the
    console, Connect): Teamtailor used to drop such values silently, the others to answer 500."""
    with unit_of_work_for(hub) as session, pytest.raises(SettingsError, match="api_key: must be a string"):
        create_integration(session, tool, "Types", settings={"api_key": value}, cipher=hub.settings.cipher)


def unit_of_work_for(hub: Hub):

    return unit_of_work(hub.sessions)
