"""The connector contract for SmartRecruiters, driven through the product's simulator
(``assessment_hub.simulators.smartrecruiters``), plus SmartRecruiters' own rules: the OAuth token exchange both
ways, Bearer checks and ``ErrorResponse`` refusals, package types, one order per ``resultCallbackURL``, the
``PackageResult`` merge patch, token caching, callback hosts, warnings and ``integrations create --json``."""

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
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select

from assessment_hub.assessment import intake
from assessment_hub.assessment.models import OrderRow
from assessment_hub.connecting import update_integration
from assessment_hub.connectors.base import SettingsError
from assessment_hub.connectors.inbound import integration_base_url
from assessment_hub.connectors.registry import connector_class
from assessment_hub.connectors.smartrecruiters import tokens
from assessment_hub.db.session import unit_of_work
from assessment_hub.delivery.models import OutboxRow
from assessment_hub.integrations.models import IntegrationRow
from assessment_hub.integrations.service import integration_settings
from assessment_hub.simulators.smartrecruiters import RESULTS_PREFIX, TOKEN_PATH, SmartRecruitersSimulator
from tests.connectors.contract import PDF, ConnectorContract
from tests.receiver import vendor_receiver
from tests.support import Hub, Tenant, key_env, wait_until

pytestmark = pytest.mark.live  # the simulator calls the hub over a socket

SHOWN_STATUS = {"IN_PROGRESS": "open", "PENDING": "open", "COMPLETED": "completed", "EXPIRED": "cancelled"}


class SmartRecruitersHarness:
    """Drives the SmartRecruiters simulator against one hub integration."""

    def __init__(self, hub: Hub, sim: SmartRecruitersSimulator, *, allow_sim_host: bool = True, **settings: str):
        self.hub, self.sim = hub, sim
        given = sim.hub_settings()
        if not allow_sim_host:
            given.pop("allowed_callback_hosts")
        given.update(settings)
        self.tenant: Tenant = hub.new_tenant("smartrecruiters", {k: v for k, v in given.items() if v})
        self.setup = connector_class("smartrecruiters").setup(
            self.stored_settings(), integration_base_url(hub.base_url, self.tenant.integration_id)
        )
        sim.configure(self.setup)  # what the vendor registers with SmartRecruiters for the customer
        self.sr_ids: dict[str, str] = {}  # hub order id -> SmartRecruiters orderId

    def stored_settings(self) -> dict[str, Any]:
        with self.hub.sessions() as session:
            return integration_settings(
                session.get(IntegrationRow, self.tenant.integration_id), self.hub.settings.cipher
            )

    def hub_order(self, sr_id: str) -> str | None:
        url = self.sim.orders[sr_id]["request"]["resultCallbackURL"]
        with self.hub.sessions() as session:
            order = intake.find_order_by_remote(session, self.tenant.integration_id, ("resultCallbackURL",), url)
        return order.id if order else None

    # -- Harness protocol ------------------------------------------------------
    def ats_packages(self) -> list[str]:
        return [p["id"] for p in self.sim.list_packages()]

    def place_order(self, package_id: str, email: str, **kwargs: Any) -> str:
        sr_id = self.sim.place_order(package_id, email, **kwargs)
        order_id = self.hub_order(sr_id)
        assert order_id
        self.sr_ids[order_id] = sr_id
        return order_id

    def patches(self, order_id: str) -> list[dict[str, Any]]:
        return self.sim.orders[self.sr_ids[order_id]]["patches"]

    def shown(self, order_id: str) -> dict[str, Any] | None:
        if not self.patches(order_id):
            return None
        state = self.sim.shown(self.sr_ids[order_id])
        status = SHOWN_STATUS.get(state.get("status"), "rejected")
        links = state.get("attachments") or []
        report = [a["url"] for a in links if a["type"] == "OTHER_URL" and "/attachments/" not in a["url"]]
        return {
            "status": status,
            "score": (state.get("score") or {}).get("raw"),
            "url": report[0] if report else None,
            "attachments": len([a for a in links if "/attachments/" in a["url"]]),
            "message": state.get("summary") if status == "rejected" else None,
        }

    def cancel(self, order_id: str) -> None:
        raise NotImplementedError("SmartRecruiters sends no cancellation to assessment partners")

    def outage(self, mode: str) -> None:
        self.sim.set_mode("503" if mode == "503" else "ok")

    def break_credentials(self) -> None:
        self.sim.break_credentials()


@pytest.fixture
def sim() -> Iterator[SmartRecruitersSimulator]:
    with SmartRecruitersSimulator(timeout=15) as simulator:
        yield simulator


class TestSmartRecruitersConnectorContract(ConnectorContract):
    tool = "smartrecruiters"

    @pytest.fixture
    def harness(self, hub: Hub, sim: SmartRecruitersSimulator) -> SmartRecruitersHarness:
        return SmartRecruitersHarness(hub, sim)


# ---------------------------------------------------------------------- helpers


def publish(harness: SmartRecruitersHarness, *ids: str) -> None:
    ConnectorContract.publish(harness, *ids)


def put_result(harness: SmartRecruitersHarness, order_id: str, **body: Any) -> Any:
    return ConnectorContract.result(harness, order_id, **body)


def orders_of(hub: Hub, integration_id: str) -> list[OrderRow]:
    with hub.sessions() as session:
        return list(session.scalars(select(OrderRow).where(OrderRow.integration_id == integration_id)))


def writebacks(hub: Hub, order_id: str) -> list[OutboxRow]:
    with hub.sessions() as session:
        return list(
            session.scalars(select(OutboxRow).where(OutboxRow.order_id == order_id, OutboxRow.kind == "writeback"))
        )


def assert_error_response(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body["message"], str) and body["errors"] and all(e["code"] for e in body["errors"]), body
    return body


# ---------------------------------------------------------------------- inbound: tokens and auth


def test_token_exchange_refuses_wrong_credentials_with_rfc6749_errors(hub: Hub, sim: SmartRecruitersSimulator) -> None:
    harness = SmartRecruitersHarness(hub, sim)
    wrong = sim.token_response(harness.setup["client_id"], "not-the-secret")
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_client"
    assert sim.token_response("someone-else", harness.setup["client_secret"]).json()["error"] == "invalid_client"
    grant = sim.token_response(harness.setup["client_id"], harness.setup["client_secret"], grant_type="password")
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"
    basic = httpx.post(
        harness.setup["base_url"] + "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(harness.setup["client_id"], harness.setup["client_secret"]),
    )
    assert basic.status_code == 200 and basic.json()["expires_in"] == tokens.TTL_S  # RFC 6749 §2.3.1 Basic
    assert sim.fetch_token(fresh=True).startswith(tokens.PREFIX)


def test_a_wrong_or_foreign_token_is_refused_401(hub: Hub, sim: SmartRecruitersSimulator) -> None:
    harness = SmartRecruitersHarness(hub, sim)
    publish(harness, "pkg-1")
    with SmartRecruitersSimulator() as other_sim:  # another customer's integration
        foreign = SmartRecruitersHarness(hub, other_sim).sim.fetch_token()
    for token in ("wrong", foreign, tokens.PREFIX + "1.x", tokens.PREFIX + "9" * 5000 + ".x"):
        for method, path in (("GET", "/packages"), ("GET", "/packages/pkg-1"), ("POST", "/packages/orders")):
            body = assert_error_response(sim.request(method, path, token=token, json={}), 401)
            assert body["errors"][0]["code"] == "UNAUTHORIZED"
    secret = str(harness.stored_settings()["client_secret"])
    expired, _ = tokens.issue(secret, harness.tenant.integration_id, now=time.time() - tokens.TTL_S - 5)
    assert_error_response(sim.request("GET", "/packages", token=expired), 401)
    # "²" passes str.isdigit() but not int(): a latin-1 header byte, refused as any other token
    superscript = [(b"Authorization", f"Bearer {tokens.PREFIX}\u00b2.x".encode("latin-1"))]
    assert_error_response(httpx.get(harness.setup["base_url"] + "/packages", headers=superscript), 401)
    unknown = httpx.get(harness.setup["base_url"].rsplit("/", 1)[0] + "/" + "X" * 24 + "/packages")
    assert_error_response(unknown, 404)
    inline = assert_error_response(sim.request("POST", "/packages/inline/orders", json={}), 404)
    assert "inline" in inline["message"]
    assert orders_of(hub, harness.tenant.integration_id) == []


# ---------------------------------------------------------------------- inbound: packages and orders


def test_packages_in_smartrecruiters_types(hub: Hub, sim: SmartRecruitersSimulator) -> None:
    harness = SmartRecruitersHarness(hub, sim)
    assert sim.list_packages() == []  # 204 without a body before anything is published
    harness.tenant.sdk().assessment.set_packages(
        packages=[
            {"id": "a", "type": "SKILLS_TEST", "name": "Java", "description": "Core Java"},
            {"id": "b", "type": "BEHAVIORAL", "name": "Big five", "description": "Personality"},
            {"id": "c", "type": "VIDEO_INTERVIEW", "name": "Video", "description": ""},
        ]
    )
    listed = {p["id"]: p for p in sim.list_packages()}
    assert {k: p["type"] for k, p in listed.items()} == {
        "a": "SKILL_TEST",
        "b": "BEHAVIORAL_ASSESSMENT",
        "c": "VIDEO_INTERVIEW",
    }
    assert listed["a"]["assessments"] == [{"id": "a", "name": "Java", "description": "Core Java", "type": "SKILL_TEST"}]
    assert sim.get_package("b") == listed["b"]
    assert sim.get_package("nope") is None
    assert_error_response(sim.request("GET", "/packages/nope"), 404)


def test_the_same_order_twice_makes_one_order(hub: Hub, sim: SmartRecruitersSimulator) -> None:
    harness = SmartRecruitersHarness(hub, sim)
    publish(harness, "pkg-1")
    with vendor_receiver(hub, events=["assessment:order-received"]) as receiver:
        order_id = harness.place_order("pkg-1", "ada@example.com")
        again = sim.send_order(sim.orders[harness.sr_ids[order_id]]["request"])
        assert again.status_code == 202 and again.json() == {}
        wait_until(lambda: receiver.events_for(order_id), what="order-received")
        time.sleep(0.3)
        assert len(receiver.events_for(order_id)) == 1
    assert [o.id for o in orders_of(hub, harness.tenant.integration_id)] == [order_id]


def test_refused_orders_make_no_order(hub: Hub, sim: SmartRecruitersSimulator) -> None:
    harness = SmartRecruitersHarness(hub, sim)
    publish(harness, "pkg-1")
    unknown = assert_error_response(sim.send_order(sim.order_body("pkg-9")), 404)
    assert "pkg-9" in unknown["message"]
    for mutate, mentions in (
        (lambda b: b.pop("resultCallbackURL"), "resultCallbackURL"),
        (lambda b: b["candidate"].pop("email"), "candidate.email"),
        (lambda b: b.pop("job"), "job"),
        (lambda b: b.update(resultCallbackURL="ftp://x/y"), "resultCallbackURL"),
    ):
        body = sim.order_body("pkg-1")
        mutate(body)
        refused = assert_error_response(sim.send_order(body), 400)
        assert mentions in refused["message"], refused
    not_json = sim.request("POST", "/packages/orders", content=b"{nope", headers={"Content-Type": "application/json"})
    assert_error_response(not_json, 400)
    assert orders_of(hub, harness.tenant.integration_id) == []


def test_order_mapping(hub: Hub, sim: SmartRecruitersSimulator) -> None:
    harness = SmartRecruitersHarness(hub, sim)
    publish(harness, "pkg-1")
    order_id = harness.place_order(
        "pkg-1", "jane@example.com", candidate_id="cand-1", job_id="job-1", job_title="Backend Engineer"
    )
    order = harness.tenant.order(order_id)
    assert order["candidate"] == {
        "remote_id": "cand-1",
        "email": "jane@example.com",
        "first_name": "Jane",
        "last_name": "Doe",
        "phone": None,
    }
    job = order["job"]
    assert (job["remote_id"], job["name"], job["job_code"]) == ("job-1", "Backend Engineer", "REF-7")
    assert job["location"]["city"] == "Berlin" and job["location"]["raw"] == "Berlin, Germany"
    assert job["hiring_team"][0]["email"] == "recruiter@acme.example"
    assert job["hiring_team"][0]["hiring_team_roles"] == ["RECRUITER"]
    with hub.sessions() as session:
        row = session.get(OrderRow, order_id)
    assert row.remote_data == sim.orders[harness.sr_ids[order_id]]["request"]  # the order body as received


def test_refused_callback_host_takes_the_order_and_warns(hub: Hub, sim: SmartRecruitersSimulator) -> None:
    harness = SmartRecruitersHarness(hub, sim, allow_sim_host=False)
    publish(harness, "pkg-1")
    order_id = harness.place_order("pkg-1", "ada@example.com")
    response = put_result(harness, order_id, status="COMPLETED", score=5, max_score=10)
    assert any("allowed_callback_hosts" in w.message and order_id in w.message for w in response.warnings)
    (row,) = wait_until(lambda: [r for r in writebacks(hub, order_id) if r.state == "dead"], what="dead write-back")
    assert "allowed_callback_hosts" in (row.last_error or "")
    assert harness.patches(order_id) == [] and not any(r.path == TOKEN_PATH for r in sim.requests)


# ---------------------------------------------------------------------- write-back


def test_result_patch_mapping_and_warnings(hub: Hub, sim: SmartRecruitersSimulator) -> None:
    harness = SmartRecruitersHarness(hub, sim)
    publish(harness, "pkg-1")
    order_id = harness.place_order("pkg-1", "ada@example.com")
    response = put_result(
        harness,
        order_id,
        status="COMPLETED",
        score=41.5,
        max_score=50,
        completed_at="2024-05-01T10:00:00Z",
        remote_fields={"smartrecruiters": {"scoreLabel": "Pass"}},
        attributes=[
            {"type": "TEXT", "label": "Summary", "value": "Solid"},
            {"type": "TEXT", "label": "Level", "value": "Senior"},
            {
                "type": "SUB_RESULT",
                "id": "logic",
                "label": "Logic",
                "score": {"value": 9, "max": 10},
                "status": "COMPLETED",
            },
            {
                "type": "SUB_RESULT",
                "id": "comm",
                "label": "Talk",
                "score": {"value": 1, "max": 4},
                "status": "CANCELLED",
            },
        ],
        attachments=[{"name": "report.pdf", "content_type": "application/pdf", "data": base64.b64encode(PDF).decode()}],
    )
    messages = [w.message for w in response.warnings]
    assert any("whole-number" in m and "41.5" in m for m in messages), messages
    assert any("expire" in m for m in messages), messages
    (patch,) = wait_until(lambda: harness.patches(order_id), what="the PATCH")
    (request,) = [r for r in sim.received if r.method == "PATCH"]
    assert request.path == f"{RESULTS_PREFIX}{harness.sr_ids[order_id]}/results"
    assert request.headers["content-type"] == "application/json"
    links = patch.pop("attachments")
    assert links[0] == {"type": "OTHER_URL", "url": "https://vendor.example/results/" + order_id}
    assert links[1]["type"] == "PDF_URL" and "/attachments/" in links[1]["url"]
    link = urlsplit(links[1]["url"])  # the worker signs under the configured public base URL
    assert httpx.get(f"{hub.base_url}{link.path}?{link.query}").content == PDF  # the signed link serves the report
    assert patch == {
        "status": "COMPLETED",
        "score": {"raw": 42, "min": 0, "max": 50},
        "scoreLabel": "Pass",
        "summary": "Summary: Solid\nLevel: Senior",
        "submissionDate": "2024-05-01T10:00:00.000Z",
        "assessmentResults": [
            {
                "assessmentId": "logic",
                "assessmentName": "Logic",
                "score": {"raw": 9, "min": 0, "max": 10},
                "status": "COMPLETED",
            },
            {
                "assessmentId": "comm",
                "assessmentName": "Talk",
                "score": {"raw": 1, "min": 0, "max": 4},
                "status": "EXPIRED",
            },
        ],
    }
    # A correction replaces what SmartRecruiters shows: keys the new revision lacks are removed (null).
    put_result(harness, order_id, status="COMPLETED", score=45, max_score=50)
    wait_until(lambda: len(harness.patches(order_id)) == 2, what="the correction")
    shown = sim.shown(harness.sr_ids[order_id])
    assert shown["score"] == {"raw": 45, "min": 0, "max": 50}
    assert "scoreLabel" not in shown and "summary" not in shown and shown["assessmentResults"] == []


def test_a_score_above_the_maximum_is_sent_within_it(hub: Hub, sim: SmartRecruitersSimulator) -> None:
    harness = SmartRecruitersHarness(hub, sim)
    publish(harness, "pkg-1")
    order_id = harness.place_order("pkg-1", "ada@example.com")
    response = put_result(harness, order_id, status="COMPLETED", score=110, max_score=100)
    assert any("110/100 is sent as 100/100" in w.message for w in response.warnings), response.warnings
    (patch,) = wait_until(lambda: harness.patches(order_id), what="the PATCH")
    assert patch["score"] == {"raw": 100, "min": 0, "max": 100} and sim.rejected == []


def test_one_token_serves_many_write_backs(hub: Hub, sim: SmartRecruitersSimulator) -> None:
    harness = SmartRecruitersHarness(hub, sim)
    publish(harness, "pkg-1")
    first, second = harness.place_order("pkg-1", "a@example.com"), harness.place_order("pkg-1", "b@example.com")
    for order_id in (first, second):
        put_result(harness, order_id, status="COMPLETED", score=5, max_score=10)
    wait_until(lambda: harness.patches(first) and harness.patches(second), what="both PATCHes")
    token_calls = [r for r in sim.requests if r.path == TOKEN_PATH]
    assert len(token_calls) == 1, token_calls
    form = token_calls[0].form()
    assert form == {
        "grant_type": "client_credentials",
        "client_id": sim.api_client_id,
        "client_secret": sim.api_client_secret,
    }
    assert sim.rejected == []


def test_credentials_given_later_with_update(hub: Hub, sim: SmartRecruitersSimulator) -> None:
    harness = SmartRecruitersHarness(hub, sim, api_client_id="", api_client_secret="")
    publish(harness, "pkg-1")
    order_id = harness.place_order("pkg-1", "ada@example.com")
    put_result(harness, order_id, status="COMPLETED", score=5, max_score=10)
    (row,) = wait_until(lambda: [r for r in writebacks(hub, order_id) if r.state == "dead"], what="dead write-back")
    assert "integrations update" in (row.last_error or "")
    with unit_of_work(hub.sessions) as session:
        update_integration(
            session,
            harness.tenant.integration_id,
            {"api_client_id": sim.api_client_id, "api_client_secret": sim.api_client_secret},
            cipher=hub.settings.cipher,
        )
    assert harness.stored_settings()["client_secret"] == harness.setup["client_secret"]  # the set-up still holds
    put_result(harness, order_id, status="COMPLETED", score=6, max_score=10)
    harness.patches(order_id)
    wait_until(lambda: harness.patches(order_id), what="the PATCH after the update")


def test_vendor_rejection_patch(hub: Hub, sim: SmartRecruitersSimulator) -> None:
    harness = SmartRecruitersHarness(hub, sim)
    publish(harness, "pkg-1")
    with vendor_receiver(hub, events=["assessment:order-received"]) as receiver:
        receiver.answer = (422, '{"message": "Candidate email address is not valid"}')
        order_id = harness.place_order("pkg-1", "bad@example.com")
        (patch,) = wait_until(lambda: harness.patches(order_id), what="the rejection PATCH")
    assert patch == {"status": "REJECTED", "summary": "Candidate email address is not valid"}


# ---------------------------------------------------------------------- settings and CLI


def test_settings_are_checked() -> None:
    prepare = connector_class("smartrecruiters").prepare_settings
    with pytest.raises(SettingsError, match="nope"):
        prepare({"nope": "1"})
    with pytest.raises(SettingsError, match="api_base_url"):
        prepare({"api_base_url": "ftp://x"})
    with pytest.raises(SettingsError, match="give both"):
        prepare({"api_client_id": "x"})
    with pytest.raises(SettingsError, match="allowed_callback_hosts"):
        prepare({"allowed_callback_hosts": "a b"})
    settings = prepare({})
    assert settings["api_base_url"] == "https://api.smartrecruiters.com"
    assert len(settings["client_secret"]) > 30 and prepare({})["client_secret"] != settings["client_secret"]


@pytest.mark.subprocess
def test_cli_integrations_create_json(database_url: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "ASSESSMENT_HUB_DATABASE_URL": database_url,
        **key_env(database_url),
        "ASSESSMENT_HUB_ATTACHMENTS_DIR": str(tmp_path / "att"),
        "ASSESSMENT_HUB_PUBLIC_BASE_URL": "https://hub.example.com",
    }
    done = subprocess.run(
        [sys.executable, "-m", "assessment_hub.cli", "integrations", "create", "--tool", "smartrecruiters"]
        + ["--organization", "Acme", "--setting", "api_client_id=i", "--setting", "api_client_secret=s", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert set(out) == {"id", "tool", "setup"} and out["tool"] == "smartrecruiters"
    assert set(out["setup"]) == {"base_url", "client_id", "client_secret"}
    connection = out["id"].split(":", 1)[1]
    assert out["setup"]["base_url"] == f"https://hub.example.com/connectors/smartrecruiters/{connection}"


def test_capabilities_row() -> None:
    caps = connector_class("smartrecruiters").capabilities
    assert not caps.text_only_attributes and caps.shows_open_results and caps.accepts_attachments
    assert caps.shows_rejection_message and not caps.ats_can_cancel


def test_the_console_preview_is_the_patch_smartrecruiters_then_receives(
    hub: Hub, sim: SmartRecruitersSimulator
) -> None:
    """The write-back preview is built by the connector's own ``result_request``: method, URL, the headers
    (credentials masked) and the body byte for byte are what the simulator then received."""
    from assessment_hub.delivery.preview import writeback_preview

    harness = SmartRecruitersHarness(hub, sim)
    publish(harness, "pkg-1")
    order_id = harness.place_order("pkg-1", "ada@example.com")
    put_result(harness, order_id, status="COMPLETED", score=7, max_score=10, completed_at="2024-05-01T10:00:00Z")
    with hub.sessions() as session:
        preview = writeback_preview(session, hub.settings, order_id)
    assert preview.request is not None, preview
    wait_until(lambda: harness.patches(order_id), timeout=20, what="the results PATCH")
    (sent,) = [r for r in sim.received if r.method == "PATCH"]
    assert preview.request.method == "PATCH" and urlsplit(preview.request.url).path == sent.path
    assert preview.request.body == sent.body  # byte for byte
    shown = dict(preview.request.headers)
    assert shown["Authorization"] == "Bearer ****" and sent.headers["authorization"].startswith("Bearer ")
    for name in ("Content-Type", "Accept", "User-Agent"):
        assert shown[name] == sent.headers[name.lower()]


def test_settings_are_declared_for_the_console_form() -> None:
    fields = {f.name: f for f in connector_class("smartrecruiters").setting_fields}
    assert set(fields) == {"api_client_id", "api_client_secret", "api_base_url", "allowed_callback_hosts"}
    assert fields["api_client_secret"].secret and not fields["api_client_id"].secret
    assert not any(f.required for f in fields.values())  # the API credentials exist only after the exchange
