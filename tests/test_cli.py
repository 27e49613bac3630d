"""The CLI contract: command names, and the new value alone on the last line of stdout."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support import free_port

CLI = [sys.executable, "-m", "assessment_hub.cli"]


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(CLI + args, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def last_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_create_commands_and_serve(database_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "ASSESSMENT_HUB_DATABASE_URL": database_url,
           "ASSESSMENT_HUB_ATTACHMENTS_DIR": str(tmp_path / "att")}
    assert run(["migrate"], env, tmp_path).returncode == 0
    key = last_line(run(["api-keys", "create", "--name", "ci"], env, tmp_path))
    assert re.fullmatch(r"ahk_[A-Za-z0-9]{40}", key)
    integration = last_line(run(["integrations", "create", "--tool", "sandbox", "--organization", "Acme"], env, tmp_path))
    assert re.fullmatch(r"sandbox:[A-Za-z0-9]{24}", integration)

    unknown_tool = run(["integrations", "create", "--tool", "nope", "--organization", "Acme"], env, tmp_path)
    assert unknown_tool.returncode != 0 and "known tools" in unknown_tool.stderr and "Traceback" not in unknown_tool.stderr
    unpublished = run(["sandbox", "create-order", "--integration", integration, "--package", "1001"], env, tmp_path)
    assert unpublished.returncode != 0 and "not published" in unpublished.stderr

    port = free_port()
    server = subprocess.Popen(CLI + ["serve", "--port", str(port)], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}/v1"
        headers = {"Authorization": f"Bearer {key}", "X-Integration-Id": integration}
        for _ in range(200):
            try:
                httpx.get(f"{base}/check-api-key", headers=headers, timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read()
                time.sleep(0.1)
        put = httpx.put(f"{base}/assessment/packages", headers=headers, json={"packages": [
            {"id": "1001", "type": "SKILLS_TEST", "name": "T", "description": "d"}]})
        assert put.status_code == 200
        order_id = last_line(run(["sandbox", "create-order", "--integration", integration, "--package", "1001",
                                  "--email", "ada@example.com"], env, tmp_path))
        listed = httpx.get(f"{base}/assessment/orders", headers=headers).json()["data"]["results"]
        assert [(o["id"], o["candidate"]["email"]) for o in listed] == [(order_id, "ada@example.com")]
        assert listed[0]["job"]["hiring_team"] and listed[0]["job"]["job_code"]
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_first_start_prints_credentials_and_a_working_snippet(tmp_path: Path) -> None:
    env = {**os.environ, "ASSESSMENT_HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}"}
    port = free_port()
    server = subprocess.Popen(CLI + ["serve", "--port", str(port)], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        for line in server.stdout:
            lines.append(line)
            if "serving" in line:
                break
        output = "".join(lines)
        key = re.search(r"API key:\s+(\S+)", output).group(1)
        integration = re.search(r"Integration id:\s+(\S+)", output).group(1)
        snippet = output[output.index("from kombo import Kombo"):output.index("  Then place")]
        done = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert "1001" in done.stdout
        assert integration.startswith("sandbox:") and key.startswith("ahk_")
    finally:
        server.terminate()
        server.wait(timeout=20)
    # A second start finds the database populated and prints no new credentials.
    again = subprocess.Popen(CLI + ["serve", "--port", str(free_port())], env=env, cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        first = again.stdout.readline()
        assert "serving" in first and "API key" not in first
    finally:
        again.terminate()
        again.wait(timeout=20)


def test_bad_configuration_is_reported_not_traced(tmp_path: Path) -> None:
    env = {**os.environ, "ASSESSMENT_HUB_DATABASE_URL": "mysql://x"}
    result = run(["migrate"], env, tmp_path)
    assert result.returncode == 2
    assert "ASSESSMENT_HUB_DATABASE_URL" in result.stderr and "Traceback" not in result.stderr
