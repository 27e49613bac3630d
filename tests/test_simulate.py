"""``assessment-hub simulate <tool>``: a simulated ATS a vendor points an integration at and clicks through
(the page at ``/``), run as the command a vendor types, against a live hub."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from tests.support import Hub, wait_until

pytestmark = [pytest.mark.live, pytest.mark.subprocess]  # the simulator runs as a command and calls the hub


SETTINGS = {
    "smartrecruiters": {"api_client_id", "api_client_secret", "api_base_url", "allowed_callback_hosts"},
    "recruitee": {"codename", "partner_secret", "api_base_url"},
    "workable": {"api_token", "allowed_callback_hosts"},
    "lever": {"api_key", "signature_token", "stage_packages", "api_base_url"},
    "ashby": {"api_key", "api_base_url"},
    "greenhouse": {"allowed_callback_hosts"},
    "teamtailor": {"api_key", "api_base_url", "webhook_secret", "allowed_callback_hosts"},
}
"""The ``integrations create`` settings each simulator prints."""
BASE_URLS = {
    "smartrecruiters": "{url}",
    "recruitee": "{url}/api",
    "lever": "{url}/v1",
    "ashby": "{url}",
    "teamtailor": "{url}",
}
"""The ``api_base_url`` each simulator prints, from its URL (Workable has none: the hub PUTs to each order's
``callback_url``)."""
SHOWN_SCORE = {
    "smartrecruiters": "<td>41/50</td>",
    "recruitee": "<td>41/50</td>",
    "lever": "<td>41/50</td>",
    "workable": "<td>82%</td>",
    "ashby": "<td>41/50</td>",
    "greenhouse": "<td>41/50</td>",
    "teamtailor": "<td>82%</td>",
}
"""How each simulator's page shows a 41/50 result (Workable, Teamtailor: as a percentage; others: score/max)."""


@pytest.fixture(params=sorted(SETTINGS))
def simulate(request: pytest.FixtureRequest) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSESSMENT_HUB_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "assessment_hub.cli", "simulate", request.param, "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    try:
        assert process.stdout is not None
        while not any("Ctrl-C" in line for line in lines):
            line = process.stdout.readline()
            assert line, f"simulate exited early: {process.stderr.read() if process.stderr else ''}"
            lines.append(line.rstrip("\n"))
        yield process, lines
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def test_simulate_prints_what_to_do_and_can_be_clicked_through(
    hub: Hub, simulate: tuple[subprocess.Popen[str], list[str]]
) -> None:
    process, lines = simulate
    tool = process.args[-3]  # type: ignore[index]
    url = re.search(r"listening on (http://127\.0\.0\.1:\d+)", lines[0]).group(1)  # type: ignore[union-attr]
    (create,) = [line for line in lines if f"integrations create --tool {tool}" in line]
    settings = dict(re.findall(r"--setting (\w+)=(\S+)", create))
    assert set(settings) == SETTINGS[tool]
    if tool in BASE_URLS:
        assert settings["api_base_url"] == BASE_URLS[tool].format(url=url)
    tenant = hub.new_tenant(tool, settings)
    from assessment_hub.connectors.inbound import integration_base_url
    from assessment_hub.connectors.registry import connector_class
    from assessment_hub.integrations.models import IntegrationRow
    from assessment_hub.integrations.service import integration_settings

    with hub.sessions() as session:
        stored = integration_settings(session.get(IntegrationRow, tenant.integration_id), hub.settings.cipher)
    setup = connector_class(tool).setup(stored, integration_base_url(hub.base_url, tenant.integration_id))
    with httpx.Client(base_url=url, timeout=20) as browser:
        assert browser.post("/_simulator/setup", data=setup).status_code == 303  # the set-up form
        package = "1001" if tool == "lever" else "java"  # Lever lists no tests: its stage orders the printed package
        tenant.sdk().assessment.set_packages(
            packages=[{"id": package, "type": "SKILLS_TEST", "name": "Java test", "description": "d"}]
        )
        page = browser.get("/").text
        if tool == "lever":  # the page orders by moving a candidate into a stage
            stage = settings["stage_packages"].split("=", 1)[0]
            assert f'<option value="{stage}">Assessment 1001 -&gt; package 1001 ({stage})</option>' in page
        else:
            assert '<option value="java">Java test (java)</option>' in page
        ordered = browser.post("/_simulator/order", data={"package_id": package, "email": "ada@example.com"})
        assert ordered.status_code == 303
        (order,) = wait_until(
            lambda: tenant.sdk().assessment.get_assessment_orders().result.data.results, what="the order in the hub"
        )
        assert order.candidate.email == "ada@example.com"
        tenant.sdk().assessment.update_order_result(
            assessment_order_id=order.id, status="COMPLETED", score=41, max_score=50, result_url="https://v.example/r"
        )
        wait_until(lambda: SHOWN_SCORE[tool] in browser.get("/").text, what="the result on the page")
        assert browser.post("/_simulator/mode", data={"mode": "503"}).status_code == 303
        assert "Mode: <b>503</b>" in browser.get("/").text


def test_simulate_an_unknown_tool_names_the_simulated_ones() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "assessment_hub.cli", "simulate", "nope"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1 and "no simulator for 'nope'" in done.stderr and "smartrecruiters" in done.stderr
