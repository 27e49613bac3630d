"""The connector contract for Recruitee, driven through the product's simulator
(``assessment_hub.simulators.recruitee``), plus Recruitee's own rules: the Bearer token on both inbound calls,
one order per ``report_id``, unknown tests refused 422, the report PATCH (``RT-PARTNER-SECRET``, text score,
``canceled``), OPEN results sent nowhere, warnings and ``integrations create --json``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from assessment_hub.assessment import intake
from assessment_hub.assessment.models import OrderRow
from assessment_hub.connectors.base import SettingsError
from assessment_hub.connectors.inbound import integration_base_url
from assessment_hub.connectors.recruitee.connector import RecruiteeConnector
from assessment_hub.connectors.registry import connector_class
from assessment_hub.delivery.models import OutboxRow
from assessment_hub.integrations.models import IntegrationRow
from assessment_hub.integrations.service import integration_settings
from assessment_hub.simulators.base import ProtocolViolation
from assessment_hub.simulators.recruitee import RecruiteeSimulator, report_problems, score_of
from tests.connectors.contract import ConnectorContract, _writebacks
from tests.receiver import vendor_receiver
from tests.support import Hub, Tenant, wait_until

pytestmark = pytest.mark.live  # the simulator calls the hub over a socket


class RecruiteeHarness:
    """Drives the Recruitee simulator against one hub integration."""

    def __init__(self, hub: Hub, sim: RecruiteeSimulator) -> None:
        self.hub, self.sim = hub, sim
        self.tenant: Tenant = hub.new_tenant("recruitee", sim.hub_settings())
        with hub.sessions() as session:
            stored = integration_settings(session.get(IntegrationRow, self.tenant.integration_id), hub.settings.cipher)
        self.setup = RecruiteeConnector.setup(stored, integration_base_url(hub.base_url, self.tenant.integration_id))
        sim.configure(self.setup)  # the vendor registers the URLs; the customer pastes the token
        self.report_ids: dict[str, str] = {}  # hub order id -> report_id

    def hub_order(self, report_id: str) -> str | None:
        with self.hub.sessions() as session:
            order = intake.find_order_by_remote(session, self.tenant.integration_id, ("report_id",), report_id)
        return order.id if order else None

    # -- Harness protocol ------------------------------------------------------
    def ats_packages(self) -> list[str]:
        return [str(t["id"]) for t in self.sim.list_tests()]

    def place_order(self, package_id: str, email: str, **kwargs: Any) -> str:
        report_id = self.sim.send_candidate(package_id, email, **kwargs)
        order_id = self.hub_order(report_id)
        assert order_id
        self.report_ids[order_id] = report_id
        return order_id

    def patches(self, order_id: str) -> list[dict[str, Any]]:
        return self.sim.reports[self.report_ids[order_id]]["patches"]

    def shown(self, order_id: str) -> dict[str, Any] | None:
        if not self.patches(order_id):
            return None
        report = self.sim.shown(self.report_ids[order_id])
        status = {"completed": "completed", "failed": "completed", "canceled": "cancelled"}.get(
            report["status"], "open"
        )
        if status == "cancelled" and "subtitle" in report and "completed_at" not in report:
            status = "rejected"  # the hub's rejection: canceled, the vendor's message as the subtitle
        return {
            "status": status,
            "score": score_of(report.get("score"))[0],
            "url": None,  # a report has no result link
            "attachments": 0,
            "message": report.get("subtitle") if status == "rejected" else None,
        }

    def cancel(self, order_id: str) -> None:
        raise NotImplementedError("the hub sets no urls.cancel: Recruitee cannot cancel")

    def outage(self, mode: str) -> None:
        self.sim.set_mode("503" if mode == "503" else "ok")

    def break_credentials(self) -> None:
        self.sim.break_credentials()


@pytest.fixture
def sim() -> Iterator[RecruiteeSimulator]:
    with RecruiteeSimulator(timeout=15) as simulator:
        yield simulator


@pytest.fixture
def recruitee(hub: Hub, sim: RecruiteeSimulator) -> RecruiteeHarness:
    return RecruiteeHarness(hub, sim)


class TestRecruiteeConnectorContract(ConnectorContract):
    tool = "recruitee"

    @pytest.fixture
    def harness(self, recruitee: RecruiteeHarness) -> RecruiteeHarness:
        return recruitee

    def test_final_result_then_correction(self, harness: RecruiteeHarness) -> None:  # type: ignore[override]
        """As the contract's, except the link: a Recruitee report has no result link, so the vendor is told."""
        order_id = self.ordered(harness)
        response = self.result(
            harness, order_id, status="COMPLETED", score=80, max_score=100, completed_at="2024-05-01T10:00:00Z"
        )
        assert any("result_url" in w.message for w in response.warnings), response.warnings
        shown = self.wait_shown(harness, order_id, lambda s: s["status"] == "completed", "the completed result")
        assert shown["score"] == 80
        self.result(harness, order_id, status="COMPLETED", score=90, max_score=100, completed_at="2024-05-01T10:00:00Z")
        self.wait_shown(harness, order_id, lambda s: s["score"] == 90, "the corrected score")


# ---------------------------------------------------------------------- helpers


def publish(h: RecruiteeHarness, *ids: str) -> None:
    ConnectorContract.publish(h, *ids)


def put(h: RecruiteeHarness, order_id: str, **body: Any) -> Any:
    return ConnectorContract.result(h, order_id, **body)


def orders_of(hub: Hub, integration_id: str) -> list[OrderRow]:
    with hub.sessions() as session:
        return list(session.scalars(select(OrderRow).where(OrderRow.integration_id == integration_id)))


# ---------------------------------------------------------------------- inbound


def test_a_wrong_or_missing_token_is_refused_401(recruitee: RecruiteeHarness) -> None:
    publish(recruitee, "pkg-1")
    sim = recruitee.sim
    for token in ("wrong-token", ""):
        listed = sim._call("GET", "tests_url", token=token)
        assert listed.status_code == 401 and listed.json() == {"error": "Invalid or missing token."}
        sent = sim.send_body(sim.candidate_body("pkg-1"), token=token)
        assert sent.status_code == 401 and "error" in sent.json()
    with pytest.raises(ProtocolViolation):
        sim.list_tests(token="wrong-token")
    assert orders_of(recruitee.hub, recruitee.tenant.integration_id) == []


def test_a_url_of_no_active_integration_is_404_in_recruitees_shape(recruitee: RecruiteeHarness, hub: Hub) -> None:
    import httpx

    base = recruitee.setup["tests_url"].rsplit("/connectors/", 1)[0]
    with httpx.Client(timeout=15) as client:
        answer = client.get(
            f"{base}/connectors/recruitee/{'x' * 24}/tests",
            headers={"Authorization": f"Bearer {recruitee.setup['token']}"},
        )
    assert answer.status_code == 404 and set(answer.json()) == {"error"}


def test_tests_list_is_a_bare_array_of_id_and_name(recruitee: RecruiteeHarness) -> None:
    assert recruitee.sim.list_tests() == []
    publish(recruitee, "b", "a")
    assert recruitee.sim.list_tests() == [{"id": "a", "name": "Test a"}, {"id": "b", "name": "Test b"}]


def test_the_same_report_twice_makes_one_order(recruitee: RecruiteeHarness, hub: Hub) -> None:
    publish(recruitee, "pkg-1")
    body = recruitee.sim.candidate_body("pkg-1")
    with vendor_receiver(hub, events=["assessment:order-received"]) as receiver:
        first = recruitee.sim.send_body(body)
        again = recruitee.sim.send_body(body)
        assert first.status_code == again.status_code == 200
        assert first.json() == again.json() and first.json()["report_id"] == body["report_id"]
        order_id = first.json()["id"]
        wait_until(lambda: receiver.events_for(order_id), what="order-received")
    (order,) = orders_of(hub, recruitee.tenant.integration_id)
    with hub.sessions() as session:
        events = session.scalars(select(OutboxRow).where(OutboxRow.order_id == order.id, OutboxRow.kind == "webhook"))
        assert len(list(events)) == 1


def test_the_same_report_at_once_from_several_connections_makes_one_order(
    recruitee: RecruiteeHarness, hub: Hub
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    publish(recruitee, "pkg-1")
    body = recruitee.sim.candidate_body("pkg-1")
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: recruitee.sim.send_body(body), range(4)))
    assert {a.status_code for a in answers} == {200}
    (order,) = orders_of(hub, recruitee.tenant.integration_id)
    assert {a.json()["id"] for a in answers} == {order.id}


def test_the_same_report_id_in_another_integration_is_its_own_order(hub: Hub, sim: RecruiteeSimulator) -> None:
    one = RecruiteeHarness(hub, sim)
    publish(one, "pkg-1")
    body = sim.candidate_body("pkg-1")
    first = sim.send_body(body).json()["id"]
    with RecruiteeSimulator(timeout=15) as other_sim:
        other = RecruiteeHarness(hub, other_sim)
        publish(other, "pkg-1")
        second = other_sim.send_body(body).json()["id"]
    assert first != second
    assert [o.id for o in orders_of(hub, one.tenant.integration_id)] == [first]
    assert [o.id for o in orders_of(hub, other.tenant.integration_id)] == [second]


def test_refused_candidates_make_no_order(recruitee: RecruiteeHarness, hub: Hub) -> None:
    publish(recruitee, "pkg-1")
    sim = recruitee.sim
    unknown = sim.send_body(sim.candidate_body("no-such-test"))
    assert unknown.status_code == 422 and unknown.json() == {"error": "Unknown test 'no-such-test'."}
    no_email = sim.candidate_body("pkg-1")
    del no_email["email"]
    refused = sim.send_body(no_email)
    assert refused.status_code == 422 and "email" in refused.json()["error"]
    not_json = sim._call("POST", "send_candidate_url", content=b"{nope", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 422 and not_json.json() == {"error": "The body is not JSON."}
    array = sim.send_body([sim.candidate_body("pkg-1")])
    assert array.status_code == 422
    assert orders_of(hub, recruitee.tenant.integration_id) == []


def test_order_mapping_and_raw_payload(recruitee: RecruiteeHarness, hub: Hub) -> None:
    publish(recruitee, "pkg-1")
    report_id = recruitee.sim.send_candidate(
        "pkg-1", "grace@example.com", first_name="Grace", last_name="Hopper", candidate_id=77, phone="+49 30 1234"
    )
    order_id = recruitee.hub_order(report_id)
    order = recruitee.tenant.order(order_id)
    assert order["package_id"] == "pkg-1" and order["status"] == "OPEN"
    assert order["candidate"] == {
        "remote_id": "77",
        "email": "grace@example.com",
        "first_name": "Grace",
        "last_name": "Hopper",
        "phone": "+49 30 1234",
    }
    assert order["application"]["remote_id"] is None and order["job"]["remote_id"] is None
    (row,) = orders_of(hub, recruitee.tenant.integration_id)
    assert row.remote_data == recruitee.sim.reports[report_id]["request"]


# ---------------------------------------------------------------------- write-back


def test_completed_report_patch(recruitee: RecruiteeHarness) -> None:
    publish(recruitee, "pkg-1")
    order_id = recruitee.place_order("pkg-1", "ada@example.com")
    response = put(
        recruitee,
        order_id,
        status="COMPLETED",
        score=41,
        max_score=50,
        completed_at="2024-05-01T10:00:00Z",
        attributes=[{"type": "TEXT", "label": "Summary", "value": "Solid"}],
        remote_fields={"recruitee": {"subtitle": "Senior level"}},
    )
    messages = [w.message for w in response.warnings]
    assert any("attributes" in m for m in messages) and any("result_url" in m for m in messages), messages
    (patch,) = wait_until(lambda: recruitee.patches(order_id), timeout=20, what="the report PATCH")
    assert patch == {
        "status": "completed",
        "score": "41/50",
        "completed_at": "2024-05-01T10:00:00.000Z",
        "subtitle": "Senior level",
    }
    (request,) = [r for r in recruitee.sim.received if r.method == "PATCH"]
    assert request.path == f"/api/p/{recruitee.sim.codename}/reports/{recruitee.report_ids[order_id]}"
    assert request.headers["rt-partner-secret"] == recruitee.sim.partner_secret
    assert request.headers["content-type"] == "application/json"
    assert report_problems(patch) == []


def test_open_result_sends_nothing_and_warns(recruitee: RecruiteeHarness, hub: Hub) -> None:
    publish(recruitee, "pkg-1")
    order_id = recruitee.place_order("pkg-1", "ada@example.com")
    response = put(recruitee, order_id, status="OPEN", score=10, max_score=100)
    assert [w.message for w in response.warnings if "OPEN" in w.message]
    wait_until(lambda: [r for r in _writebacks(hub, order_id) if r.state == "succeeded"], what="the write-back done")
    put(recruitee, order_id, status="COMPLETED", score=7, completed_at="2024-05-01T10:00:00Z")
    (patch,) = wait_until(lambda: recruitee.patches(order_id), timeout=20, what="the completed PATCH")
    assert patch["score"] == "7" and patch["status"] == "completed"
    assert [r.method for r in recruitee.sim.requests] == ["PATCH"]  # the OPEN revision sent nothing


def test_the_console_preview_shows_the_report_patch_and_nothing_for_open(recruitee: RecruiteeHarness, hub: Hub) -> None:
    from assessment_hub.delivery.preview import writeback_preview

    publish(recruitee, "pkg-1")
    order_id = recruitee.place_order("pkg-1", "ada@example.com")
    put(recruitee, order_id, status="OPEN")
    with hub.sessions() as session:
        preview = writeback_preview(session, hub.settings, order_id)
    assert preview.request is None and "OPEN" in (preview.note or "")
    put(recruitee, order_id, status="COMPLETED", score=3, max_score=4, completed_at="2024-05-01T10:00:00Z")
    with hub.sessions() as session:
        preview = writeback_preview(session, hub.settings, order_id)
    assert preview.request is not None and preview.request.method == "PATCH"
    assert preview.request.url.endswith(f"/reports/{recruitee.report_ids[order_id]}")
    assert ("RT-PARTNER-SECRET", "****") in preview.request.headers  # the secret is never shown


def test_cancelled_result_is_canceled(recruitee: RecruiteeHarness) -> None:
    publish(recruitee, "pkg-1")
    order_id = recruitee.place_order("pkg-1", "ada@example.com")
    put(recruitee, order_id, status="CANCELLED", completed_at="2024-05-01T10:00:00Z")
    (patch,) = wait_until(lambda: recruitee.patches(order_id), timeout=20, what="the report PATCH")
    assert patch == {"status": "canceled", "completed_at": "2024-05-01T10:00:00.000Z"}
    assert recruitee.shown(order_id)["status"] == "cancelled"


def test_the_simulator_refuses_what_recruitee_would() -> None:
    assert report_problems({"status": "cancelled"})  # two l's
    assert report_problems({"score": 41})
    assert report_problems({"completed_at": "2024-05-01"})
    assert report_problems({"status": "completed", "result_url": "https://x"})
    assert report_problems({}) and report_problems([])
    assert report_problems({"status": "completed", "score": "12/15", "completed_at": "2024-05-01T10:00:00Z"}) == []
    assert score_of("41/50") == (41, 50) and score_of("10") == (10, None) and score_of("good") == (None, None)


# ---------------------------------------------------------------------- settings and set-up


def test_settings_are_checked() -> None:
    prepared = RecruiteeConnector.prepare_settings({"codename": "acme", "partner_secret": "s"})
    assert prepared["api_base_url"] == "https://integrations.recruitee.com/api" and prepared["token"].startswith("rtk_")
    assert prepared["token"] != RecruiteeConnector.prepare_settings({"codename": "a", "partner_secret": "s"})["token"]
    for bad, key in (
        ({"partner_secret": "s"}, "codename"),
        ({"codename": "a/b", "partner_secret": "s"}, "codename"),
        ({"codename": "acme"}, "partner_secret"),
        ({"codename": "acme", "partner_secret": "s", "api_base_url": "ftp://x"}, "api_base_url"),
        ({"codename": "acme", "partner_secret": "s", "colour": "red"}, "colour"),
    ):
        with pytest.raises(SettingsError, match=key):
            RecruiteeConnector.prepare_settings(bad)
    assert connector_class("recruitee") is RecruiteeConnector


@pytest.mark.subprocess
def test_cli_integrations_create_json(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "ASSESSMENT_HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "ASSESSMENT_HUB_PUBLIC_BASE_URL": "https://hub.example.com",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src"),
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "assessment_hub.cli", *args], env=env, capture_output=True, text=True, timeout=60
        )

    assert run("migrate").returncode == 0
    created = run(
        "integrations", "create", "--tool", "recruitee", "--organization", "Acme",
        "--setting", "codename=acme", "--setting", "partner_secret=s3cret", "--json",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    out = json.loads(created.stdout)
    base = "https://hub.example.com/connectors/recruitee/" + out["id"].split(":", 1)[1]
    assert out["tool"] == "recruitee" and out["setup"] == {
        "tests_url": base + "/tests",
        "send_candidate_url": base + "/send_candidate",
        "token": out["setup"]["token"],
    }
    assert len(out["setup"]["token"]) > 30
    missing = run("integrations", "create", "--tool", "recruitee", "--organization", "Acme", "--json")
    assert missing.returncode != 0 and "codename" in (missing.stderr + missing.stdout)
