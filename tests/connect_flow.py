"""Helpers for the Connect tests: links made with the official SDK, the connect page driven over plain HTTP
(as a browser without script would), and the vendor's webhooks read back."""

from __future__ import annotations

import re
from typing import Any

import httpx

from assessment_hub.connect import service
from assessment_hub.connect.models import ConnectLinkRow
from assessment_hub.db.session import unit_of_work
from tests.receiver import Received, VendorReceiver
from tests.support import Hub, Tenant, wait_until

FINISH = re.compile(r'id="finish" data-finish="([^"]+)"')
VALUE = re.compile(r'data-key="([^"]+)" value="([^"]*)"')
TITLE = re.compile(r"<h1[^>]*>(.*?)</h1>", re.S)


def new_link(tenant: Tenant, organization: str, **fields: Any) -> str:
    """A connection link from ``kombo.connect.create_connection_link`` (category ASSESSMENT unless given)."""
    fields.setdefault("integration_category", "ASSESSMENT")
    response = tenant.sdk().connect.create_connection_link(
        end_user_email=fields.pop("end_user_email", "it@acme.example"),
        end_user_organization_name=organization,
        **fields,
    )
    return response.data.link


def submit(link: str, tool: str, fields: dict[str, str] | None = None) -> httpx.Response:
    """POST the tool's form as the page does (no redirects followed)."""
    with httpx.Client(timeout=30) as client:
        return client.post(f"{link}/tools/{tool}", data=fields or {})


def finish(link: str, tool: str, fields: dict[str, str] | None = None) -> tuple[str, dict[str, str]]:
    """Complete the flow over HTTP; returns the activation token and the values to paste into the ATS."""
    posted = submit(link, tool, fields)
    assert posted.status_code == 303, posted.text
    assert posted.headers["location"].endswith("/done")
    with httpx.Client(timeout=30) as client:
        done = client.get(link + "/done")
    assert done.status_code == 200, done.text
    token = FINISH.search(done.text)
    assert token, done.text
    return token.group(1), dict(VALUE.findall(done.text))


def title(response: httpx.Response) -> str:
    found = TITLE.search(response.text)
    assert found, response.text
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def link_row(hub: Hub, link: str) -> ConnectLinkRow:
    with hub.sessions() as session:
        row = service.find_link(session, link.rsplit("/", 1)[1])
        assert row is not None
        session.expunge(row)
        return row


def change_link(hub: Hub, link: str, **values: Any) -> None:
    """Set columns of the link's row (to move its clock: expires_at, activation_expires_at)."""
    from sqlalchemy import update

    row_id = link_row(hub, link).id
    with unit_of_work(hub.sessions) as session:
        session.execute(update(ConnectLinkRow).where(ConnectLinkRow.id == row_id).values(**values))


def integration_event(receiver: VendorReceiver, event_type: str, integration_id: str, timeout: float = 15) -> Received:
    """The first ``event_type`` webhook about ``integration_id`` the receiver got (waits for it)."""

    def found() -> Received | None:
        with receiver.lock:
            for received in receiver.received:
                event = received.event
                data = event.get("data", {})
                if event.get("type") == event_type and integration_id in (data.get("id"), data.get("integration_id")):
                    return received
        return None

    return wait_until(found, timeout=timeout, what=f"{event_type} for {integration_id}")
