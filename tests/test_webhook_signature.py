"""X-Kombo-Signature: base64url without padding of HMAC-SHA256 over the exact raw body
(tests/data/cases/webhook-signature.json), for the signer and for the public verifier."""

from __future__ import annotations

import json

from assessment_hub.signing import sign, verify_signature
from tests.receiver import vendor_receiver
from tests.support import Hub, Tenant, load_case, wait_until


def test_signatures_match_the_case_byte_for_byte() -> None:
    case = load_case("webhook-signature")
    secret = case["secret"]
    for item in case["cases"]:
        raw = item["raw_body_utf8"].encode("utf-8")
        assert sign(secret, raw) == item["expected_signature"]
        assert verify_signature(secret, raw, item["expected_signature"])
        assert not verify_signature(secret, raw, item["standard_base64_would_be"])
        reserialized = json.dumps(json.loads(raw)).encode()
        assert reserialized == raw or not verify_signature(secret, reserialized, item["expected_signature"])
    assert not verify_signature(secret, b"{}", None)
    assert not verify_signature(secret, b"{}", "")


def test_delivered_webhooks_verify_against_the_raw_bytes(hub: Hub, tenant: Tenant) -> None:
    with vendor_receiver(hub) as receiver:
        order_id = tenant.create_order()
        (delivery,) = wait_until(lambda: receiver.events_for(order_id), what="order-received webhook")
        assert verify_signature(receiver.secret, delivery.raw, delivery.headers["x-kombo-signature"])
        event = delivery.event
        assert event["type"] == "assessment:order-received" and len(event["id"]) == 24
        assert set(event["data"]) >= {"id", "package_id", "status", "integration_id", "candidate", "application", "job"}
        assert event["data"]["status"] == "OPEN" and event["data"]["integration_id"] == tenant.integration_id
        assert receiver.all_verified()
