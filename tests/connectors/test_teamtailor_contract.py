"""The connector contract for Teamtailor, driven through ``FakeTeamtailor``, plus Teamtailor's own rules:
inbound auth and plain-string errors, signatures, idempotent retries, callback hosts, the field mapping,
warnings, attachment links and ``integrations create --tool teamtailor --json``."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select

from assessment_hub.assessment.models import OrderRow
from assessment_hub.connectors.inbound import integration_base_url
from assessment_hub.connectors.registry import connector_class
from assessment_hub.connectors.teamtailor import orders as tt_orders
from assessment_hub.delivery.models import OutboxRow
from assessment_hub.kit.links import attachment_link
from tests.connectors.contract import PDF, ConnectorContract
from tests.fakes.teamtailor import API_VERSION, JSONAPI, FakeTeamtailor, WebhookDelivery
from tests.receiver import vendor_receiver
from tests.support import Hub, Tenant, key_env, wait_until

pytestmark = pytest.mark.live  # the fake ATS calls the hub over a socket


class TeamtailorHarness:
    """Drives ``FakeTeamtailor`` (Teamtailor's side) against one hub integration."""

    def __init__(self, hub: Hub, fake: FakeTeamtailor, *, allow_fake_host: bool = True, **settings: str) -> None:
        self.hub = hub
        self.fake = fake
        host = urlsplit(fake.server_url).netloc
        given = {
            "api_key": fake.partner_api_key,
            "api_base_url": fake.server_url,
            **({"allowed_callback_hosts": host} if allow_fake_host else {}),
            **settings,
        }
        self.tenant: Tenant = hub.new_tenant("teamtailor", given)
        stored = self.stored_settings()
        self.setup = connector_class("teamtailor").setup(
            stored, integration_base_url(hub.base_url, self.tenant.integration_id)
        )
        # What the customer pastes into Teamtailor: the fake now calls the hub with it.
        fake.base_url = self.setup["base_url"]
        fake.provider_key = self.setup["provider_key"]
        fake.webhook_secret = stored.get("webhook_secret")
        self.result_ids: dict[str, str] = {}  # hub order id -> partner-result id

    def stored_settings(self) -> dict[str, Any]:
        from assessment_hub.integrations.models import IntegrationRow
        from assessment_hub.integrations.service import integration_settings

        with self.hub.sessions() as session:
            row = session.get(IntegrationRow, self.tenant.integration_id)
            return integration_settings(row, self.hub.settings.cipher)

    # -- Harness protocol ------------------------------------------------------
    def ats_packages(self) -> list[str]:
        config = self.fake.get_config()["config"]
        (field,) = [f for f in config["fields"] if f.get("id") == "test"]
        return [option["id"] for option in field["options"]]

    def send(self, package_id: str, email: str = "candidate@example.com", **kwargs: Any) -> WebhookDelivery:
        return self.fake.send_webhook(selection={"test": package_id}, email=email, **kwargs)

    def order_for(self, delivery: WebhookDelivery) -> str | None:
        with self.hub.sessions() as session:
            row = tt_orders.find_order(session, self.tenant.integration_id, delivery.partner_result_id)
            return row.id if row else None

    def place_order(self, package_id: str, email: str) -> str:
        delivery = self.send(package_id, email)
        assert delivery.delivered, (delivery.status_code, delivery.text)
        order_id = self.order_for(delivery)
        assert order_id
        self.result_ids[order_id] = delivery.partner_result_id
        return order_id

    def puts(self, order_id: str) -> list[Any]:
        rid = self.result_ids[order_id]
        return [r for r in self.fake.received if r.method == "PUT" and r.path.endswith("/" + rid)]

    def shown(self, order_id: str) -> dict[str, Any] | None:
        if not self.puts(order_id):
            return None  # nothing written back yet ("sent" is the fake's own state after the webhook)
        state = self.fake.results[self.result_ids[order_id]]
        status = {"sending": "open", "sent": "open", "pending": "open", "completed": "completed"}.get(state["status"])
        if status is None:  # failed
            status = "cancelled" if state.get("summary") == "Cancelled" else "rejected"
        return {
            "status": status,
            "score": (state.get("assessment") or {}).get("score"),
            "url": state.get("url"),
            "attachments": len(state.get("attachments") or []),
            "message": state.get("summary") if status == "rejected" else None,
        }

    def cancel(self, order_id: str) -> None:
        raise NotImplementedError("Teamtailor sends no cancellation to assessment partners")

    def outage(self, mode: str) -> None:
        self.fake.set_mode("503" if mode == "503" else "ok")

    def break_credentials(self) -> None:
        self.fake.partner_api_key = "revoked-partner-api-key"


@pytest.fixture
def fake() -> Iterator[FakeTeamtailor]:
    with FakeTeamtailor(provider_key="set-from-the-hub-setup", timeout=15) as server:
        yield server


class TestTeamtailorConnectorContract(ConnectorContract):
    tool = "teamtailor"

    @pytest.fixture
    def harness(self, hub: Hub, fake: FakeTeamtailor) -> TeamtailorHarness:
        return TeamtailorHarness(hub, fake)


# ---------------------------------------------------------------------- helpers


def publish(harness: TeamtailorHarness, *ids: str) -> None:
    ConnectorContract.publish(harness, *ids)


def put_result(harness: TeamtailorHarness, order_id: str, **body: Any) -> Any:
    return ConnectorContract.result(harness, order_id, **body)


def orders_of(hub: Hub, integration_id: str) -> list[OrderRow]:
    with hub.sessions() as session:
        return list(session.scalars(select(OrderRow).where(OrderRow.integration_id == integration_id)))


# ---------------------------------------------------------------------- inbound


def test_config_lists_packages_and_assessment_criteria(hub: Hub, fake: FakeTeamtailor) -> None:
    harness = TeamtailorHarness(hub, fake, assessment_criteria="logic=Logical reasoning,comm=Communication")
    empty = fake.get_config()["config"]  # nothing published yet: an error field, still a valid form
    assert [f["type"] for f in empty["fields"]] == ["error"]
    publish(harness, "pkg-1", "pkg-2")
    config = fake.get_config()["config"]
    (field,) = config["fields"]
    assert field["type"] == "select" and "_" not in field["id"]
    assert field["options"] == [{"id": "pkg-1", "label": "Test pkg-1"}, {"id": "pkg-2", "label": "Test pkg-2"}]
    assert config["assessment-criteria"] == [
        {"id": "logic", "label": "Logical reasoning"},
        {"id": "comm", "label": "Communication"},
    ]


def test_inbound_refuses_a_wrong_provider_key_with_a_plain_string(hub: Hub, fake: FakeTeamtailor) -> None:
    harness = TeamtailorHarness(hub, fake)
    publish(harness, "pkg-1")
    delivery = harness.send("pkg-1", provider_key="not-the-key")
    assert delivery.status_code == 401 and delivery.error_message == "Invalid provider key"
    assert fake.results[delivery.partner_result_id]["status"] == "failed"
    config = fake.raw_request("GET", fake.base_url + "/config", provider_key="wrong")
    assert config.status_code == 401 and config.headers["content-type"].startswith("text/plain")
    unknown = fake.raw_request("POST", fake.base_url.rsplit("/", 1)[0] + "/" + "X" * 24 + "/webhook", json={})
    assert unknown.status_code == 404 and unknown.headers["content-type"].startswith("text/plain")
    assert orders_of(hub, harness.tenant.integration_id) == []


def test_malformed_events_get_plain_string_errors(hub: Hub, fake: FakeTeamtailor) -> None:
    harness = TeamtailorHarness(hub, fake)
    publish(harness, "pkg-1")
    not_json = fake.raw_request(
        "POST", fake.base_url + "/webhook", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert (not_json.status_code, not_json.text) == (400, "The body is not JSON")
    no_event = fake.raw_request("POST", fake.base_url + "/webhook", json={"company": {}})
    assert no_event.status_code == 400 and no_event.text.startswith("Invalid partner event: partner-event")
    unknown = harness.send("pkg-9")
    assert (unknown.status_code, unknown.error_message) == (422, 'Unknown test "pkg-9"')
    no_choice = fake.send_webhook(webhook_data={})
    assert no_choice.status_code == 422 and '"test"' in (no_choice.error_message or "")
    no_result = fake.send_webhook(selection={"test": "pkg-1"}, include_partner_result=False)
    assert no_result.status_code == 422
    assert orders_of(hub, harness.tenant.integration_id) == []


def test_a_retried_event_makes_one_order(hub: Hub, fake: FakeTeamtailor) -> None:
    harness = TeamtailorHarness(hub, fake)
    publish(harness, "pkg-1")
    event = fake.make_event(selection={"test": "pkg-1"})
    with vendor_receiver(hub, events=["assessment:order-received"]) as receiver:
        first, second = fake.send_webhook(event), fake.send_webhook(event)
        assert first.delivered and second.delivered
        order_id = harness.order_for(first)
        wait_until(lambda: receiver.events_for(order_id), what="order-received")
        time.sleep(0.3)
        assert len(receiver.events_for(order_id)) == 1
    assert len(orders_of(hub, harness.tenant.integration_id)) == 1


def test_signatures_are_checked_when_a_webhook_secret_is_set(hub: Hub, fake: FakeTeamtailor) -> None:
    harness = TeamtailorHarness(hub, fake, webhook_secret="whsec-test-secret")
    publish(harness, "pkg-1")
    assert harness.send("pkg-1").delivered  # v1 valid; v0 (a different digest) is ignored
    unsigned = harness.send("pkg-1", sign=False)
    assert (unsigned.status_code, unsigned.error_message) == (401, "Missing Teamtailor-Signature header")
    wrong = harness.send("pkg-1", signature_secret="another-secret")
    assert wrong.status_code == 401 and "v1 does not match" in (wrong.error_message or "")
    stale = harness.send("pkg-1", signature_timestamp=int(time.time()) - 600)
    assert stale.status_code == 401 and "window" in (stale.error_message or "")
    assert len(orders_of(hub, harness.tenant.integration_id)) == 1


def test_order_mapping(hub: Hub, fake: FakeTeamtailor) -> None:
    harness = TeamtailorHarness(hub, fake)
    publish(harness, "pkg-1")
    delivery = harness.send(
        "pkg-1",
        "ada@example.com",
        candidate_id=777,
        job_id=4242,
        job_title="Backend dev",
        first_name="Ada",
        last_name="Lovelace",
        phone="+4670000000",
        locations=[{"name": "Stockholm", "address": "Åsögatan 18"}],
        recruiter={"name": "Edison van Kuhn", "email": "recruiter@example.com", "phone": "1"},
        company_inside_event=True,
    )
    order = harness.tenant.order(harness.order_for(delivery))
    assert order["package_id"] == "pkg-1" and order["status"] == "OPEN"
    assert order["candidate"] == {
        "remote_id": "777",
        "email": "ada@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "phone": "+4670000000",
    }
    assert order["application"] == {"remote_id": None}
    job = order["job"]
    assert (job["remote_id"], job["name"], job["job_code"], job["description"]) == ("4242", "Backend dev", None, None)
    assert job["location"]["raw"] == "Stockholm, Åsögatan 18" and job["location"]["city"] is None
    # The trigger's user (id 31) has the recruiter's email: their id is kept.
    assert job["hiring_team"] == [
        {
            "remote_id": "31",
            "email": "recruiter@example.com",
            "first_name": "Edison",
            "last_name": "van Kuhn",
            "hiring_team_roles": ["RECRUITER"],
        }
    ]
    with hub.sessions() as session:
        row = session.get(OrderRow, order["id"])
    assert row.remote_data["partner-event"] == delivery.event["partner-event"]
    assert row.remote_data["hub"] == {
        "partner_result_id": delivery.partner_result_id,
        "partner_event_id": delivery.event["partner-event"]["id"],
        "update_url": delivery.update_url,
    }


def test_refused_callback_host_takes_the_order_and_warns(hub: Hub, fake: FakeTeamtailor) -> None:
    harness = TeamtailorHarness(hub, fake, allow_fake_host=False)
    publish(harness, "pkg-1")
    order_id = harness.place_order("pkg-1", "ada@example.com")
    response = put_result(
        harness, order_id, status="COMPLETED", score=5, max_score=10, completed_at="2024-05-01T10:00:00Z"
    )
    assert any("allowed_callback_hosts" in w.message and order_id in w.message for w in response.warnings)
    (row,) = wait_until(lambda: [r for r in _writebacks(hub, order_id) if r.state == "dead"], what="dead write-back")
    assert "allowed_callback_hosts" in (row.last_error or "")
    assert harness.puts(order_id) == []  # the hub never called the refused host
    again = put_result(
        harness, order_id, status="COMPLETED", score=6, max_score=10, completed_at="2024-05-01T10:00:00Z"
    )
    assert not any("allowed_callback_hosts" in w.message for w in again.warnings)  # a notice is shown once


def _writebacks(hub: Hub, order_id: str) -> list[OutboxRow]:
    with hub.sessions() as session:
        return list(
            session.scalars(select(OutboxRow).where(OutboxRow.order_id == order_id, OutboxRow.kind == "writeback"))
        )


# ---------------------------------------------------------------------- write-back


def test_result_write_back_mapping(hub: Hub, fake: FakeTeamtailor) -> None:
    harness = TeamtailorHarness(hub, fake, assessment_criteria="logic=Logical reasoning")
    publish(harness, "pkg-1")
    order_id = harness.place_order("pkg-1", "ada@example.com")
    response = put_result(
        harness,
        order_id,
        status="COMPLETED",
        score=41,
        max_score=50,
        completed_at="2024-05-01T10:00:00Z",
        attributes=[
            {"type": "TEXT", "label": "Summary", "value": "Solid"},
            {
                "type": "SUB_RESULT",
                "id": "logic",
                "label": "Logic",
                "score": {"value": 40, "max": 50},
                "status": "COMPLETED",
            },
            {
                "type": "SUB_RESULT",
                "id": "other",
                "label": "Other",
                "score": {"value": 1, "max": 4},
                "status": "CANCELLED",
            },
        ],
        attachments=[{"name": "report.pdf", "content_type": "application/pdf", "data": base64.b64encode(PDF).decode()}],
    )
    messages = [w.message for w in response.warnings]
    assert any("41/50 is shown as 82" in m for m in messages), messages
    assert any("expire" in m for m in messages), messages
    wait_until(lambda: harness.puts(order_id), what="the PUT")
    (put,) = harness.puts(order_id)
    assert put.headers["x-api-version"] == API_VERSION and put.headers["content-type"] == JSONAPI
    assert put.headers["authorization"] == f"Bearer {fake.partner_api_key}"
    assert put.json["data"]["type"] == "partner-results" and put.json["data"]["id"] == harness.result_ids[order_id]
    attrs = put.json["data"]["attributes"]
    assert attrs["status"] == "completed" and attrs["summary"] == "Score 41/50"
    assert attrs["assessment"] == {"score": 82}
    assert attrs["url"] == "https://vendor.example/results/" + order_id
    assert attrs["details"] == {
        "Score": "41/50",
        "Completed at": "2024-05-01T10:00:00.000Z",
        "Summary": "Solid",
        "Logic": "40/50 (80%)",
        "Other": "cancelled",
    }
    assert attrs["assessment-criteria"] == [{"id": "logic", "score": 80}]
    (attachment,) = attrs["attachments"]
    assert attachment["description"] == "report.pdf"
    link = urlsplit(attachment["url"])
    assert link.path.startswith("/attachments/") and {"name", "expires", "signature"} <= set(parse_qs(link.query))


def test_open_cancelled_and_rejection_write_backs(hub: Hub, fake: FakeTeamtailor) -> None:
    harness = TeamtailorHarness(hub, fake)
    publish(harness, "pkg-1")
    order_id = harness.place_order("pkg-1", "ada@example.com")
    put_result(harness, order_id, status="OPEN")
    wait_until(lambda: harness.puts(order_id), what="the OPEN PUT")
    assert harness.puts(order_id)[0].json["data"]["attributes"]["status"] == "pending"
    response = put_result(harness, order_id, status="CANCELLED", completed_at="2024-05-01T10:00:00Z")
    assert any("no cancelled state" in w.message for w in response.warnings)
    shown = ConnectorContract.wait_shown(harness, order_id, lambda s: s["status"] == "cancelled", "cancelled")
    assert shown["score"] is None


def test_unscorable_score_is_left_out_with_a_warning(hub: Hub, fake: FakeTeamtailor) -> None:
    harness = TeamtailorHarness(hub, fake)
    publish(harness, "pkg-1")
    order_id = harness.place_order("pkg-1", "ada@example.com")
    response = put_result(harness, order_id, status="COMPLETED", score=250, completed_at="2024-05-01T10:00:00Z")
    assert any("no score is shown" in w.message for w in response.warnings)
    wait_until(lambda: harness.puts(order_id), what="the PUT")
    attrs = harness.puts(order_id)[0].json["data"]["attributes"]
    assert "assessment" not in attrs and attrs["details"]["Score"] == "250"


def test_normalized_score() -> None:
    from assessment_hub.connectors.teamtailor.mapping import normalized_score

    assert normalized_score(41, 50) == 82
    assert normalized_score(82.5, 100) == 82  # round half to even; always an integer
    assert normalized_score(120, 100) == 100 and normalized_score(-3, 10) == 0
    assert normalized_score(55.4, None) == 55 and normalized_score(101, None) is None
    assert normalized_score(3, 0) is None and normalized_score(None, 10) is None


# ---------------------------------------------------------------------- attachment links


def test_attachment_links_serve_the_bytes_and_refuse_tampering(hub: Hub, fake: FakeTeamtailor) -> None:
    harness = TeamtailorHarness(hub, fake)
    publish(harness, "pkg-1")
    order_id = harness.place_order("pkg-1", "ada@example.com")
    put_result(
        harness,
        order_id,
        status="COMPLETED",
        score=1,
        max_score=2,
        completed_at="2024-05-01T10:00:00Z",
        attachments=[{"name": "report.pdf", "content_type": "application/pdf", "data": base64.b64encode(PDF).decode()}],
    )
    wait_until(lambda: harness.puts(order_id), what="the PUT")
    url = urlsplit(harness.puts(order_id)[0].json["data"]["attributes"]["attachments"][0]["url"])
    link = f"{hub.base_url}{url.path}?{url.query}"  # the worker signs for its public_base_url; same path/query
    ok = httpx.get(link)
    assert ok.status_code == 200 and ok.content == PDF
    assert ok.headers["content-type"] == "application/pdf" and "sandbox" in ok.headers["content-security-policy"]

    sha = url.path.rsplit("/", 1)[1]
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    tampered = httpx.get(f"{hub.base_url}/attachments/{sha}", params={**query, "name": "other.pdf"})
    assert tampered.status_code == 403
    signature = query["signature"]
    flipped = ("y" if signature[0] == "x" else "x") + signature[1:]  # "x" + rest was the same one 1 time in 64
    bad_sig = httpx.get(f"{hub.base_url}/attachments/{sha}", params={**query, "signature": flipped})
    assert bad_sig.status_code == 403
    expired = urlsplit(attachment_link(hub.settings, hub.base_url, sha, "report.pdf", ttl_s=-10))
    assert httpx.get(f"{hub.base_url}{expired.path}?{expired.query}").status_code == 403
    assert httpx.get(f"{hub.base_url}/attachments/{sha}").status_code == 403
    unknown = attachment_link(hub.settings, hub.base_url, "0" * 64, "report.pdf")
    assert httpx.get(unknown).status_code == 404


# ---------------------------------------------------------------------- settings and CLI


def test_settings_are_checked() -> None:
    from assessment_hub.connectors.base import SettingsError

    prepare = connector_class("teamtailor").prepare_settings
    with pytest.raises(SettingsError, match="api_key"):
        prepare({})
    with pytest.raises(SettingsError, match="api_base_url"):
        prepare({"api_key": "k", "api_base_url": "ftp://x"})
    with pytest.raises(SettingsError, match="nope"):
        prepare({"api_key": "k", "nope": "1"})
    with pytest.raises(SettingsError, match="assessment_criteria"):
        prepare({"api_key": "k", "assessment_criteria": "a=A,a=B"})
    settings = prepare({"api_key": "k"})
    assert settings["api_base_url"] == "https://api.teamtailor.com" and len(settings["provider_key"]) > 30
    assert prepare({"api_key": "k"})["provider_key"] != settings["provider_key"]


@pytest.mark.subprocess
def test_cli_integrations_create_json(database_url: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "ASSESSMENT_HUB_DATABASE_URL": database_url,
        "ASSESSMENT_HUB_ATTACHMENTS_DIR": str(tmp_path / "att"),
        "ASSESSMENT_HUB_PUBLIC_BASE_URL": "https://hub.example.com",
        **key_env(database_url),
    }
    cli = [
        sys.executable,
        "-m",
        "assessment_hub.cli",
        "integrations",
        "create",
        "--tool",
        "teamtailor",
        "--organization",
        "Acme",
    ]
    done = subprocess.run(
        cli + ["--setting", "api_key=tt-key", "--setting", "webhook_secret=s3cret", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert set(out) == {"id", "tool", "setup"} and out["tool"] == "teamtailor"
    assert set(out["setup"]) == {"base_url", "provider_key"}
    connection = out["id"].split(":", 1)[1]
    assert out["setup"]["base_url"] == f"https://hub.example.com/connectors/teamtailor/{connection}"
    missing = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120)
    assert missing.returncode != 0 and "api_key" in missing.stderr and "Traceback" not in missing.stderr


def test_capabilities_row() -> None:
    caps = connector_class("teamtailor").capabilities
    assert caps.text_only_attributes and caps.shows_open_results and caps.accepts_attachments
    assert caps.shows_rejection_message and not caps.ats_can_cancel


def test_events_without_ids_or_candidate_are_refused(hub: Hub, fake: FakeTeamtailor) -> None:
    # Found in a user trial: an empty partner-result id made every later such event a "duplicate" (order lost),
    # and an event without a candidate gave the vendor an order it could not act on.
    harness = TeamtailorHarness(hub, fake)
    publish(harness, "pkg-1")
    for mutate, mentions in (
        (lambda pe: pe["partner-result"].update(id=""), "partner-result.id"),
        (lambda pe: pe.pop("candidate"), "candidate"),
        (lambda pe: pe["candidate"].update(email=None), "candidate.email"),
    ):
        event = fake.make_event(selection={"test": "pkg-1"})
        mutate(event["partner-event"])
        answer = fake.raw_request("POST", fake.base_url + "/webhook", json=event)
        assert answer.status_code == 400 and mentions in answer.text, answer.text
    assert orders_of(hub, harness.tenant.integration_id) == []
