"""Operating the hub in process: /health, /ready, request ids in answers and error envelopes, and the
Prometheus metrics after a round trip (order -> webhook -> result -> write-back), on each backend."""

from __future__ import annotations

import re

from prometheus_client.parser import text_string_to_metric_families

from tests.receiver import vendor_receiver
from tests.support import Hub, Tenant, wait_until

RESULT_ROUTE = "/v1/assessment/orders/{assessment_order_id}/result"


def scrape(hub: Hub) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """``/metrics`` as ``{(sample name, sorted labels): value}``."""
    with hub.http() as client:
        response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_health_and_ready(hub: Hub) -> None:
    client = hub.http()
    health = client.get("/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    ready = wait_until(lambda: (r := client.get("/ready")).status_code == 200 and r, what="/ready to answer 200")
    body = ready.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"] == {"ok": True}
    assert body["checks"]["migrations"]["ok"] and body["checks"]["migrations"]["current"]
    assert body["checks"]["migrations"]["current"] == body["checks"]["migrations"]["head"]
    worker = body["checks"]["worker"]
    assert worker["ok"] and worker["workers_alive"] >= 1 and 0 <= worker["heartbeat_age_s"] < worker["max_age_s"]


def test_request_id_is_echoed_made_and_named_in_error_envelopes(hub: Hub, tenant: Tenant) -> None:
    with tenant.client() as client:
        given = client.get("/assessment/packages", headers={"X-Request-Id": "vendor-req-0001"})
        assert given.status_code == 200 and given.headers["x-request-id"] == "vendor-req-0001"

        made = client.get("/assessment/packages")
        assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])

        # an id with characters that could forge log lines is replaced, not echoed
        forged = client.get("/assessment/packages", headers={"X-Request-Id": 'x" level=error'})
        assert forged.headers["x-request-id"] != 'x" level=error'
        assert re.fullmatch(r"[0-9a-f]{32}", forged.headers["x-request-id"])

        missing = client.put(
            "/assessment/orders/nope/result", json={"status": "COMPLETED"}, headers={"X-Request-Id": "r-404"}
        )
        assert missing.status_code in (400, 404)
        assert missing.headers["x-request-id"] == "r-404"
        assert missing.json()["error"]["log_url"] == "urn:assessment-hub:request:r-404"

    anonymous = hub.http("/v1")
    unauthenticated = anonymous.get("/assessment/packages")
    rid = unauthenticated.headers["x-request-id"]
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["error"]["log_url"] == f"urn:assessment-hub:request:{rid}"
    # refused before routing (NUL in the URL): still an id and a log_url
    nul = anonymous.get("/assessment/orders?ids=%00")
    assert nul.status_code == 400 and nul.json()["error"]["log_url"].endswith(nul.headers["x-request-id"])


def test_metrics_after_a_round_trip(hub: Hub, tenant: Tenant) -> None:
    before = scrape(hub)
    with vendor_receiver(hub) as receiver:
        order_id = tenant.create_order()
        wait_until(lambda: receiver.events_for(order_id), what="the order-received webhook")
        response = tenant.put_result(
            order_id, {"status": "COMPLETED", "result_url": "https://v.example/r/1", "score": 5}
        )
        assert response.status_code == 200, response.text

        def delivered() -> dict | None:
            samples = scrape(hub)
            done = value(samples, "assessment_hub_delivery_attempts_total", kind="writeback", outcome="succeeded")
            return (
                samples
                if done > value(before, "assessment_hub_delivery_attempts_total", kind="writeback", outcome="succeeded")
                else None
            )

        after = wait_until(delivered, what="the write-back attempt in /metrics")

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("assessment_hub_http_requests_total", method="PUT", route=RESULT_ROUTE, status="200") >= 1
    assert grew("assessment_hub_http_request_duration_seconds_count", method="PUT", route=RESULT_ROUTE) >= 1
    assert grew("assessment_hub_result_writes_total", tool="sandbox") >= 1
    assert grew("assessment_hub_delivery_attempts_total", kind="webhook", outcome="succeeded") >= 1
    # no raw path (an order id) ever becomes a label
    assert not any(order_id in str(labels) for _, labels in after)
    # read from the database at scrape time
    assert value(after, "assessment_hub_database_up") == 1
    for kind in ("webhook", "writeback"):
        for state in ("pending", "in_flight", "dead"):
            assert ("assessment_hub_outbox_backlog", (("kind", kind), ("state", state))) in after
        assert value(after, "assessment_hub_outbox_oldest_pending_age_seconds", kind=kind) >= 0
    assert value(after, "assessment_hub_workers_alive") >= 1
    assert 0 <= value(after, "assessment_hub_worker_heartbeat_age_seconds") < hub.settings.ready_heartbeat_max_age_s


def test_backlog_and_oldest_pending_age_follow_an_outage(hub: Hub, tenant: Tenant) -> None:
    """A write-back that cannot be delivered (the sandbox ATS answers 503) shows in the backlog and ages."""
    from assessment_hub.connectors.sandbox.service import set_outage
    from assessment_hub.db.session import unit_of_work

    with unit_of_work(hub.sessions) as session:
        set_outage(session, tenant.integration_id, "503", 0.0)
    try:
        order_id = tenant.create_order()
        assert (
            tenant.put_result(order_id, {"status": "COMPLETED", "result_url": "https://v.example/r/2"}).status_code
            == 200
        )
        samples = wait_until(
            lambda: (
                (s := scrape(hub))
                and value(s, "assessment_hub_delivery_attempts_total", kind="writeback", outcome="retry") >= 1
                and value(s, "assessment_hub_outbox_backlog", kind="writeback", state="pending")
                + value(s, "assessment_hub_outbox_backlog", kind="writeback", state="in_flight")
                >= 1
                and value(s, "assessment_hub_outbox_oldest_pending_age_seconds", kind="writeback") > 0
                and s
            ),
            what="a pending write-back in the backlog",
        )
        assert value(samples, "assessment_hub_outbox_oldest_pending_age_seconds", kind="writeback") < 3600
    finally:
        with unit_of_work(hub.sessions) as session:
            set_outage(session, tenant.integration_id, "off", 0.0)
