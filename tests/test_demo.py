"""`assessment-hub demo` as a user runs it: one command, a readable timeline, exit 0; or non-zero naming the step."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.subprocess

CLI = [sys.executable, "-m", "assessment_hub.cli"]


def run_demo(
    tmp_path: Path, *args: str, python_prefix: list[str] | None = None
) -> tuple[subprocess.CompletedProcess, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSESSMENT_HUB_")}
    started = time.monotonic()
    result = subprocess.run(
        (python_prefix or CLI) + ["demo", *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=90
    )
    return result, time.monotonic() - started


def test_demo_runs_the_whole_round_trip(tmp_path: Path) -> None:
    result, took = run_demo(tmp_path)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    for expected in (
        "✓ official kombo SDK",
        "✓ temporary SQLite database",
        "✓ server listening on http://127.0.0.1:",
        "✓ vendor webhook receiver listening on",
        "✓ packages set with the kombo SDK",
        "✓ signed webhook assessment:order-received",
        "signature verified",
        "✓ result sent with the kombo SDK: COMPLETED, 87/100 (revision 1)",
        "✓ write-back arrived in the sandbox ATS: revision 1, COMPLETED, 87/100",
        "✓ ATS outage",
        "write-back attempt 1: HTTP 503 (transient), retry",
        "write-back attempt 3: HTTP 503 (transient), retry",
        "✓ ATS recovered",
        "✓ write-back arrived in the sandbox ATS: revision 2, COMPLETED, 91/100",
        "✓ demo complete",
    ):
        assert expected in out, f"missing {expected!r} in:\n{out}"
    assert "✗" not in out and "Traceback" not in result.stderr
    lines = [line for line in out.splitlines() if line.strip()[:1].isdigit()]
    elapsed = [float(line.split("s", 1)[0]) for line in lines]
    assert elapsed == sorted(elapsed)  # a timeline
    assert took < 60
    assert list(tmp_path.iterdir()) == []  # nothing left behind in the working directory


def test_a_failing_step_exits_non_zero_and_names_it(tmp_path: Path) -> None:
    result, _ = run_demo(tmp_path, "--break-receiver-secret")
    assert result.returncode == 1
    assert "✗ webhook received: no verified assessment:order-received" in result.stdout
    assert "signature did not verify" in result.stdout
    assert "demo failed at step: webhook received" in result.stderr
    assert "✓ order" in result.stdout and "✓ result sent" not in result.stdout  # stopped at the failed step


def test_missing_kombo_sdk_says_how_to_install_it(tmp_path: Path) -> None:
    without_kombo = [
        sys.executable,
        "-c",
        "import sys; sys.modules['kombo'] = None; from assessment_hub.cli import app; app()",
    ]
    result, _ = run_demo(tmp_path, python_prefix=without_kombo)
    assert result.returncode == 1
    assert (
        "✗ kombo SDK: the official `kombo` SDK is not installed; install it with `pip install kombo`" in result.stdout
    )
    assert "demo failed at step: kombo SDK" in result.stderr


@pytest.mark.parametrize(
    ("tool", "label"),
    [
        ("smartrecruiters", "SmartRecruiters"),
        ("workable", "Workable"),
        ("recruitee", "Recruitee"),
        ("lever", "Lever"),
        ("ashby", "Ashby"),
        ("greenhouse", "Greenhouse"),
        ("teamtailor", "Teamtailor"),
    ],
)
def test_demo_against_a_simulated_ats(tmp_path: Path, tool: str, label: str) -> None:
    result, _took = run_demo(tmp_path, "--tool", tool)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    for expected in (
        f"✓ {label} simulator listening on http://127.0.0.1:",
        f"placed by the {label} simulator (calling the hub as {label} does)",
        "✓ signed webhook assessment:order-received",
        f"✓ write-back arrived in the {label} simulator: revision 1, COMPLETED, 87/100",
        "write-back attempt 3: HTTP 503 (transient), retry",
        f"✓ write-back arrived in the {label} simulator: revision 2, COMPLETED, 91/100",
        "✓ demo complete",
    ):
        assert expected in out, f"missing {expected!r} in:\n{out}"
    assert "✗" not in out and "Traceback" not in result.stderr


def test_demo_of_a_tool_without_a_simulator_says_which_exist(tmp_path: Path) -> None:
    result, _took = run_demo(tmp_path, "--tool", "nope")
    assert result.returncode == 1 and "no simulator for 'nope'" in result.stderr
    assert "smartrecruiters" in result.stderr and "Traceback" not in result.stderr
