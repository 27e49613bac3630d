"""Connect over HTTP: the official ``kombo`` SDK's ``connect.create_connection_link`` and
``connect.get_integration_by_token`` against a live hub, the connect page driven as a browser without script
drives it, link lifetimes and reuse, the lifecycle webhooks in the SDK's payload models, and the operator's
list of links. The embedded flow in a real browser with ``@kombo-api/connect``: tests/test_connect_browser.py."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from kombo import models
from kombo.errors import KomboGeneralError
from pydantic import ValidationError
from sqlalchemy import select

from assessment_hub.config import Settings
from assessment_hub.connect import page, service
from assessment_hub.connect.forms import form_for
from assessment_hub.connectors.base import SettingsError
from assessment_hub.integrations.models import IntegrationRow
from assessment_hub.kit.timestamps import parse_instant, utcnow
from assessment_hub.signing import SIGNATURE_HEADER, verify_signature
from tests.connect_flow import change_link, finish, integration_event, link_row, new_link, submit, title
from tests.fakes.ashby import FakeAshby
from tests.receiver import VendorReceiver, vendor_receiver
from tests.support import ADMIN_KEY, Hub, Tenant

# The connect page is driven with plain httpx clients on hub.base_url (and the fake Ashby calls the hub):
# a real socket. Moving to hub.http() would bring the module into the in-process tier.
pytestmark = pytest.mark.live

ASHBY_KEY = "customer-ashby-key"


@pytest.fixture
def receiver(hub: Hub) -> Iterator[VendorReceiver]:
    with vendor_receiver(hub) as running:
        yield running


def integrations_of(hub: Hub, organization: str) -> list[IntegrationRow]:
    with hub.sessions() as session:
        return list(session.scalars(select(IntegrationRow).where(IntegrationRow.organization_name == organization)))


def unique(name: str) -> str:
    return f"{name} {time.monotonic_ns()}"


# ------------------------------------------------------------------ the whole flow, sandbox


def test_sdk_link_page_token_and_webhook(hub: Hub, tenant: Tenant, receiver: VendorReceiver) -> None:
    organization = unique("Acme")
    link = new_link(tenant, organization, end_user_email="hr@acme.example", end_user_origin_id="acme-42")
    assert link.startswith(hub.base_url + "/connect/")

    with httpx.Client(timeout=30) as browser:
        landing = browser.get(link, params={"sdkv": "1.3.0"})  # the embed library adds sdkv
    assert landing.status_code == 200 and landing.headers["content-type"].startswith("text/html")
    assert "frame-ancestors *" in landing.headers["content-security-policy"]
    assert "x-frame-options" not in landing.headers
    assert landing.headers["referrer-policy"] == "no-referrer"
    for tool in ("sandbox", "ashby", "greenhouse", "teamtailor"):
        assert f"/tools/{tool}" in landing.text

    token, values = finish(link, "sandbox")
    (integration,) = integrations_of(hub, organization)

    found = tenant.sdk().connect.get_integration_by_token(token=token)
    assert found.data.id == integration.id
    assert found.data.tool == "sandbox"
    assert found.data.end_user_organization_name == organization
    assert found.data.end_user_email == "hr@acme.example"
    assert found.data.end_user_origin_id == "acme-42"
    assert found.data.setup_status == "COMPLETED"

    received = integration_event(receiver, "integration-created", integration.id)
    assert verify_signature(receiver.secret, received.raw, received.headers[SIGNATURE_HEADER.lower()])
    payload = models.IntegrationCreatedWebhookPayload.model_validate_json(received.raw)
    assert payload.data.id == integration.id and payload.data.category == "ASSESSMENT"
    assert payload.data.end_user.creator_email == "hr@acme.example"
    assert payload.data.end_user.origin_id == "acme-42"

    details = tenant.sdk().general.get_integration_details(integration_id=integration.id)
    assert details.data.end_user.organization_name == organization
    assert details.data.status == "ACTIVE"

    assert link_row(hub, link).integration_id == integration.id
    with httpx.Client(timeout=30) as browser:
        again = browser.get(link)
    assert again.status_code == 410 and title(again) == "This link was already used"


def test_deprecated_activate_integration_answers_like_integration_by_token(hub: Hub, tenant: Tenant) -> None:
    link = new_link(tenant, unique("Activate"), integration_tool="sandbox")
    token, _ = finish(link, "sandbox")
    with httpx.Client(base_url=hub.api_url, headers={"Authorization": f"Bearer {tenant.api_key}"}) as client:
        activated = client.post("/connect/activate-integration", json={"token": token})
        exchanged = client.get(f"/connect/integration-by-token/{token}")
    assert activated.status_code == 200, activated.text
    assert activated.json()["data"] == exchanged.json()["data"]
    assert activated.json()["data"]["tool"] == "sandbox"


# ------------------------------------------------------------------ create-link input


def test_create_link_refuses_other_categories_and_unknown_tools(tenant: Tenant) -> None:
    sdk = tenant.sdk()
    with pytest.raises(KomboGeneralError) as hris:
        sdk.connect.create_connection_link(end_user_email="a@b.example", end_user_organization_name="Org")
    assert hris.value.data.error.code == "PLATFORM.INPUT_INVALID"
    assert "ASSESSMENT" in hris.value.data.error.message and "HRIS" in hris.value.data.error.message

    with pytest.raises(KomboGeneralError) as workday:
        sdk.connect.create_connection_link(
            end_user_email="a@b.example",
            end_user_organization_name="Org",
            integration_category="ASSESSMENT",
            integration_tool="workday",
        )
    assert workday.value.data.error.code == "PLATFORM.INPUT_INVALID"
    assert "workday" in workday.value.data.error.message and "sandbox" in workday.value.data.error.message

    with httpx.Client(base_url=tenant.hub.api_url, headers={"Authorization": f"Bearer {tenant.api_key}"}) as client:
        for body, field in (
            ({"end_user_organization_name": "Org"}, "end_user_email"),
            ({"end_user_email": "not-an-email", "end_user_organization_name": "Org"}, "end_user_email"),
            ({"end_user_email": "a@b.example", "end_user_organization_name": "  "}, "end_user_organization_name"),
            ({"end_user_email": "a@b.example", "end_user_organization_name": "O", "link_type": "QR"}, "link_type"),
        ):
            refused = client.post("/connect/create-link", json=body)
            assert refused.status_code == 400, refused.text
            error = refused.json()["error"]
            assert error["code"] == "PLATFORM.INPUT_INVALID" and field in error["message"], error
        # every other field the SDKs send is accepted; fields Kombo may add later are ignored
        accepted = client.post(
            "/connect/create-link",
            json={
                "end_user_email": "a@b.example",
                "end_user_organization_name": "Org",
                "integration_category": "ASSESSMENT",
                "language": "de",
                "remote_environment": None,
                "scope_config_id": "sc1",
                "enable_filtering": True,
                "enable_field_mapping": False,
                "enable_static_ips": False,
                "a_field_from_the_future": 1,
            },
        )
        assert accepted.status_code == 200, accepted.text
        assert set(accepted.json()["data"]) == {"link"}
        no_key = httpx.post(
            tenant.hub.api_url + "/connect/create-link",
            json={"end_user_email": "a@b.example", "end_user_organization_name": "Org"},
        )
        assert no_key.status_code == 401 and no_key.json()["error"]["code"] == "PLATFORM.AUTHENTICATION_INVALID"
    with httpx.Client() as browser:
        german = browser.get(accepted.json()["data"]["link"])
    assert '<html lang="de">' in german.text


def test_link_lifetimes(hub: Hub, tenant: Tenant) -> None:
    embedded = link_row(hub, new_link(tenant, "Lifetime"))
    magic = link_row(hub, new_link(tenant, "Lifetime", link_type="MAGIC_LINK"))
    assert embedded.link_type == "EMBEDDED" and embedded.expires_at - embedded.created_at == timedelta(hours=1)
    assert magic.link_type == "MAGIC_LINK" and magic.expires_at - magic.created_at == timedelta(days=365)


# ------------------------------------------------------------------ expired, used, forged


def test_expired_link_is_explained_and_creates_nothing(hub: Hub, tenant: Tenant) -> None:
    organization = unique("Expired")
    link = new_link(tenant, organization)
    change_link(hub, link, expires_at=utcnow() - timedelta(seconds=1))
    with httpx.Client(timeout=30) as browser:
        shown = browser.get(link)
    assert shown.status_code == 410 and title(shown) == "This link has expired"
    assert "1 hour" in shown.text and "Traceback" not in shown.text
    posted = submit(link, "sandbox")
    assert posted.status_code == 410 and title(posted) == "This link has expired"
    assert integrations_of(hub, organization) == []


def test_used_link_cannot_create_a_second_integration(hub: Hub, tenant: Tenant) -> None:
    organization = unique("Reuse")
    link = new_link(tenant, organization)
    finish(link, "sandbox")
    again = submit(link, "ashby", {"api_key": "x"})
    assert again.status_code == 410 and title(again) == "This link was already used"
    assert "Assessment Hub Sandbox" in again.text
    assert len(integrations_of(hub, organization)) == 1


def test_two_submissions_at_once_create_one_integration(hub: Hub, tenant: Tenant) -> None:
    organization = unique("Race")
    link = new_link(tenant, organization)
    statuses: list[int] = []
    start = threading.Barrier(4)

    def post() -> None:
        start.wait(timeout=10)
        statuses.append(submit(link, "sandbox").status_code)

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(statuses) == [303, 410, 410, 410]
    assert len(integrations_of(hub, organization)) == 1


def test_forged_link_is_explained(hub: Hub) -> None:
    with httpx.Client(timeout=30) as browser:
        for url in (
            f"{hub.base_url}/connect/{'A' * 43}",
            f"{hub.base_url}/connect/{'A' * 43}/tools/sandbox",
            f"{hub.base_url}/connect/{'A' * 43}/done",
        ):
            shown = browser.get(url)
            assert shown.status_code == 404 and shown.headers["content-type"].startswith("text/html")
            assert title(shown) == "This link is not valid"
        posted = browser.post(f"{hub.base_url}/connect/{'A' * 43}/tools/sandbox", data={})
        assert posted.status_code == 404 and title(posted) == "This link is not valid"


def test_link_for_one_tool_offers_only_that_tool(hub: Hub, tenant: Tenant) -> None:
    organization = unique("OneTool")
    link = new_link(tenant, organization, integration_tool="greenhouse")
    with httpx.Client(timeout=30) as browser:
        landing = browser.get(link)
        other = browser.get(link + "/tools/sandbox")
    assert landing.status_code == 200 and title(landing) == "Connect Greenhouse"
    assert other.status_code == 404
    assert submit(link, "sandbox").status_code == 404
    _token, values = finish(link, "greenhouse")
    (integration,) = integrations_of(hub, organization)
    connection = integration.id.split(":", 1)[1]
    assert values["send_test_url"] == f"{hub.base_url}/connectors/greenhouse/{connection}/send_test"
    assert len(values["api_key"]) == 40  # minted by the connector, as `integrations create` does
    with httpx.Client(base_url=hub.base_url + "/admin", headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as admin:
        setup = admin.get(f"/integrations/{integration.id}/setup").json()["data"]
    assert setup == values


# ------------------------------------------------------------------ activation token


def test_activation_token_works_only_for_the_key_that_made_the_link_and_for_a_bounded_time(
    hub: Hub, tenant: Tenant
) -> None:
    link = new_link(tenant, unique("Token"))
    token, _ = finish(link, "sandbox")
    other = hub.new_tenant()
    for sdk, what in ((other.sdk(), "another key"), (tenant.sdk(), "a forged token")):
        with pytest.raises(KomboGeneralError) as refused:
            sdk.connect.get_integration_by_token(token=token if what == "another key" else token + "x")
        assert refused.value.data.error.code == "PLATFORM.INPUT_INVALID", what
        assert refused.value.raw_response.status_code == 404
    assert tenant.sdk().connect.get_integration_by_token(token=token).data.tool == "sandbox"
    change_link(hub, link, activation_expires_at=utcnow() - timedelta(seconds=1))
    with pytest.raises(KomboGeneralError):
        tenant.sdk().connect.get_integration_by_token(token=token)


# ------------------------------------------------------------------ an ATS that needs an API key


def test_ashby_key_is_checked_with_ashby_before_connecting(hub: Hub, tenant: Tenant) -> None:
    organization = unique("AshbyCo")
    link = new_link(tenant, organization, integration_tool="ashby")
    with FakeAshby(api_key="unset", ashby_api_key=ASHBY_KEY) as ashby:
        with httpx.Client(timeout=30) as browser:
            form = browser.get(link)
        assert (
            title(form).endswith("Connect Ashby") and 'name="api_key"' in form.text and 'type="password"' in form.text
        )

        missing = submit(link, "ashby", {"api_key": "", "api_base_url": ashby.api_base_url})
        assert missing.status_code == 400 and "Ashby API key is required" in missing.text

        wrong = submit(link, "ashby", {"api_key": "not-the-key", "api_base_url": ashby.api_base_url})
        assert wrong.status_code == 400 and "Ashby refused this API key" in wrong.text
        assert ashby.api_base_url in wrong.text  # the base URL typed is kept; the key is never shown back
        assert "not-the-key" not in wrong.text
        assert integrations_of(hub, organization) == []
        checks = [r for r in ashby.requests if r.path == "/apiKey.info"]
        assert len(checks) == 1 and checks[0].method == "POST"

        ashby.api_key_info_permission = False  # a key made for assessments only: still Ashby's, still live
        token, values = finish(link, "ashby", {"api_key": ASHBY_KEY, "api_base_url": ashby.api_base_url})
        (integration,) = integrations_of(hub, organization)
        assert tenant.sdk().connect.get_integration_by_token(token=token).data.id == integration.id

        # the values shown are the ones Ashby needs: Ashby can now call the hub with them
        ashby.base_url, ashby.api_key = values["base_url"], values["api_key"]
        assert ashby.list_assessments() == []
        assert not [r for r in ashby.requests if r.path == "/assessment.update"]


def test_unreachable_ats_is_said_plainly(hub: Hub, tenant: Tenant) -> None:
    organization = unique("Down")
    link = new_link(tenant, organization, integration_tool="ashby")
    down = submit(link, "ashby", {"api_key": "k", "api_base_url": "http://127.0.0.1:9/"})
    assert down.status_code == 503 and "could not be checked" in down.text
    assert integrations_of(hub, organization) == []
    assert link_row(hub, link).used_at is None  # the customer can try again


def test_base_urls_must_be_public_unless_private_network_is_allowed() -> None:
    form = form_for("ashby")
    strict = Settings(database_url="sqlite:///./unused.db", allow_private_network=False)
    with pytest.raises(SettingsError, match="public address"):
        service.prepare_given(form, "ashby", {"api_key": "k", "api_base_url": "http://10.0.0.5"}, strict)
    with pytest.raises(SettingsError, match="http"):
        service.prepare_given(form, "ashby", {"api_key": "k", "api_base_url": "file:///etc/passwd"}, strict)
    loose = Settings(database_url="sqlite:///./unused.db", allow_private_network=True)
    given = service.prepare_given(form, "ashby", {"api_key": "k", "api_base_url": "http://10.0.0.5"}, loose)
    assert given.chosen == {"api_key": "k", "api_base_url": "http://10.0.0.5"}
    assert given.prepared["inbound_api_key"].startswith("ahb_")
    # only the form's fields reach the connector: a crafted extra field is dropped
    crafted = service.prepare_given(form, "ashby", {"api_key": "k", "allowed_callback_hosts": "evil"}, loose)
    assert crafted.chosen == {"api_key": "k"}


def test_frame_ancestors_setting() -> None:
    narrowed = Settings(
        database_url="sqlite:///./unused.db", connect_frame_ancestors=" https://app.vendor.example  https://b.example "
    )
    csp = page.content_security_policy(narrowed)
    assert csp.endswith("frame-ancestors https://app.vendor.example https://b.example")
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    for bad in ("", "https://a.example; script-src *", "https://a.example,https://b.example"):
        with pytest.raises(ValidationError, match="CONNECT_FRAME_ANCESTORS|connect_frame_ancestors"):
            Settings(database_url="sqlite:///./unused.db", connect_frame_ancestors=bad)


# ------------------------------------------------------------------ lifecycle webhooks


def test_delete_fires_integration_deleted(hub: Hub, tenant: Tenant, receiver: VendorReceiver) -> None:
    link = new_link(tenant, unique("Deleted"))
    token, _ = finish(link, "sandbox")
    integration_id = tenant.sdk().connect.get_integration_by_token(token=token).data.id
    tenant.sdk().general.delete_integration(integration_id=integration_id, body={})
    received = integration_event(receiver, "integration-deleted", integration_id)
    assert verify_signature(receiver.secret, received.raw, received.headers[SIGNATURE_HEADER.lower()])
    payload = models.IntegrationDeletedWebhookPayload.model_validate_json(received.raw)
    assert payload.data.id == integration_id and payload.data.tool == "sandbox"
    assert abs((payload.data.deleted_at - utcnow()).total_seconds()) < 60
    with pytest.raises(KomboGeneralError):  # the token now names nothing
        tenant.sdk().connect.get_integration_by_token(token=token)


def test_state_changes_fire_integration_state_changed(hub: Hub, tenant: Tenant, receiver: VendorReceiver) -> None:
    integration_id = tenant.integration_id
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with httpx.Client(base_url=hub.base_url + "/admin", headers=headers, timeout=30) as admin:
        assert admin.post(f"/integrations/{integration_id}/deactivate").status_code == 200
        inactive = integration_event(receiver, "integration-state-changed", integration_id)
        assert admin.post(f"/integrations/{integration_id}/deactivate").status_code == 200  # no change, no event
        assert admin.post(f"/integrations/{integration_id}/activate").status_code == 200

    def states() -> list[str]:
        with receiver.lock:
            return [
                r.event["data"]["state"]
                for r in receiver.received
                if r.event["type"] == "integration-state-changed"
                and r.event["data"]["integration_id"] == integration_id
            ]

    from tests.support import wait_until

    wait_until(lambda: len(states()) >= 2, what="two integration-state-changed events")
    time.sleep(0.3)
    assert states() == ["INACTIVE", "ACTIVE"]
    assert verify_signature(receiver.secret, inactive.raw, inactive.headers[SIGNATURE_HEADER.lower()])
    payload = models.IntegrationStateChangedWebhookPayload.model_validate_json(inactive.raw)
    assert payload.data.integration_id == integration_id and payload.data.state == "INACTIVE"
    assert payload.data.integration_category == "ASSESSMENT" and payload.data.end_user.organization_name == "Test Org"
    assert abs((payload.data.updated_at - utcnow()).total_seconds()) < 60


def test_the_endpoints_event_filter_applies(hub: Hub, tenant: Tenant) -> None:
    with vendor_receiver(hub, events=["integration-created"]) as only_created:
        link = new_link(tenant, unique("Filtered"))
        token, _ = finish(link, "sandbox")
        integration_id = tenant.sdk().connect.get_integration_by_token(token=token).data.id
        tenant.sdk().general.delete_integration(integration_id=integration_id, body={})
        integration_event(only_created, "integration-created", integration_id)
        time.sleep(1.0)  # the worker polls every 50 ms: a deleted event would have come by now
        with only_created.lock:
            types = {r.event["type"] for r in only_created.received}
    assert types == {"integration-created"}


# ------------------------------------------------------------------ operator


def test_admin_lists_links_by_state(hub: Hub, tenant: Tenant) -> None:
    organization = unique("Listed")
    used = new_link(tenant, organization)
    finish(used, "sandbox")
    expired = new_link(tenant, organization, link_type="MAGIC_LINK")
    change_link(hub, expired, expires_at=utcnow() - timedelta(seconds=1))
    opened = new_link(tenant, organization, integration_tool="ashby", end_user_origin_id="o-1")
    ids = {link_row(hub, link).id: name for link, name in ((used, "used"), (expired, "expired"), (opened, "open"))}

    with httpx.Client(base_url=hub.base_url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=30) as admin:
        listed = admin.get("/admin/connect/links", params={"limit": 1000}).json()["data"]["links"]
        mine = {link["id"]: link for link in listed if link["id"] in ids}
        assert {i: link["state"] for i, link in mine.items()} == ids
        by_state = {
            state: {
                link["id"]
                for link in admin.get("/admin/connect/links", params={"state": state}).json()["data"]["links"]
            }
            for state in ("open", "used", "expired")
        }
        refused = admin.get("/admin/connect/links", params={"state": "gone"})
    for link_id, state in ids.items():
        assert link_id in by_state[state]
        assert all(link_id not in by_state[other] for other in by_state if other != state)
    opened_view = next(link for link in mine.values() if link["state"] == "open")
    assert opened_view["integration_tool"] == "ashby" and opened_view["end_user"]["origin_id"] == "o-1"
    assert opened_view["used_at"] is None and opened_view["integration_id"] is None
    used_view = next(link for link in mine.values() if link["state"] == "used")
    assert used_view["integration_id"].startswith("sandbox:")
    assert parse_instant(used_view["used_at"])
    assert all("token" not in key for view in mine.values() for key in view)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "PLATFORM.INPUT_INVALID"
    vendor = httpx.get(hub.base_url + "/admin/connect/links", headers={"Authorization": f"Bearer {tenant.api_key}"})
    assert vendor.status_code == 401


def test_assets_are_served_and_nothing_else(hub: Hub) -> None:
    with httpx.Client(base_url=hub.base_url, timeout=30) as client:
        script = client.get("/connect/assets/connect.js")
        style = client.get("/connect/assets/connect.css")
        other = client.get("/connect/assets/..%2Fservice.py")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert 'type: "success"' in script.text and "activation_token" in script.text
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")
    assert other.status_code == 404


def test_ats_refusing_credentials_makes_the_integration_invalid_until_a_write_back_passes(
    hub: Hub, tenant: Tenant, receiver: VendorReceiver
) -> None:
    from assessment_hub.connectors.sandbox.service import set_outage
    from assessment_hub.db.session import unit_of_work
    from tests.support import wait_until

    def outage(mode: str) -> None:
        with unit_of_work(hub.sessions) as session:
            set_outage(session, tenant.integration_id, mode)

    def states() -> list[str]:
        with receiver.lock:
            return [
                r.event["data"]["state"]
                for r in receiver.received
                if r.event["type"] == "integration-state-changed"
                and r.event["data"]["integration_id"] == tenant.integration_id
            ]

    result = {"status": "COMPLETED", "result_url": "https://vendor.example/r/1", "score": 1, "max_score": 2}
    outage("401")  # the sandbox ATS now answers the hub's write-backs 401
    first, second = tenant.create_order(seed=1), tenant.create_order(seed=2)
    assert tenant.put_result(first, result).status_code == 200
    assert tenant.put_result(second, result).status_code == 200
    wait_until(lambda: states() == ["INVALID"], what="integration-state-changed INVALID")
    assert tenant.sdk().general.get_integration_details(integration_id=tenant.integration_id).data.status == "INVALID"
    # the vendor can still send results: they wait for the credentials to be fixed
    third = tenant.create_order(seed=3)
    assert tenant.put_result(third, result).status_code == 200

    outage("off")
    assert tenant.put_result(third, {**result, "score": 2}).status_code == 200  # a new revision is delivered
    wait_until(lambda: states() == ["INVALID", "ACTIVE"], what="integration-state-changed ACTIVE")
    assert tenant.sdk().general.get_integration_details(integration_id=tenant.integration_id).data.status == "ACTIVE"
    changed = [
        models.IntegrationStateChangedWebhookPayload.model_validate_json(r.raw)
        for r in receiver.received
        if r.event["type"] == "integration-state-changed" and r.event["data"]["integration_id"] == tenant.integration_id
    ]
    assert [c.data.state for c in changed] == ["INVALID", "ACTIVE"]
