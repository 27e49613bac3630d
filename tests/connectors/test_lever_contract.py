"""The connector contract for Lever, driven through the product's simulator (``assessment_hub.simulators.lever``),
plus Lever's own rules: the body signature, stage_packages, no signature token yet, one order per delivery and per
open contact, deliveries never landing in another integration, the opportunity read with Basic auth, one note per
COMPLETED revision, OPEN results sent nowhere, warnings and ``integrations create``/``update``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from assessment_hub.assessment.models import OrderRow
from assessment_hub.connecting import update_integration
from assessment_hub.connectors.base import SettingsError
from assessment_hub.connectors.inbound import integration_base_url
from assessment_hub.connectors.lever.connector import LeverConnector
from assessment_hub.connectors.registry import connector_class
from assessment_hub.db.session import unit_of_work
from assessment_hub.delivery.models import OutboxRow
from assessment_hub.integrations.models import IntegrationRow
from assessment_hub.integrations.notices import NoticeRow
from assessment_hub.integrations.service import integration_settings
from assessment_hub.simulators.base import ProtocolViolation
from assessment_hub.simulators.lever import LeverSimulator, note_problems, note_result
from tests.connectors.contract import ConnectorContract, _writebacks
from tests.receiver import vendor_receiver
from tests.support import Hub, Tenant, wait_until

pytestmark = pytest.mark.live  # the simulator calls the hub over a socket

PACKAGES = ("pkg-1", "pkg-2")
_RESULT_LINK = re.compile(r"^Result: (\S+)$", re.M)


class LeverHarness:
    """Drives the Lever simulator against one hub integration."""

    def __init__(self, hub: Hub, sim: LeverSimulator, **overrides: str) -> None:
        self.hub, self.sim = hub, sim
        settings = {**sim.hub_settings(), **overrides}
        self.tenant: Tenant = hub.new_tenant("lever", {k: v for k, v in settings.items() if v})
        with hub.sessions() as session:
            stored = integration_settings(session.get(IntegrationRow, self.tenant.integration_id), hub.settings.cipher)
        self.setup = LeverConnector.setup(stored, integration_base_url(hub.base_url, self.tenant.integration_id))
        sim.configure(self.setup)  # the customer adds the webhook in Lever
        self.opportunities: dict[str, str] = {}  # hub order id -> opportunity id

    def hub_order(self, opportunity_id: str) -> str | None:
        with self.hub.sessions() as session:
            row = session.scalar(
                select(OrderRow).where(
                    OrderRow.integration_id == self.tenant.integration_id,
                    OrderRow.application["remote_id"].as_string() == opportunity_id,
                )
            )
        return row.id if row else None

    # -- Harness protocol ------------------------------------------------------
    def ats_packages(self) -> list[str]:
        """Lever lists no tests: the packages its stages order (what the customer configured)."""
        return sorted(set(self.sim.stage_packages.values()))

    def place_order(self, package_id: str, email: str) -> str:
        opportunity_id = self.sim.order(package_id, email)
        order_id = self.hub_order(opportunity_id)
        assert order_id
        self.opportunities[order_id] = opportunity_id
        return order_id

    def notes(self, order_id: str) -> list[dict[str, Any]]:
        return self.sim.notes[self.opportunities[order_id]]

    def shown(self, order_id: str) -> dict[str, Any] | None:
        notes = self.notes(order_id)
        if not notes:
            return None
        text = notes[-1]["value"]
        read = note_result(text)
        status = {"COMPLETED": "completed", "CANCELLED": "cancelled", "REJECTED": "rejected"}[read["status"]]
        link = _RESULT_LINK.search(text)
        return {
            "status": status,
            "score": read["score"],
            "url": link.group(1) if link else None,
            "attachments": 0,
            "message": text.split("\n", 1)[1] if status == "rejected" else None,
        }

    def cancel(self, order_id: str) -> None:
        raise NotImplementedError("Lever has no assessment to cancel")

    def outage(self, mode: str) -> None:
        self.sim.set_mode("503" if mode == "503" else "ok")

    def break_credentials(self) -> None:
        self.sim.break_credentials()


@pytest.fixture
def sim() -> Iterator[LeverSimulator]:
    with LeverSimulator(packages=PACKAGES, timeout=15) as simulator:
        yield simulator


@pytest.fixture
def lever(hub: Hub, sim: LeverSimulator) -> LeverHarness:
    return LeverHarness(hub, sim)


class TestLeverConnectorContract(ConnectorContract):
    tool = "lever"

    @pytest.fixture
    def harness(self, lever: LeverHarness) -> LeverHarness:
        return lever


# ---------------------------------------------------------------------- helpers


def publish(h: LeverHarness, *ids: str) -> None:
    ConnectorContract.publish(h, *ids)


def put(h: LeverHarness, order_id: str, **body: Any) -> Any:
    return ConnectorContract.result(h, order_id, **body)


def orders_of(hub: Hub, integration_id: str) -> list[OrderRow]:
    with hub.sessions() as session:
        return list(session.scalars(select(OrderRow).where(OrderRow.integration_id == integration_id)))


def notices_of(hub: Hub, integration_id: str) -> list[str]:
    with hub.sessions() as session:
        return list(session.scalars(select(NoticeRow.message).where(NoticeRow.integration_id == integration_id)))


def stage_change(sim: LeverSimulator, opportunity_id: str, stage_id: str) -> dict[str, Any]:
    contact = sim.opportunities[opportunity_id]["contact"]
    return {
        "opportunityId": opportunity_id,
        "candidateId": contact,
        "contactId": contact,
        "toStageId": stage_id,
        "fromStageId": "applicant-new",
    }


# ---------------------------------------------------------------------- inbound


def test_a_wrong_or_missing_signature_is_refused_401(lever: LeverHarness, hub: Hub) -> None:
    publish(lever, "pkg-1")
    sim = lever.sim
    opportunity = sim.new_opportunity()
    data = stage_change(sim, opportunity, sim.stage_for("pkg-1"))
    wrong = sim.deliver(sim.signed(data, key="not-the-webhook-token"))
    assert wrong.status_code == 401 and wrong.json()["code"] == "Unauthorized"
    tampered = sim.signed(data)
    tampered["triggeredAt"] += 1  # the signature covers token + triggeredAt
    assert sim.deliver(tampered).status_code == 401
    unsigned = {k: v for k, v in sim.signed(data).items() if k != "signature"}
    assert sim.deliver(unsigned).status_code == 400
    assert orders_of(hub, lever.tenant.integration_id) == []


def test_a_url_of_no_active_integration_is_404_in_levers_shape(lever: LeverHarness) -> None:
    import httpx

    base = lever.setup["webhook_url"].rsplit("/connectors/", 1)[0]
    with httpx.Client(timeout=15) as client:
        answer = client.post(f"{base}/connectors/lever/{'x' * 24}/webhook", json=lever.sim.signed(None))
    assert answer.status_code == 404 and set(answer.json()) == {"code", "message"}


def test_other_stages_events_and_pings_make_no_order(lever: LeverHarness, hub: Hub) -> None:
    publish(lever, "pkg-1")
    sim = lever.sim
    sim.ping()  # the connection test: signed, no data
    opportunity = sim.new_opportunity()
    moved = sim.move(opportunity, "phone-screen")
    assert moved.status_code == 200 and moved.json()["order"] is None
    archived = sim.signed({"opportunityId": opportunity, "toArchived": {"reason": "x"}})
    archived["event"] = "candidateArchiveChange"
    assert sim.deliver(archived).status_code == 200
    assert orders_of(hub, lever.tenant.integration_id) == []
    assert not [r for r in sim.requests if r.path.startswith("/v1/")]  # Lever was not even asked


def test_the_order_reads_the_opportunity_and_maps_the_ids(lever: LeverHarness, hub: Hub) -> None:
    publish(lever, "pkg-1")
    sim = lever.sim
    opportunity = sim.new_opportunity("grace@example.com", "Grace Brewster Hopper", "+1 212 555 0101")
    with vendor_receiver(hub, events=["assessment:order-received"]) as receiver:
        answer = sim.move(opportunity, sim.stage_for("pkg-1")).json()
        (delivery,) = wait_until(lambda: receiver.events_for(answer["order"]), what="order-received")
    order = lever.tenant.order(answer["order"])
    assert order["package_id"] == "pkg-1" and delivery.event["data"]["candidate"]["email"] == "grace@example.com"
    assert order["candidate"] == {
        "remote_id": sim.opportunities[opportunity]["contact"],
        "email": "grace@example.com",
        "first_name": "Grace",
        "last_name": "Brewster Hopper",
        "phone": "+1 212 555 0101",
    }
    assert order["application"]["remote_id"] == opportunity
    (fetch,) = [r for r in sim.received if r.method == "GET"]
    assert fetch.path == f"/v1/opportunities/{opportunity}"


def test_the_same_delivery_or_an_open_order_makes_no_second_order(lever: LeverHarness, hub: Hub) -> None:
    publish(lever, "pkg-1", "pkg-2")
    sim = lever.sim
    opportunity = sim.new_opportunity()
    body = sim.signed(stage_change(sim, opportunity, sim.stage_for("pkg-1")))
    with vendor_receiver(hub, events=["assessment:order-received"]) as receiver:
        first = sim.deliver(body).json()["order"]
        assert sim.deliver(body).json()["order"] == first  # Lever retrying the delivery
        again = sim.move(opportunity, sim.stage_for("pkg-1"))  # moved into the stage again, a new delivery
        assert again.json()["order"] == first
        other = sim.move(opportunity, sim.stage_for("pkg-2")).json()["order"]  # another stage's package
        assert other not in (None, first)
        wait_until(lambda: receiver.events_for(other), what="order-received of the second order")
        assert len(receiver.events_for(first)) == 1
    with hub.sessions() as session:
        webhooks = session.scalars(select(OutboxRow).where(OutboxRow.order_id == first, OutboxRow.kind == "webhook"))
        assert len(list(webhooks)) == 1
    assert sorted(o.id for o in orders_of(hub, lever.tenant.integration_id)) == sorted([first, other])


def test_the_same_delivery_at_once_from_several_connections_makes_one_order(lever: LeverHarness, hub: Hub) -> None:
    from concurrent.futures import ThreadPoolExecutor

    publish(lever, "pkg-1")
    sim = lever.sim
    opportunity = sim.new_opportunity()
    body = sim.signed(stage_change(sim, opportunity, sim.stage_for("pkg-1")))
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: sim.deliver(body), range(4)))
    assert {a.status_code for a in answers} == {200}
    (order,) = orders_of(hub, lever.tenant.integration_id)
    assert {a.json()["order"] for a in answers} == {order.id}


def test_a_delivery_never_lands_in_another_integration(hub: Hub, sim: LeverSimulator) -> None:
    one = LeverHarness(hub, sim)
    publish(one, "pkg-1")
    with LeverSimulator(packages=PACKAGES, timeout=15) as other_sim:
        other = LeverHarness(hub, other_sim)
        publish(other, "pkg-1")
        opportunity = sim.new_opportunity()
        body = sim.signed(stage_change(sim, opportunity, sim.stage_for("pkg-1")))  # signed with one's token
        misdirected = other_sim.deliver(body)  # posted to the other integration's webhook_url
        assert misdirected.status_code == 401
    assert orders_of(hub, other.tenant.integration_id) == [] and orders_of(hub, one.tenant.integration_id) == []


def test_until_the_signature_token_is_set_deliveries_are_refused_and_say_why(hub: Hub, sim: LeverSimulator) -> None:
    lever = LeverHarness(hub, sim, signature_token="")
    publish(lever, "pkg-1")
    opportunity = sim.new_opportunity()
    with pytest.raises(ProtocolViolation):
        sim.move(opportunity, sim.stage_for("pkg-1"))
    refused = sim.deliveries[-1]
    assert refused["status"] == 503
    body = sim.signed(stage_change(sim, opportunity, sim.stage_for("pkg-1")))
    answer = sim.deliver(body).json()
    assert "signature_token" in answer["message"] and "integrations update" in answer["message"]
    with unit_of_work(hub.sessions) as session:
        update_integration(
            session, lever.tenant.integration_id, {"signature_token": sim.signature_token}, cipher=hub.settings.cipher
        )
    assert sim.deliver(body).json()["order"]  # the same delivery, retried by Lever, now makes the order


def test_unpublished_package_and_lever_refusing_the_key_are_told(lever: LeverHarness, hub: Hub) -> None:
    sim = lever.sim
    opportunity = sim.new_opportunity()
    unpublished = sim.deliver(sim.signed(stage_change(sim, opportunity, sim.stage_for("pkg-1"))))
    assert unpublished.status_code == 422 and "not published" in unpublished.json()["message"]
    publish(lever, "pkg-1")
    sim.break_credentials()
    refused = sim.deliver(sim.signed(stage_change(sim, opportunity, sim.stage_for("pkg-1"))))
    assert refused.status_code == 502 and "401" in refused.json()["message"]
    no_email = sim.new_opportunity(email="")
    sim.api_key = integration_api_key(hub, lever)
    missing = sim.deliver(sim.signed(stage_change(sim, no_email, sim.stage_for("pkg-1"))))
    assert missing.status_code == 422 and "no email" in missing.json()["message"]
    assert orders_of(hub, lever.tenant.integration_id) == []
    notices = notices_of(hub, lever.tenant.integration_id)
    assert len(notices) == 3 and all(n.startswith("Lever delivery refused") for n in notices)


def test_an_opportunity_lever_does_not_have_is_422_not_a_retried_502(lever: LeverHarness, hub: Hub) -> None:
    """Lever answers 404 for GET /opportunities/{id}: a retry would not find it either, so the hub answers a
    final 422 (and a notice), as for an opportunity without email, not a 502 that Lever would retry."""
    publish(lever, "pkg-1")
    sim = lever.sim
    opportunity = sim.new_opportunity()
    gone = sim.signed({**stage_change(sim, opportunity, sim.stage_for("pkg-1")), "opportunityId": "no-such-opp"})
    unknown = sim.deliver(gone)
    assert unknown.status_code == 422, unknown.text
    assert unknown.json()["code"] == "UnprocessableEntity"
    assert "'no-such-opp' does not exist at Lever (404" in unknown.json()["message"]
    (notice,) = notices_of(hub, lever.tenant.integration_id)
    assert "no-such-opp" in notice and "(422)" in notice
    assert orders_of(hub, lever.tenant.integration_id) == []


def integration_api_key(hub: Hub, lever: LeverHarness) -> str:
    with hub.sessions() as session:
        return integration_settings(session.get(IntegrationRow, lever.tenant.integration_id), hub.settings.cipher)[
            "api_key"
        ]


# ---------------------------------------------------------------------- write-back


def test_one_note_per_completed_revision(lever: LeverHarness, hub: Hub) -> None:
    publish(lever, "pkg-1")
    order_id = lever.place_order("pkg-1", "ada@example.com")
    opened = put(lever, order_id, status="OPEN", score=1, max_score=50)
    assert any("OPEN" in w.message for w in opened.warnings)
    wait_until(lambda: [r for r in _writebacks(hub, order_id) if r.state == "succeeded"], what="the OPEN write-back")
    assert lever.notes(order_id) == []  # nothing sent for OPEN
    response = put(
        lever,
        order_id,
        status="COMPLETED",
        score=41,
        max_score=50,
        completed_at="2024-05-01T10:00:00Z",
        attributes=[
            {"type": "TEXT", "label": "Summary", "value": "Solid"},
            {
                "type": "SUB_RESULT",
                "id": "l",
                "label": "Logic",
                "score": {"value": 9, "max": 10},
                "status": "COMPLETED",
            },
        ],
    )
    assert any("SUB_RESULT" in w.message for w in response.warnings)
    (note,) = wait_until(lambda: lever.notes(order_id), timeout=20, what="the note")
    assert note["value"] == (
        "Assessment completed (package pkg-1)\n"
        "Score: 41/50\n"
        "Completed at: 2024-05-01T10:00:00.000Z\n"
        f"Result: https://vendor.example/results/{order_id}\n"
        "Summary: Solid\n"
        "Logic: 9/10 (90%)"
    )
    assert set(note) == {"id", "value"} and note_problems({"value": note["value"]}) == []
    put(lever, order_id, status="COMPLETED", score=45, max_score=50, completed_at="2024-05-01T10:00:00Z")
    first, second = wait_until(lambda: len(lever.notes(order_id)) == 2 and lever.notes(order_id), what="note 2")
    assert "Score: 45/50" in second["value"] and first["value"] == note["value"]
    (post, *_) = [r for r in lever.sim.received if r.method == "POST"]
    assert post.path == f"/v1/opportunities/{lever.opportunities[order_id]}/notes"
    assert post.headers["content-type"] == "application/json"


def test_the_simulator_refuses_what_lever_would() -> None:
    assert note_problems({"text": "x"}) and note_problems({"value": ""}) and note_problems([])
    assert note_problems({"value": "x", "score": 5}) and note_problems({"value": "x", "colour": "red"})
    assert note_problems({"value": "x", "secret": False, "score": 3}) == []
    assert note_result("Assessment completed (package p)\nScore: 41/50") == {
        "status": "COMPLETED",
        "score": 41,
        "max_score": 50,
    }


# ---------------------------------------------------------------------- settings and set-up


def test_settings_are_checked() -> None:
    prepared = LeverConnector.prepare_settings({"api_key": "k", "stage_packages": " s1 = p1 , s2=p2 "})
    assert prepared == {"api_key": "k", "stage_packages": "s1=p1,s2=p2", "api_base_url": "https://api.lever.co/v1"}
    for bad, key in (
        ({}, "api_key"),
        ({"api_key": "k", "stage_packages": "s1"}, "stage_packages"),
        ({"api_key": "k", "stage_packages": "s1=a,s1=b"}, "stage_packages"),
        ({"api_key": "k", "api_base_url": "ftp://x"}, "api_base_url"),
        ({"api_key": "k", "colour": "red"}, "colour"),
    ):
        with pytest.raises(SettingsError, match=key):
            LeverConnector.prepare_settings(bad)
    assert connector_class("lever") is LeverConnector


@pytest.mark.subprocess
def test_cli_create_then_update_the_signature_token(tmp_path: Path) -> None:
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
        "integrations", "create", "--tool", "lever", "--organization", "Acme",
        "--setting", "api_key=lever-key", "--setting", "stage_packages=st1=pkg-1", "--json",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    out = json.loads(created.stdout)
    assert out["tool"] == "lever" and out["setup"] == {
        "webhook_url": "https://hub.example.com/connectors/lever/" + out["id"].split(":", 1)[1] + "/webhook"
    }
    updated = run("integrations", "update", out["id"], "--setting", "signature_token=tok")
    assert updated.returncode == 0, updated.stderr
    shown = json.loads(run("integrations", "show", out["id"], "--json").stdout)
    assert shown["setup"] == out["setup"]
    missing = run("integrations", "create", "--tool", "lever", "--organization", "Acme", "--json")
    assert missing.returncode != 0 and "api_key" in (missing.stderr + missing.stdout)
