"""Teamtailor's webhook with a ``webhook_secret``: no signature is a 401 (tests/data/cases/empty-secret.json,
its third case), and a captured signature replayed with another body within its window is refused, in every
process (``intake.remember_event``: the event ids are kept in the database), while Teamtailor retrying the
same event still gets its 200 and one order."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assessment_hub.app import create_app
from assessment_hub.connectors.inbound import integration_base_url
from tests.connectors.test_teamtailor_contract import TeamtailorHarness, orders_of, publish
from tests.fakes.teamtailor import FakeTeamtailor
from tests.support import Hub, serve_in_thread

pytestmark = pytest.mark.live  # the fake Teamtailor calls the hub over a socket

CASES = json.loads((Path(__file__).parent / "data" / "cases" / "empty-secret.json").read_text())["cases"]
SECRET = "whsec-guards-secret"


@pytest.fixture
def fake() -> Iterator[FakeTeamtailor]:
    with FakeTeamtailor(provider_key="set-from-the-hub-setup", timeout=15) as server:
        yield server


def test_a_webhook_without_a_signature_is_refused(hub: Hub, fake: FakeTeamtailor) -> None:
    (case,) = [c for c in CASES if c["via"].startswith("teamtailor webhook")]
    harness = TeamtailorHarness(hub, fake, webhook_secret=SECRET)
    publish(harness, "pkg-1")
    unsigned = harness.send("pkg-1", sign=False)
    assert unsigned.status_code == case["expect"]["http"]
    assert orders_of(hub, harness.tenant.integration_id) == []


def test_a_replayed_signature_with_another_body_is_refused_in_every_process(hub: Hub, fake: FakeTeamtailor) -> None:
    harness = TeamtailorHarness(hub, fake, webhook_secret=SECRET)
    publish(harness, "pkg-1", "pkg-2")
    signed_at = int(time.time())
    first = fake.make_event(selection={"test": "pkg-1"}, email="ada@example.com")
    taken = fake.send_webhook(first, signature_timestamp=signed_at)
    assert taken.delivered, taken.text
    # Teamtailor retrying the very same event (same body, same signature): taken again, still one order
    assert fake.send_webhook(first, signature_timestamp=signed_at).delivered
    # the captured signature ("t.<event id>") on another body: another candidate, test and partner result
    forged = fake.make_event(selection={"test": "pkg-2"}, email="mallory@example.com")
    forged["partner-event"]["id"] = first["partner-event"]["id"]
    replay = fake.send_webhook(forged, signature_timestamp=signed_at)
    assert replay.status_code == 401 and "already used" in (replay.error_message or "")
    # another hub process on the same database knows the event id too (kept in the database, not in memory)
    with serve_in_thread(create_app(hub.settings)) as other:
        fake.base_url = integration_base_url(other, harness.tenant.integration_id)
        again = fake.send_webhook(forged, signature_timestamp=signed_at)
    assert again.status_code == 401 and "already used" in (again.error_message or "")
    assert len(orders_of(hub, harness.tenant.integration_id)) == 1


@pytest.mark.parametrize("timestamp", ["9" * 5000, "\u00b2", "1" + "0" * 30, "-1", "1e9"], ids=len)
def test_an_absurd_signature_timestamp_is_a_401_not_a_500(hub: Hub, fake: FakeTeamtailor, timestamp: str) -> None:
    """``t`` must be Unix seconds in ASCII digits (signature.py): thousands of digits or a Unicode digit (a
    latin-1 header byte) made ``int()`` raise; either way the header is refused, nothing ordered."""
    harness = TeamtailorHarness(hub, fake, webhook_secret=SECRET)
    publish(harness, "pkg-1")
    event = fake.make_event(selection={"test": "pkg-1"}, email="ada@example.com")
    body = json.dumps(event).encode()
    header = fake.signature_header(event["partner-event"]["id"], body, timestamp=timestamp)  # type: ignore[arg-type]
    headers = [(k.encode(), v.encode()) for k, v in fake._headers().items()]
    headers += [(b"Content-Type", b"application/json"), (b"Teamtailor-Signature", header.encode("latin-1"))]
    refused = httpx.post(f"{fake.base_url}/webhook", content=body, headers=headers, timeout=15)
    assert refused.status_code == 401, refused.text
    assert orders_of(hub, harness.tenant.integration_id) == []
