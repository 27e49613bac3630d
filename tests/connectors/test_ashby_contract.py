"""The connector contract for Ashby, driven through ``FakeAshby``; plus Ashby's own protocol rules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select

from assessment_hub.assessment.models import OrderRow
from assessment_hub.connectors.ashby import mapping
from assessment_hub.connectors.ashby.connector import AshbyConnector
from assessment_hub.connectors.ashby.writeback import classify_failure, fold_timestamps
from assessment_hub.connectors.base import (
    ConfigError,
    RemoteInputError,
    RetryableError,
    SettingsError,
)
from assessment_hub.connectors.inbound import integration_base_url
from assessment_hub.connectors.registry import connector_class
from assessment_hub.delivery.models import OutboxRow
from tests.connectors.contract import ConnectorContract, _writebacks
from tests.fakes._base import basic_auth_value
from tests.fakes.ashby import AshbyRefusal, FakeAshby
from tests.receiver import vendor_receiver
from tests.support import Hub, Tenant, wait_until

pytestmark = pytest.mark.live  # the fake ATS calls the hub over a socket

ASHBY_KEY = "ashby-customer-key"


class AshbyHarness:
    def __init__(self, hub: Hub, fake: FakeAshby) -> None:
        self.hub, self.fake = hub, fake
        self.tenant: Tenant = hub.new_tenant(
            "ashby",
            settings={
                "api_key": ASHBY_KEY,
                "api_base_url": fake.api_base_url,
                "allowed_callback_hosts": urlsplit(fake.api_base_url).netloc,
            },
        )
        with hub.sessions() as session:
            from assessment_hub.integrations.models import IntegrationRow
            from assessment_hub.integrations.service import integration_settings

            settings = integration_settings(
                session.get(IntegrationRow, self.tenant.integration_id), hub.settings.cipher
            )
        self.setup = AshbyConnector.setup(settings, integration_base_url(hub.base_url, self.tenant.integration_id))
        fake.base_url, fake.api_key = self.setup["base_url"], self.setup["api_key"]

    def ats_packages(self) -> list[str]:
        return [r["assessment_type_id"] for r in self.fake.list_assessments()]

    def place_order(self, package_id: str, email: str) -> str:
        return self.fake.start_assessment(package_id, candidate={"email": email})["assessment_id"]

    def shown(self, order_id: str) -> dict[str, Any] | None:
        state = self.fake.assessments.get(order_id)
        if not state or not state["updates"]:
            return None
        attachments = sum(1 for i in state["metadata"] if i.startswith("attachment"))
        url = state["profile_url"]["value"] if state["profile_url"] else None
        reason = state["cancelled_reason"]
        if reason is not None:
            status = "rejected" if reason["label"] == mapping.REJECTED_LABEL else "cancelled"
            return {
                "status": status,
                "score": None,
                "url": url,
                "attachments": attachments,
                "message": reason["value"] if status == "rejected" else None,
            }
        result = state["result"]
        if result is not None:
            score = result["value"] if result["type"] == "numeric_score" else None
            return {"status": "completed", "score": score, "url": url, "attachments": attachments, "message": None}
        return {"status": "open", "score": None, "url": url, "attachments": attachments, "message": None}

    def cancel(self, order_id: str) -> None:
        self.fake.cancel_assessment(order_id)

    def outage(self, mode: str) -> None:
        self.fake.set_mode(mode)

    def break_credentials(self) -> None:
        self.fake.ashby_api_key = "a-key-the-customer-revoked"


@pytest.fixture
def ashby(hub: Hub) -> Iterator[AshbyHarness]:
    with FakeAshby(api_key="unset", ashby_api_key=ASHBY_KEY) as fake:
        yield AshbyHarness(hub, fake)


class TestAshbyConnectorContract(ConnectorContract):
    tool = "ashby"

    @pytest.fixture
    def harness(self, ashby: AshbyHarness) -> AshbyHarness:
        return ashby


# ---------------------------------------------------------------- helpers


def publish(h: AshbyHarness, *ids: str) -> None:
    ConnectorContract.publish(h, *ids)


def put(h: AshbyHarness, order_id: str, **body: Any) -> Any:
    return ConnectorContract.result(h, order_id, **body)


def updates_after(h: AshbyHarness, order_id: str, count: int) -> list[dict[str, Any]]:
    return wait_until(
        lambda: len(h.fake.assessments[order_id]["updates"]) >= count and h.fake.assessments[order_id]["updates"],
        timeout=20,
        what=f"{count} Ashby update(s)",
    )


def stored_order(hub: Hub, order_id: str) -> OrderRow:
    with hub.sessions() as session:
        return session.scalar(select(OrderRow).where(OrderRow.id == order_id))


# ---------------------------------------------------------------- inbound: auth and errors


def test_inbound_refuses_a_wrong_or_missing_key_in_ashbys_shape(ashby: AshbyHarness) -> None:
    for headers in (
        {"Authorization": basic_auth_value("wrong")},
        {"Authorization": ""},
        {"Authorization": "Bearer wrong"},
    ):
        response = ashby.fake.raw_call("assessment.list", {}, headers=headers)
        assert response.status_code == 401
        body = response.json()
        assert body["success"] is False and body["errorInfo"]["code"] == "unauthorized"
    response = ashby.fake.raw_call("assessment.start", ashby.fake.start_body("pkg-1"), api_key="wrong")
    assert response.status_code == 401


def test_inbound_accepts_bearer_as_well_as_basic(ashby: AshbyHarness) -> None:
    publish(ashby, "pkg-1")
    ashby.fake.auth_scheme = "bearer"
    assert [r["assessment_type_id"] for r in ashby.fake.list_assessments()] == ["pkg-1"]


def test_inbound_unknown_integration_endpoint_and_method_answer_like_ashby(ashby: AshbyHarness, hub: Hub) -> None:
    with httpx.Client(timeout=10) as client:
        gone = client.post(
            f"{hub.base_url}/connectors/ashby/{'x' * 24}/assessment.list",
            json={},
            headers={"Authorization": basic_auth_value(ashby.setup["api_key"])},
        )
        assert gone.status_code == 404 and gone.json()["success"] is False
        wrong_method = client.get(ashby.setup["base_url"] + "/assessment.list")
        assert wrong_method.status_code == 405 and wrong_method.json()["success"] is False
    unknown = ashby.fake.raw_call("assessment.customField.list", {})
    assert unknown.status_code == 404 and unknown.json()["success"] is False


def test_start_refusals_are_409_and_422_with_a_message(ashby: AshbyHarness) -> None:
    publish(ashby, "pkg-1")
    with pytest.raises(AshbyRefusal) as unknown:
        ashby.fake.start_assessment("no-such-package")
    assert unknown.value.status == 422 and "no-such-package" in unknown.value.message
    body = ashby.fake.start_body("pkg-1")
    del body["candidate"]["email"]
    response = ashby.fake.raw_call("assessment.start", body)
    assert response.status_code == 422 and "candidate.email" in response.json()["message"]
    response = ashby.fake.raw_call(
        "assessment.start", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422 and response.json()["message"]

    candidate = {"ashby_id": str(uuid.uuid4()), "email": "twice@example.com"}
    ashby.fake.start_assessment("pkg-1", candidate=candidate)
    with pytest.raises(AshbyRefusal) as busy:  # another application, same candidate and package
        ashby.fake.start_assessment("pkg-1", candidate=candidate)
    assert busy.value.status == 409


def test_a_repeated_start_is_the_same_assessment(ashby: AshbyHarness, hub: Hub) -> None:
    """Ashby retrying a start whose answer it lost gets the same assessment: one order, one webhook."""
    publish(ashby, "pkg-1")
    body = ashby.fake.start_body("pkg-1")
    with vendor_receiver(hub, events=["assessment:order-received"]) as receiver:
        first = ashby.fake.raw_call("assessment.start", body).json()["results"]["assessment_id"]
        again = ashby.fake.raw_call("assessment.start", body)
        assert again.status_code == 200 and again.json()["results"]["assessment_id"] == first
        wait_until(lambda: receiver.events_for(first), what="order-received")
        with hub.sessions() as session:
            orders = session.scalars(
                select(OrderRow).where(OrderRow.integration_id == ashby.tenant.integration_id)
            ).all()
            events = session.scalars(
                select(OutboxRow).where(OutboxRow.order_id == first, OutboxRow.kind == "webhook")
            ).all()
    assert len(orders) == 1 and len(events) == 1 and len(receiver.events_for(first)) == 1


def test_the_order_keeps_ashby_ids_the_raw_payload_and_maps_the_fields(ashby: AshbyHarness, hub: Hub) -> None:
    publish(ashby, "pkg-1")
    body = ashby.fake.start_body(
        "pkg-1",
        job={
            "hiringTeam": [
                {
                    "email": "r@example.com",
                    "firstName": "Rita",
                    "lastName": "Cruiter",
                    "role": "Recruiter",
                    "userId": "u1",
                },
                {
                    "email": "h@example.com",
                    "firstName": "Hilda",
                    "lastName": "Manager",
                    "role": "Hiring Manager",
                    "userId": "u2",
                },
                {"email": "i@example.com", "role": "Interviewer", "userId": "u3"},
            ]
        },
    )
    order_id = ashby.fake.raw_call("assessment.start", body).json()["results"]["assessment_id"]
    order = ashby.tenant.order(order_id)
    assert order["package_id"] == "pkg-1" and order["status"] == "OPEN"
    assert order["candidate"] == {
        "remote_id": body["candidate"]["ashby_id"],
        "email": "grace@example.com",
        "first_name": "Grace",
        "last_name": "Hopper",
        "phone": None,
    }
    assert order["application"]["remote_id"] == body["application"]["ashby_id"]
    job = order["job"]
    assert (job["remote_id"], job["name"], job["job_code"], job["description"]) == (
        body["job"]["ashby_id"],
        "Backend Engineer",
        "REQ-42",
        None,
    )
    assert [(m["remote_id"], m["hiring_team_roles"]) for m in job["hiring_team"]] == [
        ("u1", ["RECRUITER"]),
        ("u2", ["HIRING_MANAGER"]),
        ("u3", []),
    ]
    assert stored_order(hub, order_id).remote_data == body


# ---------------------------------------------------------------- write-back


def test_completed_result_blobs(ashby: AshbyHarness) -> None:
    publish(ashby, "pkg-1")
    order_id = ashby.place_order("pkg-1", "ada@example.com")
    response = put(
        ashby,
        order_id,
        status="COMPLETED",
        score=80,
        max_score=100,
        completed_at="2024-05-01T10:00:00Z",
        attributes=[
            {"type": "TEXT", "label": "Summary", "value": "Solid"},
            {"type": "TEXT", "label": "Summary", "value": "again"},
            {
                "type": "SUB_RESULT",
                "id": "logic",
                "label": "Logic",
                "score": {"value": 40, "max": 50},
                "status": "COMPLETED",
            },
            {
                "type": "SUB_RESULT",
                "id": "comm",
                "label": "Communication",
                "score": {"value": 0, "max": 10},
                "status": "CANCELLED",
            },
        ],
    )
    assert any("SUB_RESULT" in w.message for w in response.warnings)
    (update,) = updates_after(ashby, order_id, 1)
    assert update["assessment_status"]["value"] == "Completed"
    assert update["assessment_result"] == {
        "identifier": "score",
        "label": "Score",
        "type": "numeric_score",
        "value": 80,
    }
    assert update["assessment_profile_url"]["value"] == "https://vendor.example/results/" + order_id
    meta = {b["identifier"]: (b["label"], b["type"], b["value"]) for b in update["metadata"]}
    assert meta == {
        "max_score": ("Max score", "numeric_score", 100),
        "completed_at": ("Completed at", "string", "2024-05-01T10:00:00.000Z"),
        "attr-summary": ("Summary", "string", "Solid"),
        "attr-summary-2": ("Summary", "string", "again"),
        "sub-logic": ("Logic", "string", "40/50 (80%)"),
        "sub-comm": ("Communication", "string", "cancelled"),
    }


def test_score_less_result_cancelled_result_and_open_result(ashby: AshbyHarness) -> None:
    publish(ashby, "pkg-1")
    open_id = ashby.place_order("pkg-1", "a@example.com")
    response = put(ashby, open_id, status="OPEN", score=3)
    assert any("OPEN" in w.message for w in response.warnings)
    (update,) = updates_after(ashby, open_id, 1)
    assert update["assessment_status"]["value"] == "Started" and "assessment_result" not in update

    done_id = ashby.place_order("pkg-1", "b@example.com")
    put(ashby, done_id, status="COMPLETED", completed_at="2024-05-01T10:00:00Z")
    (update,) = updates_after(ashby, done_id, 1)
    assert update["assessment_result"] == {
        "identifier": "result",
        "label": "Result",
        "type": "string",
        "value": "Completed",
    }

    cancelled_id = ashby.place_order("pkg-1", "c@example.com")
    put(ashby, cancelled_id, status="CANCELLED", completed_at="2024-05-01T10:00:00Z")
    (update,) = updates_after(ashby, cancelled_id, 1)
    assert update["cancelled_reason"]["label"] == mapping.CANCELLED_LABEL and "assessment_result" not in update
    assert ashby.shown(cancelled_id)["status"] == "cancelled"


def test_timestamps_are_integer_ms_strictly_increasing_per_revision(ashby: AshbyHarness, hub: Hub) -> None:
    publish(ashby, "pkg-1")
    order_id = ashby.place_order("pkg-1", "a@example.com")
    put(ashby, order_id, status="OPEN")
    put(ashby, order_id, status="COMPLETED", score=1, completed_at="2024-05-01T10:00:00Z")
    put(ashby, order_id, status="COMPLETED", score=2, completed_at="2024-05-01T10:00:00Z")
    updates = updates_after(ashby, order_id, 3)
    stamps = [u["timestamp"] for u in updates]
    assert all(isinstance(s, int) and s > 10**12 for s in stamps)
    assert stamps == sorted(set(stamps))
    assert ashby.shown(order_id)["score"] == 2


def test_a_late_retry_of_an_older_revision_is_stamped_older_than_the_newer_one(ashby: AshbyHarness, hub: Hub) -> None:
    """The operator retries revision 1 after revision 2 reached Ashby: its timestamp is the one it always
    had, so Ashby refuses it as stale instead of taking the old score as the newest."""
    from assessment_hub.assessment.models import ResultRevisionRow
    from assessment_hub.db.session import unit_of_work
    from assessment_hub.delivery.outbox import enqueue_writeback

    publish(ashby, "pkg-1")
    order_id = ashby.place_order("pkg-1", "a@example.com")
    put(ashby, order_id, status="COMPLETED", score=1, completed_at="2024-05-01T10:00:00Z")
    updates_after(ashby, order_id, 1)
    put(ashby, order_id, status="COMPLETED", score=2, completed_at="2024-05-01T10:00:00Z")
    first, second = updates_after(ashby, order_id, 2)
    with unit_of_work(hub.sessions) as session:
        rev1 = session.scalar(
            select(ResultRevisionRow.id).where(ResultRevisionRow.order_id == order_id, ResultRevisionRow.revision == 1)
        )
        enqueue_writeback(
            session, integration_id=ashby.tenant.integration_id, order_id=order_id, action="result", revision_id=rev1
        )
    wait_until(lambda: [r for r in _writebacks(hub, order_id) if r.state == "dead"], what="the stale retry refused")
    stale = [r for r in ashby.fake.rejected if r.json and r.json.get("assessment_id") == order_id]
    assert stale and stale[-1].json["timestamp"] == first["timestamp"] < second["timestamp"]
    assert ashby.shown(order_id)["score"] == 2


def test_fold_timestamps_bumps_equal_and_backwards_instants() -> None:
    t = datetime(2024, 5, 1, tzinfo=UTC)
    assert fold_timestamps([t, t, t - timedelta(seconds=1), t + timedelta(seconds=5)]) == [
        1714521600000,
        1714521600001,
        1714521600002,
        1714521605000,
    ]


def test_success_false_on_http_200_is_a_failure(ashby: AshbyHarness, hub: Hub) -> None:
    """An update Ashby refuses with HTTP 200 ``success: false`` is not a success: here the assessment is
    unknown to Ashby (it was created by another hub), so it is bad input and parked dead at once."""
    publish(ashby, "pkg-1")
    order_id = ashby.place_order("pkg-1", "a@example.com")
    ashby.fake.assessments.pop(order_id)
    put(ashby, order_id, status="COMPLETED", score=1, completed_at="2024-05-01T10:00:00Z")
    (row,) = wait_until(lambda: [r for r in _writebacks(hub, order_id) if r.state == "dead"], what="dead")
    assert row.attempts == 1 and "not found" in (row.last_error or "")
    assert ashby.fake.rejected[-1].status == 200


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        ({"code": "invalid_credentials", "message": "Invalid API key"}, ConfigError),
        (
            {
                "code": "application_not_found",
                "message": "Application not found - are you lacking permissions to edit candidates?",
            },
            ConfigError,
        ),
        ({"code": "rate_limit_exceeded", "message": "slow down"}, RetryableError),
        ({"code": "internal_error", "message": "oops"}, RetryableError),
        ({"code": "invalid_input", "message": "timestamp 1 is not after the previous update's 2"}, RemoteInputError),
        ({}, RemoteInputError),
    ],
)
def test_success_false_error_classes(info: dict[str, str], expected: type) -> None:
    assert type(classify_failure(info, "")) is expected


def test_the_vendor_gets_order_cancelled_when_ashby_cancels(ashby: AshbyHarness, hub: Hub) -> None:
    publish(ashby, "pkg-1")
    with vendor_receiver(hub, events=["assessment:order-cancelled"]) as receiver:
        order_id = ashby.place_order("pkg-1", "a@example.com")
        assert ashby.fake.cancel_assessment(order_id) == {"assessment_id": order_id}
        (delivery,) = wait_until(lambda: receiver.events_for(order_id), what="order-cancelled")
        assert receiver.all_verified()
    assert delivery.event["type"] == "assessment:order-cancelled"
    assert delivery.event["data"]["status"] == "CANCELLED"
    assert ashby.fake.cancel_assessment(order_id) == {"assessment_id": order_id}  # again: still fine
    with pytest.raises(AshbyRefusal):
        ashby.fake.cancel_assessment("no-such-assessment")
    done = ashby.place_order("pkg-1", "b@example.com")
    put(ashby, done, status="COMPLETED", score=1, completed_at="2024-05-01T10:00:00Z")
    with pytest.raises(AshbyRefusal) as refused:
        ashby.fake.cancel_assessment(done)
    assert "completed" in refused.value.message


def test_warnings_name_what_ashby_cannot_show(ashby: AshbyHarness) -> None:
    publish(ashby, "pkg-1")
    order_id = ashby.place_order("pkg-1", "a@example.com")
    response = put(
        ashby,
        order_id,
        status="COMPLETED",
        score=1,
        completed_at="2024-05-01T10:00:00Z",
        remote_fields={"recruitee": {"subtitle": "x"}},
        attachments=[{"name": "report.pdf", "content_type": "application/pdf", "data": "JVBERg=="}],
    )
    messages = [w.message for w in response.warnings]
    assert any("attachments" in m and "report.pdf" in m for m in messages), messages
    assert any("remote_fields" in m for m in messages), messages


def test_non_http_result_url_is_warned_and_not_sent(ashby: AshbyHarness, hub: Hub) -> None:
    publish(ashby, "pkg-1")
    order_id = ashby.place_order("pkg-1", "a@example.com")
    response = put(
        ashby,
        order_id,
        status="COMPLETED",
        score=1,
        completed_at="2024-05-01T10:00:00Z",
        result_url="urn:vendor:result:1",
    )
    assert any("http(s) result_url" in w.message for w in response.warnings)
    (row,) = wait_until(lambda: [r for r in _writebacks(hub, order_id) if r.state == "dead"], what="dead")
    assert "result_url" in (row.last_error or "")
    assert not ashby.fake.assessments[order_id]["updates"]


def test_writeback_headers(ashby: AshbyHarness) -> None:
    publish(ashby, "pkg-1")
    order_id = ashby.place_order("pkg-1", "a@example.com")
    put(ashby, order_id, status="OPEN")
    updates_after(ashby, order_id, 1)
    (request,) = [r for r in ashby.fake.received if r.path == "/assessment.update"]
    assert request.headers["authorization"] == basic_auth_value(ASHBY_KEY)
    assert request.headers["accept"] == "application/json; version=1"
    assert request.headers["user-agent"].startswith("assessment-hub/")


# ---------------------------------------------------------------- settings and set-up


def test_prepare_settings() -> None:
    prepared = AshbyConnector.prepare_settings({"api_key": "k"})
    assert prepared["api_base_url"] == "https://api.ashbyhq.com" and prepared["inbound_api_key"]
    assert prepared["inbound_api_key"] != AshbyConnector.prepare_settings({"api_key": "k"})["inbound_api_key"]
    for bad, key in (
        ({}, "api_key"),
        ({"api_key": "k", "api_base_url": "ftp://x"}, "api_base_url"),
        ({"api_key": "k", "colour": "red"}, "colour"),
    ):
        with pytest.raises(SettingsError, match=key):
            AshbyConnector.prepare_settings(bad)
    assert connector_class("ashby") is AshbyConnector


@pytest.mark.subprocess
def test_cli_integrations_create_ashby_json(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "ASSESSMENT_HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "ASSESSMENT_HUB_PUBLIC_BASE_URL": "https://hub.example.com",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src"),
    }

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "assessment_hub.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    migrated = run("migrate")
    assert migrated.returncode == 0, migrated.stderr
    created = run(
        "integrations",
        "create",
        "--tool",
        "ashby",
        "--organization",
        "Acme",
        "--setting",
        "api_key=ashby-key",
        "--json",
    )
    assert created.returncode == 0, created.stderr
    out = json.loads(created.stdout)
    assert set(out) == {"id", "tool", "setup"} and out["tool"] == "ashby" and out["id"].startswith("ashby:")
    assert set(out["setup"]) == {"base_url", "api_key"}
    assert out["setup"]["base_url"] == "https://hub.example.com/connectors/ashby/" + out["id"].split(":", 1)[1]
    assert out["setup"]["api_key"] != "ashby-key"
    missing = run("integrations", "create", "--tool", "ashby", "--organization", "Acme", "--json")
    assert missing.returncode != 0 and "api_key" in (missing.stderr + missing.stdout)
