"""The package as someone without a clone gets it: sdist and wheel built with ``python -m build`` (the wheel
from the sdist, so the sdist is complete), the wheel installed into a fresh venv, and from an empty folder
``assessment-hub serve`` answers the vendor API and ``assessment-hub demo`` runs its round trip."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import httpx
import pytest

from tests.support import free_port

REPO = Path(__file__).resolve().parents[1]
INSTALL_TIMEOUT_S = 600


def venv(path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=120)
    return path / "bin"


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without anything pointing at this checkout or its venv."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSESSMENT_HUB_", "PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    return {**env, **extra}


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.timeout(1200)
def test_wheel_installs_and_serves_from_an_empty_folder(tmp_path: Path) -> None:
    builder = venv(tmp_path / "build-venv")
    subprocess.run([builder / "pip", "install", "-q", "build"], check=True, timeout=INSTALL_TIMEOUT_S, env=clean_env())
    dist = tmp_path / "dist"
    subprocess.run(
        [builder / "python", "-m", "build", "--outdir", str(dist), str(REPO)],
        check=True,
        timeout=INSTALL_TIMEOUT_S,
        env=clean_env(),
        capture_output=True,
    )
    (wheel,) = dist.glob("assessment_hub-*.whl")
    (sdist,) = dist.glob("assessment_hub-*.tar.gz")
    in_wheel = zipfile.ZipFile(wheel).namelist()
    with tarfile.open(sdist) as tar:
        in_sdist = tar.getnames()
    shipped = sorted(p.name for p in (REPO / "src/assessment_hub/db/migrations/versions").glob("*.py"))
    for name in shipped:
        assert f"assessment_hub/db/migrations/versions/{name}" in in_wheel
        assert any(n.endswith(f"src/assessment_hub/db/migrations/versions/{name}") for n in in_sdist)
    assert (
        "assessment_hub/db/migrations/env.py" in in_wheel and "assessment_hub/db/migrations/script.py.mako" in in_wheel
    )
    # every non-Python file of the package (templates, static assets) is in the wheel
    for path in (REPO / "src/assessment_hub").rglob("*"):
        if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts:
            assert "assessment_hub/" + path.relative_to(REPO / "src/assessment_hub").as_posix() in in_wheel, path

    bin_dir = venv(tmp_path / "fresh")
    subprocess.run(
        [bin_dir / "pip", "install", "-q", str(wheel)], check=True, timeout=INSTALL_TIMEOUT_S, env=clean_env()
    )

    empty = tmp_path / "empty"
    empty.mkdir()
    port = free_port()
    env = clean_env(ASSESSMENT_HUB_ADMIN_API_KEY="pkg-admin")
    server = subprocess.Popen(
        [bin_dir / "assessment-hub", "serve", "--port", str(port)],
        cwd=empty,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        lines: list[str] = []
        deadline = time.monotonic() + 90
        while not any("serving" in line for line in lines):
            line = server.stdout.readline() if server.stdout else ""
            assert line or server.poll() is None, "".join(lines)
            lines.append(line)
            assert time.monotonic() < deadline, "".join(lines)
        banner = "".join(lines)
        key = re.search(r"API key:\s+(ahk_\w+)", banner).group(1)  # type: ignore[union-attr]
        integration = re.search(r"Integration id:\s+(sandbox:\w+)", banner).group(1)  # type: ignore[union-attr]
        headers = {"Authorization": f"Bearer {key}", "X-Integration-Id": integration}
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the installed hub did not become ready"
            time.sleep(0.2)
        assert httpx.get(f"{base}/v1/check-api-key", headers=headers).status_code == 200
        packages = {"packages": [{"id": "1001", "type": "SKILLS_TEST", "name": "T", "description": "d"}]}
        assert httpx.put(f"{base}/v1/assessment/packages", headers=headers, json=packages).status_code == 200
        order = httpx.post(
            f"{base}/admin/sandbox/{integration}/orders",
            headers={"Authorization": "Bearer pkg-admin"},
            json={"package_id": "1001"},
        )
        assert order.status_code == 200, order.text
        listed = httpx.get(f"{base}/v1/assessment/orders", headers=headers).json()["data"]["results"]
        assert [o["id"] for o in listed] == [order.json()["data"]["id"]]
        assert "assessment_hub_http_requests_total" in httpx.get(f"{base}/metrics").text
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert (empty / "assessment-hub.db").is_file()

    demo_dir = tmp_path / "empty-demo"
    demo_dir.mkdir()
    demo = subprocess.run(
        [bin_dir / "assessment-hub", "demo"], cwd=demo_dir, env=clean_env(), capture_output=True, text=True, timeout=300
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "Traceback" not in demo.stderr


def test_dockerfile_is_multi_stage_non_root_and_checks_ready() -> None:
    """No container engine runs here: what can be checked without one. Its stages, its user, that its
    healthcheck asks /ready, that what it copies exists, and that its command is one the CLI has."""
    lines = [line.strip() for line in (REPO / "Dockerfile").read_text().splitlines()]
    stages = [line for line in lines if line.startswith("FROM ")]
    assert len(stages) >= 2 and any(" AS build" in s for s in stages)
    (user,) = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert user.split(":")[0] not in ("root", "0")
    healthcheck = " ".join(lines[[i for i, line in enumerate(lines) if line.startswith("HEALTHCHECK")][0] :][:2])
    assert "/ready" in healthcheck
    for line in lines:
        if line.startswith("COPY ") and "--from=" not in line:
            sources = line.split()[1:-1]
            assert all((REPO / source).exists() for source in sources), line
    cmd = [line for line in lines if line.startswith("CMD ")][-1]  # the last CMD (the first is the healthcheck's)
    assert cmd.startswith('CMD ["serve"') and '"--host", "0.0.0.0"' in cmd
    from typer.testing import CliRunner

    from assessment_hub.cli import app

    assert "--host" in CliRunner().invoke(app, ["serve", "--help"]).output
