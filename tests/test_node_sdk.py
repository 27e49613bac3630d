"""The official TypeScript SDK (@kombo-api/sdk, npm) as a real client of a live hub.

Skipped, with the reason, where Node.js/npm are missing or the package cannot be installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import Tenant

pytestmark = [pytest.mark.subprocess, pytest.mark.live]  # node calls the hub over a socket

NODE_DIR = Path(__file__).parent / "node"


@pytest.fixture(scope="session")
def node_sdk() -> Path:
    if not shutil.which("node") or not shutil.which("npm"):
        pytest.skip("Node.js and npm are not installed")
    if not (NODE_DIR / "node_modules" / "@kombo-api" / "sdk").is_dir():
        done = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--silent"],
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            pytest.skip(f"npm install of @kombo-api/sdk failed: {done.stderr[-500:]}")
    return NODE_DIR


def test_typescript_sdk_flow(node_sdk: Path, tenant: Tenant) -> None:
    orders = [tenant.create_order(seed=i) for i in range(5)]
    env = {
        **os.environ,
        "HUB_API_URL": tenant.hub.api_url,
        "API_KEY": tenant.api_key,
        "INTEGRATION_ID": tenant.integration_id,
        "ORDER_IDS": ",".join(orders),
    }
    done = subprocess.run(["node", "sdk_flow.mjs"], cwd=node_sdk, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["packages"] == [["ts-1", "SKILLS_TEST", True]]
    assert seen["pages"] == [orders[0:2], orders[2:4], orders[4:5]]
    assert seen["filtered"] == orders[0:2]
    assert seen["put_warnings"] == []
    assert len(seen["environment_id"]) == 24 and seen["integration_tool"] == "sandbox"
    assert seen["invalid"] == "PLATFORM.INPUT_INVALID"
    assert seen["bad_key"] == "PLATFORM.AUTHENTICATION_INVALID"
    result = tenant.order(orders[0])["result"]
    assert result["completed_at"] == "2024-01-02T03:04:05.678Z"
    assert result["attributes"][1]["score"] == {"value": 9, "max": 10}
