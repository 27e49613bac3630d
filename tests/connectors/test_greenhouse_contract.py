"""The connector contract for Greenhouse, driven through ``FakeGreenhouse``; then Greenhouse's own rules
(auth, idempotent ``send_test``, ``test_status`` mapping, warnings, refused callback hosts, ``response_error``)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select

from assessment_hub.connectors.greenhouse.connector import GreenhouseConnector
from assessment_hub.connectors.inbound import integration_base_url
from assessment_hub.delivery.models import OutboxRow
from assessment_hub.integrations.service import get_integration, integration_settings
from tests.connectors.contract import ConnectorContract
from tests.fakes.greenhouse import SETUP_KEYS, FakeGreenhouse, ProtocolViolation
from tests.support import Hub, Tenant, wait_until

pytestmark = pytest.mark.live  # the fake ATS calls the hub over a socket

STATUS_SHOWN = {"complete": "completed", "in_progress": "open", "cancelled": "cancelled", "rejected": "rejected"}


class GreenhouseHarness:
    """One Greenhouse customer: a hub integration and a ``FakeGreenhouse`` configured with its setup values."""

    def __init__(self, hub: Hub, fake: FakeGreenhouse, *, allow_fake: bool = True) -> None:
        self.hub = hub
        self.fake = fake
        host = urlsplit(fake.server_url).netloc  # 127.0.0.1:PORT
        self.tenant: Tenant = hub.new_tenant("greenhouse", {"allowed_callback_hosts": host} if allow_fake else {})
        self.setup = GreenhouseConnector.setup(
            self.settings, integration_base_url(hub.base_url, self.tenant.integration_id)
        )
        # The fake's server had to run before the integration existed (its port goes into
        # allowed_callback_hosts); give it the setup values now, as from_setup() would.
        for key in SETUP_KEYS:
            setattr(fake, key, self.setup[key])

    @property
    def settings(self) -> dict[str, Any]:
        with self.hub.sessions() as session:
            return integration_settings(get_integration(session, self.tenant.integration_id), self.hub.settings.cipher)

    # -- the Harness protocol ------------------------------------------------
    def ats_packages(self) -> list[str]:
        return [t["partner_test_id"] for t in self.fake.list_tests()]

    def place_order(self, package_id: str, email: str) -> str:
        return self.fake.send_test(package_id, email=email)

    def shown(self, order_id: str) -> dict[str, Any] | None:
        """What Greenhouse pulled after the hub's latest PATCH."""
        pulled = self.fake.pulled.get(order_id)
        if not pulled:
            return None
        last = pulled[-1]
        status = STATUS_SHOWN.get(last["partner_status"], last["partner_status"])
        return {
            "status": status,
            "score": last.get("partner_score"),
            "url": last.get("partner_profile_url"),
            "attachments": 0,
            "message": None,
        }

    def cancel(self, order_id: str) -> None:
        raise NotImplementedError("Greenhouse cannot cancel a take-home test")

    def outage(self, mode: str) -> None:
        self.fake.set_mode(mode)

    def break_credentials(self) -> None:
        self.fake.set_mode("401")


@pytest.fixture
def fake() -> Iterator[FakeGreenhouse]:
    with FakeGreenhouse(api_key="not-yet-configured", timeout=10) as running:
        yield running


@pytest.fixture
def harness(hub: Hub, fake: FakeGreenhouse) -> GreenhouseHarness:
    return GreenhouseHarness(hub, fake)


class TestGreenhouseConnectorContract(ConnectorContract):
    tool = "greenhouse"


# ====================================================================== Greenhouse's own rules


def _patches(fake: FakeGreenhouse) -> list[Any]:
    return [r for r in fake.received if r.method == "PATCH"]


def _publish(harness: GreenhouseHarness, *ids: str) -> None:
    ConnectorContract.publish(harness, *ids)


def _result(harness: GreenhouseHarness, order_id: str, **body: Any) -> Any:
    body.setdefault("result_url", "https://vendor.example/results/" + order_id)
    return harness.tenant.sdk().assessment.update_order_result(assessment_order_id=order_id, **body)


def test_setup_values_and_settings(harness: GreenhouseHarness) -> None:
    base = integration_base_url(harness.hub.base_url, harness.tenant.integration_id)
    assert harness.setup == {
        "list_tests_url": base + "/list_tests",
        "send_test_url": base + "/send_test",
        "test_status_url": base + "/test_status",
        "response_error_url": base + "/response_error",
        "api_key": harness.settings["api_key"],
    }
    assert 0 < len(harness.setup["api_key"]) < 171


def test_prepare_settings_refuses_what_greenhouse_cannot_use() -> None:
    from assessment_hub.connectors.base import SettingsError

    assert len(GreenhouseConnector.prepare_settings({})["api_key"]) == 40
    assert GreenhouseConnector.prepare_settings({"api_key": "k" * 170})["api_key"] == "k" * 170
    for given, key in [
        ({"api_key": "k" * 171}, "api_key"),
        ({"api_key": "a:b"}, "api_key"),
        ({"allowed_callback_hosts": "https://x.example/"}, "allowed_callback_hosts"),
        ({"api_base_url": "https://x"}, "api_base_url"),
    ]:
        with pytest.raises(SettingsError, match=key):
            GreenhouseConnector.prepare_settings(given)


def test_inbound_auth_is_greenhouse_basic_with_the_integration_key(harness: GreenhouseHarness) -> None:
    fake, setup = harness.fake, harness.setup
    _publish(harness, "pkg-1")
    assert fake.list_tests() == [{"partner_test_id": "pkg-1", "partner_test_name": "Test pkg-1"}]
    for url, method in [
        (setup["list_tests_url"], "GET"),
        (setup["send_test_url"], "POST"),
        (setup["test_status_url"] + "?partner_interview_id=x", "GET"),
        (setup["response_error_url"], "POST"),
    ]:
        resp = fake.expect_error(fake.raw_request(method, url, api_key="wrong-key", json={}), 401)
        assert resp.headers["www-authenticate"].startswith("Basic")
        assert "message" in resp.json()
        with httpx.Client() as client:  # no credentials at all; a Bearer token is not Greenhouse's way
            fake.expect_error(client.request(method, url, json={}), 401)
            fake.expect_error(
                client.request(method, url, json={}, headers={"Authorization": f"Bearer {setup['api_key']}"}), 401
            )
    # Another integration's key does not open this one.
    with FakeGreenhouse(api_key="x") as other_fake:
        other = GreenhouseHarness(harness.hub, other_fake)
        fake.expect_error(fake.raw_request("GET", setup["list_tests_url"], api_key=other.setup["api_key"]), 401)
    # An unknown connection is a 404 in the same shape.
    unknown = setup["list_tests_url"].replace(harness.tenant.integration_id.split(":")[1], "X" * 24)
    assert fake.expect_error(fake.raw_request("GET", unknown), 404).json().keys() == {"message"}


def test_send_test_maps_the_order_and_keeps_greenhouse_ids(harness: GreenhouseHarness) -> None:
    fake = harness.fake
    _publish(harness, "12345")
    url = fake.new_take_home_test_url()
    order_id = fake.send_test(
        "12345",
        partner_test_id_as_number=True,
        first_name="Grace",
        last_name="Hopper",
        preferred_name="Amazing Grace",
        email="grace@example.com",
        phone_number="+1 555 0100",
        resume_url="https://files.example/resume.pdf",
        sent_by="recruiter@example.com",
        greenhouse_profile_url="https://app.greenhouse.io/people/17681532?application_id=26234709",
        url=url,
    )
    order = harness.tenant.order(order_id)
    assert order["package_id"] == "12345" and order["status"] == "OPEN"
    assert order["candidate"] == {
        "remote_id": "17681532",
        "email": "grace@example.com",
        "first_name": "Grace",
        "last_name": "Hopper",
        "phone": "+1 555 0100",
    }
    assert order["application"] == {"remote_id": "26234709"}
    assert order["job"] == {
        "remote_id": None,
        "name": None,
        "job_code": None,
        "description": None,
        "location": None,
        "hiring_team": [
            {
                "remote_id": None,
                "email": "recruiter@example.com",
                "first_name": None,
                "last_name": None,
                "hiring_team_roles": [],
            }
        ],
    }
    from assessment_hub.assessment.models import OrderRow

    with harness.hub.sessions() as session:
        remote = session.get(OrderRow, order_id).remote_data
    assert remote["url"] == url and remote["candidate"]["preferred_name"] == "Amazing Grace"
    assert remote["candidate"]["resume_url"] == "https://files.example/resume.pdf"
    assert remote["partner_test_id"] == 12345 and remote["hub"] == {"callback_allowed": True}


def test_send_test_is_idempotent_on_the_take_home_test_url(harness: GreenhouseHarness) -> None:
    fake = harness.fake
    _publish(harness, "pkg-1")
    url = fake.new_take_home_test_url()
    first = fake.send_test("pkg-1", url=url)
    assert fake.send_test("pkg-1", url=url) == first
    assert fake.send_test("pkg-1") != first  # another take-home test is another order
    with harness.tenant.client() as client:
        orders = client.get("/assessment/orders").json()["data"]["results"]
    assert len(orders) == 2


def test_a_reused_take_home_test_url_for_another_candidate_is_refused(harness: GreenhouseHarness) -> None:
    # Found in a user trial: the second order used to be answered with the first order's id, silently.
    fake = harness.fake
    _publish(harness, "pkg-1", "pkg-2")
    url = fake.new_take_home_test_url()
    first = fake.send_test("pkg-1", url=url)
    setup = harness.setup
    for body in (fake.send_test_body("pkg-1", email="eve@example.com", url=url), fake.send_test_body("pkg-2", url=url)):
        answer = fake.expect_error(fake.raw_request("POST", setup["send_test_url"], json=body), 409).json()
        assert first in answer["message"]
    with harness.tenant.client() as client:
        assert len(client.get("/assessment/orders").json()["data"]["results"]) == 1


def test_concurrent_retries_of_one_send_test_create_one_order(harness: GreenhouseHarness) -> None:
    from concurrent.futures import ThreadPoolExecutor

    fake = harness.fake
    _publish(harness, "pkg-1")
    body = fake.send_test_body("pkg-1")
    with ThreadPoolExecutor(6) as pool:
        answers = list(
            pool.map(lambda _: fake.raw_request("POST", harness.setup["send_test_url"], json=body), range(6))
        )
    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["partner_interview_id"] for a in answers}) == 1
    with harness.tenant.client() as client:
        assert len(client.get("/assessment/orders").json()["data"]["results"]) == 1


def test_send_test_refusals(harness: GreenhouseHarness) -> None:
    fake, setup = harness.fake, harness.setup
    _publish(harness, "pkg-1")
    unknown = fake.raw_request("POST", setup["send_test_url"], json=fake.send_test_body("nope"))
    assert fake.expect_error(unknown, 404).json()["message"].startswith("partner_test_id 'nope'")
    body = fake.send_test_body("pkg-1")
    del body["candidate"]["email"]
    bad = fake.expect_error(fake.raw_request("POST", setup["send_test_url"], json=body), 400).json()
    assert "candidate.email" in bad["message"]
    fake.expect_error(fake.raw_request("POST", setup["send_test_url"], content=b"not json"), 400)
    with harness.tenant.client() as client:
        assert client.get("/assessment/orders").json()["data"]["results"] == []


def test_send_test_tolerates_nulls_and_unknown_keys(harness: GreenhouseHarness) -> None:
    fake, setup = harness.fake, harness.setup
    _publish(harness, "pkg-1")
    body = fake.send_test_body("pkg-1", greenhouse_profile_url="https://app.greenhouse.io/people/77")
    body["candidate"]["greenhouse_profile_url"] = None
    body["new_greenhouse_key"] = {"anything": 1}
    resp = fake.raw_request("POST", setup["send_test_url"], json=body)
    assert resp.status_code == 200, resp.text
    order = harness.tenant.order(resp.json()["partner_interview_id"])
    assert order["candidate"]["remote_id"] is None and order["application"]["remote_id"] is None
    assert order["job"]["hiring_team"] == []


def test_test_status_answers_the_latest_result(harness: GreenhouseHarness) -> None:
    fake = harness.fake
    _publish(harness, "pkg-1")
    order_id = fake.send_test("pkg-1")
    assert fake.test_status(order_id) == {
        "partner_status": "in_progress",
        "partner_profile_url": None,
        "partner_score": None,
        "metadata": None,
    }
    fake.expect_error(
        fake.raw_request("GET", harness.setup["test_status_url"], params={"partner_interview_id": "unknown"}), 404
    )
    _result(harness, order_id, status="OPEN", score=10, max_score=100)
    interim = fake.wait_for_pull(order_id)
    assert interim["partner_status"] == "in_progress" and interim["partner_score"] == 10
    _result(
        harness,
        order_id,
        status="COMPLETED",
        score=87.5,
        max_score=100,
        completed_at="2024-05-01T12:00:00+02:00",
        attributes=[
            {"type": "TEXT", "label": "Summary", "value": "Strong"},
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
            {"type": "TEXT", "label": "Summary", "value": "Again"},
        ],
    )
    final = wait_until(
        lambda: (p := fake.pulled[order_id][-1])["partner_status"] == "complete" and p, what="the complete answer"
    )
    assert final == {
        "partner_status": "complete",
        "partner_profile_url": "https://vendor.example/results/" + order_id,
        "partner_score": 87.5,
        "metadata": {
            "Max Score": 100,
            "Completed At": "2024-05-01T10:00:00.000Z",
            "Summary": "Strong",
            "Logic": "40/50 (80%)",
            "Communication": "cancelled",
            "Summary (2)": "Again",
        },
    }
    assert fake.errors_reported == [] and fake.pull_errors == []


def test_each_revision_sends_one_bodyless_patch_with_basic_auth(harness: GreenhouseHarness) -> None:
    fake = harness.fake
    _publish(harness, "pkg-1")
    url = fake.new_take_home_test_url()
    order_id = fake.send_test("pkg-1", url=url)
    _result(harness, order_id, status="OPEN")
    _result(harness, order_id, status="COMPLETED", score=1, completed_at="2024-05-01T10:00:00Z")
    patches = wait_until(lambda: len(_patches(fake)) >= 2 and _patches(fake), what="two PATCHes")
    fake.wait_for_pull(order_id)
    wait_until(lambda: len(fake.pulled[order_id]) >= 2, what="two pulls")
    expected = "Basic " + base64.b64encode(f"{harness.setup['api_key']}:".encode()).decode()
    for patch in patches:
        assert fake.server_url + patch.path == url
        assert patch.body == b"" and patch.query == "" and patch.headers["authorization"] == expected
    assert fake.rejected == []


def test_warnings_say_what_greenhouse_cannot_show(harness: GreenhouseHarness) -> None:
    _publish(harness, "pkg-1")
    order_id = harness.fake.send_test("pkg-1")
    open_ = _result(harness, order_id, status="OPEN", result_url="http://localhost:8080/r/1")
    messages = [w.message for w in open_.warnings]
    assert any("does not show OPEN results" in m for m in messages)
    assert any("localhost" in m and "publicly reachable" in m for m in messages)
    private = _result(
        harness, order_id, status="COMPLETED", result_url="https://10.1.2.3/r/1", completed_at="2024-05-01T10:00:00Z"
    )
    assert any("10.1.2.3 is not a public IP address" in w.message for w in private.warnings)
    public = _result(harness, order_id, status="COMPLETED", completed_at="2024-05-01T10:00:00Z")
    assert [w.message for w in public.warnings] == []


def test_cancelled_result_is_not_complete_in_greenhouse(harness: GreenhouseHarness) -> None:
    _publish(harness, "pkg-1")
    order_id = harness.fake.send_test("pkg-1")
    response = _result(harness, order_id, status="CANCELLED", completed_at="2024-05-01T10:00:00Z")
    assert any("no cancelled state" in w.message for w in response.warnings)
    assert harness.fake.wait_for_pull(order_id)["partner_status"] == "cancelled"


def test_vendor_rejection_is_pulled_as_a_not_done_status(hub: Hub, harness: GreenhouseHarness) -> None:
    from tests.receiver import vendor_receiver

    _publish(harness, "pkg-1")
    with vendor_receiver(hub, events=["assessment:order-received"]) as receiver:
        receiver.answer = (422, '{"message": "Candidate email address is not valid"}')
        order_id = harness.fake.send_test("pkg-1")
        pulled = harness.fake.wait_for_pull(order_id, timeout=20)
    assert pulled == {
        "partner_status": "rejected",
        "partner_profile_url": None,
        "partner_score": None,
        "metadata": {"Rejected": "Candidate email address is not valid"},
    }


def test_refused_callback_host_takes_the_order_and_warns(hub: Hub) -> None:
    with FakeGreenhouse(api_key="x") as fake:
        harness = GreenhouseHarness(hub, fake, allow_fake=False)
        _publish(harness, "pkg-1")
        order_id = fake.send_test("pkg-1")  # url on 127.0.0.1:PORT, not a Greenhouse host, not allowed
        assert harness.tenant.order(order_id)["status"] == "OPEN"
        response = _result(harness, order_id, status="COMPLETED", score=1, completed_at="2024-05-01T10:00:00Z")
        messages = [w.message for w in response.warnings]
        assert any(order_id in m and "allowed_callback_hosts" in m for m in messages), messages
        # The notice is shown once.
        again = _result(harness, order_id, status="COMPLETED", score=2, completed_at="2024-05-01T10:00:00Z")
        assert not any("allowed_callback_hosts" in w.message for w in again.warnings)
        dead = wait_until(lambda: [r for r in _outbox(hub, order_id) if r.state == "dead"], what="parked write-back")
        assert "allowed_callback_hosts" in (dead[0].last_error or "")
        assert fake.requests == []  # the hub never called the refused host
        # Greenhouse's own hosts are callable without listing them.
        from assessment_hub.connectors.callbacks import callback_allowed
        from assessment_hub.connectors.greenhouse.writeback import GREENHOUSE_HOSTS

        assert callback_allowed(
            "https://app.greenhouse.io/integrations/testing_partners/take_home_tests/1", GREENHOUSE_HOSTS, {}
        )
        assert not callback_allowed("http://app.greenhouse.io/x", GREENHOUSE_HOSTS, {})
        assert not callback_allowed("https://greenhouse.io.evil.example/x", GREENHOUSE_HOSTS, {})


def test_response_error_reports_become_warnings_on_the_next_result(harness: GreenhouseHarness) -> None:
    fake = harness.fake
    _publish(harness, "pkg-1")
    order_id = fake.send_test("pkg-1")
    assert fake.response_error(
        "test_status",
        ["partner_status is 'complete' but partner_profile url is missing"],
        partner_interview_id=order_id,
    ) == {"status": 200}
    fake.response_error("list_tests", ["something else"])
    response = _result(harness, order_id, status="COMPLETED", score=3, completed_at="2024-05-01T10:00:00Z")
    messages = [w.message for w in response.warnings]
    assert any("test_status" in m and order_id in m and "partner_profile url is missing" in m for m in messages)
    assert any("list_tests" in m and "something else" in m for m in messages)
    bad = fake.raw_request("POST", harness.setup["response_error_url"], json={"errors": "not a list"})
    fake.expect_error(bad, 400)


def test_fake_catches_a_malformed_answer(harness: GreenhouseHarness) -> None:
    """Sanity check of the harness: the fake does raise on answers that break the protocol."""
    with pytest.raises(ProtocolViolation):
        harness.fake.test_status("unknown-id")


def _outbox(hub: Hub, order_id: str) -> list[OutboxRow]:
    with hub.sessions() as session:
        return list(
            session.scalars(select(OutboxRow).where(OutboxRow.order_id == order_id, OutboxRow.kind == "writeback"))
        )


@pytest.mark.subprocess
def test_cli_integrations_create_greenhouse_json(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "ASSESSMENT_HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'hub.db'}",
        "ASSESSMENT_HUB_PUBLIC_BASE_URL": "https://hub.example.com",
    }
    cli = [
        sys.executable,
        "-m",
        "assessment_hub.cli",
        "integrations",
        "create",
        "--tool",
        "greenhouse",
        "--organization",
        "Acme",
    ]
    done = subprocess.run(
        cli + ["--setting", "allowed_callback_hosts=gh.internal:8443", "--json"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out.keys() == {"id", "tool", "setup"} and out["tool"] == "greenhouse"
    assert out["id"].startswith("greenhouse:")
    base = f"https://hub.example.com/connectors/greenhouse/{out['id'].split(':', 1)[1]}"
    assert out["setup"] == {
        "list_tests_url": base + "/list_tests",
        "send_test_url": base + "/send_test",
        "test_status_url": base + "/test_status",
        "response_error_url": base + "/response_error",
        "api_key": out["setup"]["api_key"],
    }
    assert 0 < len(out["setup"]["api_key"]) < 171
    bad = subprocess.run(
        cli + ["--setting", "api_key=" + "k" * 171], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert bad.returncode == 1 and "api_key" in bad.stderr
