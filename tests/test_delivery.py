"""The outbox and the worker: order fate from the vendor's answer, retries, write-backs in revision
order, dead rows and what an operator does with them, and rollback safety."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from assessment_hub.assessment import service
from assessment_hub.assessment.results import normalize_result
from assessment_hub.assessment.schemas import ResultIn
from assessment_hub.connectors.sandbox.service import set_outage, show_order
from assessment_hub.db.session import unit_of_work
from assessment_hub.delivery.models import DeliveryAttemptRow, OutboxRow
from assessment_hub.delivery.service import cancel_delivery, retry_delivery
from assessment_hub.kit.timestamps import utcnow
from tests.receiver import vendor_receiver
from tests.support import Hub, Tenant, load_case, wait_until

RESULT = {"status": "COMPLETED", "result_url": "https://vendor.example/r", "completed_at": "2024-01-01T00:00:00Z"}


def outbox(hub: Hub, order_id: str, kind: str) -> list[OutboxRow]:
    with hub.sessions() as session:
        return list(
            session.scalars(
                select(OutboxRow).where(OutboxRow.order_id == order_id, OutboxRow.kind == kind).order_by(OutboxRow.id)
            )
        )


def attempts(hub: Hub, outbox_id: int) -> list[DeliveryAttemptRow]:
    with hub.sessions() as session:
        return list(
            session.scalars(
                select(DeliveryAttemptRow)
                .where(DeliveryAttemptRow.outbox_id == outbox_id)
                .order_by(DeliveryAttemptRow.id)
            )
        )


def outage(hub: Hub, tenant: Tenant, mode: str) -> None:
    with unit_of_work(hub.sessions) as session:
        set_outage(session, tenant.integration_id, mode)


def sandbox_view(hub: Hub, order_id: str) -> dict:
    with hub.sessions() as session:
        return show_order(session, order_id)


def order_rejection_cases() -> list[dict]:
    return load_case("order-rejection")["cases"]


@pytest.mark.parametrize("index", range(5))
def test_order_fate_from_the_vendors_answer(hub: Hub, tenant: Tenant, index: int) -> None:
    case = order_rejection_cases()[index]
    answer, expect = case["vendor_answer"], case["expect"]
    with vendor_receiver(hub, events=["assessment:order-received"]) as receiver:
        receiver.answer = "hang" if isinstance(answer, str) else (answer["http"], answer["body"])
        order_id = tenant.create_order()
        if expect["delivery"] == "succeeded":
            (row,) = wait_until(
                lambda: [r for r in outbox(hub, order_id, "webhook") if r.state == "succeeded"],
                what="the delivery to succeed",
            )
            assert row.attempts == expect["attempts"] == len(receiver.events_for(order_id))
        else:
            (row,) = wait_until(
                lambda: [r for r in outbox(hub, order_id, "webhook") if r.attempts >= 2], timeout=20, what="a retry"
            )
            assert row.state in ("pending", "in_flight")
            assert all(a.outcome == "retry" and a.error_class == "transient" for a in attempts(hub, row.id)[:2])
        order = tenant.order(order_id)
        assert order["status"] == expect["order_status"]
        if "rejection_message" in expect:
            assert order["rejection_message"] == expect["rejection_message"]
            view = wait_until(lambda: sandbox_view(hub, order_id)["writebacks"], what="rejection write-back")
            assert view[0]["kind"] == "rejection" and view[0]["message"] == expect["rejection_message"]
            assert tenant.put_result(order_id, RESULT).status_code == 400
        if expect.get("listed_by_get_orders"):
            with tenant.client() as client:
                listed = client.get("/assessment/orders", params={"statuses": "OPEN"}).json()["data"]["results"]
            assert order_id in [o["id"] for o in listed]
        receiver.answer = (200, "{}")  # let the retrying ones finish, so later tests see a quiet outbox
        wait_until(
            lambda: all(r.state == "succeeded" for r in outbox(hub, order_id, "webhook")), timeout=20, what="recovery"
        )


def test_event_id_is_stable_across_retries(hub: Hub, tenant: Tenant) -> None:
    with vendor_receiver(hub) as receiver:
        receiver.answer = (503, "busy")
        order_id = tenant.create_order()
        wait_until(lambda: len(receiver.events_for(order_id)) >= 3, timeout=20, what="three attempts")
        receiver.answer = (200, "{}")
        wait_until(lambda: outbox(hub, order_id, "webhook")[0].state == "succeeded", what="success")
        deliveries = receiver.events_for(order_id)
        assert len({d.raw for d in deliveries}) == 1  # same bytes, same event id, every time
        assert len({d.headers["x-kombo-signature"] for d in deliveries}) == 1


def test_result_is_written_back_to_the_sandbox(hub: Hub, tenant: Tenant) -> None:
    order_id = tenant.create_order()
    assert tenant.put_result(order_id, {**RESULT, "score": 7, "max_score": 10}).status_code == 200
    (received,) = wait_until(lambda: sandbox_view(hub, order_id)["writebacks"], what="write-back")
    assert (
        received["kind"],
        received["revision"],
        received["status"],
        received["score"],
        received["max_score"],
        received["result_url"],
    ) == ("result", 1, "COMPLETED", 7, 10, RESULT["result_url"])
    assert received["received_at"].endswith("Z")


def test_outage_retries_then_recovery_in_revision_order(hub: Hub, tenant: Tenant) -> None:
    order_id = tenant.create_order()
    outage(hub, tenant, "503")
    try:
        assert tenant.put_result(order_id, {**RESULT, "status": "OPEN"}).status_code == 200
        first = wait_until(
            lambda: [r for r in outbox(hub, order_id, "writeback") if r.attempts >= 2], what="write-back retries"
        )[0]
        assert {a.http_status for a in attempts(hub, first.id)} == {503}
        for score in (1, 2, 3):
            assert tenant.put_result(order_id, {**RESULT, "score": score}).status_code == 200
    finally:
        outage(hub, tenant, "off")
    wait_until(
        lambda: all(r.state in ("succeeded", "superseded") for r in outbox(hub, order_id, "writeback")),
        what="write-backs to settle",
    )
    received = sandbox_view(hub, order_id)["writebacks"]
    revisions = [w["revision"] for w in received]
    assert revisions == sorted(set(revisions)) and revisions[-1] == 4  # increasing, ends at the latest
    assert received[-1]["score"] == 3
    states = [r.state for r in outbox(hub, order_id, "writeback")]
    assert states[-1] == "succeeded" and "superseded" in states  # unsent older revisions were replaced


def test_dead_delivery_can_be_retried_or_cancelled(hub: Hub, tenant: Tenant) -> None:
    order_id = tenant.create_order()
    outage(hub, tenant, "503")
    try:
        tenant.put_result(order_id, RESULT)
        (row,) = wait_until(lambda: outbox(hub, order_id, "writeback"), what="write-back row")
        with hub.sessions.begin() as session:  # an old message: its next failure is past the age limit
            session.execute(
                update(OutboxRow).where(OutboxRow.id == row.id).values(created_at=utcnow() - timedelta(days=30))
            )
        wait_until(lambda: outbox(hub, order_id, "writeback")[0].state == "dead", what="the row to die")
        assert attempts(hub, row.id)[-1].outcome == "dead"
    finally:
        outage(hub, tenant, "off")
    with unit_of_work(hub.sessions) as session:
        retry_delivery(session, row.id)
    wait_until(lambda: outbox(hub, order_id, "writeback")[0].state == "succeeded", what="operator retry")
    assert sandbox_view(hub, order_id)["writebacks"][-1]["revision"] == 1
    with unit_of_work(hub.sessions) as session, pytest.raises(Exception, match="succeeded"):
        cancel_delivery(session, row.id)


def test_cancelled_delivery_is_not_sent(hub: Hub, tenant: Tenant) -> None:
    order_id = tenant.create_order()
    outage(hub, tenant, "503")
    try:
        tenant.put_result(order_id, RESULT)
        (row,) = wait_until(
            lambda: [r for r in outbox(hub, order_id, "writeback") if r.state == "pending" and r.attempts >= 1],
            what="a write-back in backoff",
        )
        with hub.sessions.begin() as session:  # keep the worker away while the operator decides
            session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == row.id, OutboxRow.state == "pending")
                .values(next_attempt_at=utcnow() + timedelta(hours=1))
            )
        with unit_of_work(hub.sessions) as session:
            cancel_delivery(session, row.id)
    finally:
        outage(hub, tenant, "off")
    count = len(attempts(hub, row.id))
    time.sleep(1.5)  # several worker polls and retry intervals
    assert outbox(hub, order_id, "writeback")[0].state == "cancelled"
    assert len(attempts(hub, row.id)) == count and sandbox_view(hub, order_id)["writebacks"] == []


def test_an_in_flight_delivery_cannot_be_cancelled(hub: Hub, tenant: Tenant) -> None:
    order_id = tenant.create_order()
    outage(hub, tenant, "timeout")  # the sandbox holds the write-back for the delivery timeout
    try:
        tenant.put_result(order_id, RESULT)
        (row,) = wait_until(
            lambda: [r for r in outbox(hub, order_id, "writeback") if r.state == "in_flight"],
            what="a write-back in flight",
        )
        with unit_of_work(hub.sessions) as session, pytest.raises(Exception, match="in_flight"):
            cancel_delivery(session, row.id)
    finally:
        outage(hub, tenant, "off")


def test_rolled_back_change_leaves_no_outbox_row(hub: Hub, tenant: Tenant) -> None:
    order_id = tenant.create_order()
    result = normalize_result(ResultIn.model_validate(RESULT))
    with pytest.raises(RuntimeError), unit_of_work(hub.sessions) as session:
        service.record_result(session, tenant.integration_id, order_id, result, [])
        session.flush()
        assert (
            session.scalar(
                select(func.count())
                .select_from(OutboxRow)
                .where(OutboxRow.order_id == order_id, OutboxRow.kind == "writeback")
            )
            == 1
        )
        raise RuntimeError("forced rollback after the outbox row was written")
    assert outbox(hub, order_id, "writeback") == []
    assert tenant.order(order_id)["result"] is None

    from assessment_hub.connectors.sandbox.orders import create_sandbox_order

    with vendor_receiver(hub), pytest.raises(RuntimeError), unit_of_work(hub.sessions) as session:
        created = create_sandbox_order(session, tenant.integration_id, "1001").id
        session.flush()
        assert session.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.order_id == created)) == 1
        raise RuntimeError("forced rollback of a new order")
    with hub.sessions() as session:
        assert session.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.order_id == created)) == 0


def test_a_422_without_a_json_message_does_not_reject(hub: Hub, tenant: Tenant) -> None:
    # Found in a user trial: a framework's default 422 ({"detail": ...}) rejected every order.
    with vendor_receiver(hub, events=["assessment:order-received"]) as receiver:
        receiver.answer = (422, '{"detail": [{"msg": "field required"}]}')
        order_id = tenant.create_order()
        (row,) = wait_until(lambda: [r for r in outbox(hub, order_id, "webhook") if r.attempts >= 2], what="a retry")
        assert tenant.order(order_id)["status"] == "OPEN"
        assert "without a JSON message" in attempts(hub, row.id)[0].error_message
        receiver.answer = (200, "{}")
        wait_until(lambda: outbox(hub, order_id, "webhook")[0].state == "succeeded", what="recovery")


def test_retrying_an_old_dead_write_back_never_overwrites_a_newer_one(hub: Hub, tenant: Tenant) -> None:
    order_id = tenant.create_order()
    outage(hub, tenant, "401")  # credentials refused: parked dead after needs_human_max_attempts
    try:
        tenant.put_result(order_id, {**RESULT, "status": "OPEN", "score": 4})
        (old,) = wait_until(
            lambda: [r for r in outbox(hub, order_id, "writeback") if r.state == "dead"],
            what="the first write-back to die",
        )
    finally:
        outage(hub, tenant, "off")
    tenant.put_result(order_id, {**RESULT, "score": 9})
    wait_until(lambda: outbox(hub, order_id, "writeback")[-1].state == "succeeded", what="the newer write-back")
    with unit_of_work(hub.sessions) as session:
        retry_delivery(session, old.id)
    wait_until(lambda: outbox(hub, order_id, "writeback")[0].state == "superseded", what="the retried old one")
    received = sandbox_view(hub, order_id)["writebacks"]
    assert [w["revision"] for w in received] == [2] and received[-1]["score"] == 9


def test_needs_human_limit_counts_only_credential_failures(hub: Hub, tenant: Tenant) -> None:
    # Found in a user trial: earlier 5xx attempts counted towards it, so the first 401 killed the delivery.
    order_id = tenant.create_order()
    outage(hub, tenant, "503")
    try:
        tenant.put_result(order_id, RESULT)
        wait_until(
            lambda: outbox(hub, order_id, "writeback")[0].attempts >= hub.settings.needs_human_max_attempts,
            what="several 503 attempts",
        )
        outage(hub, tenant, "401")
        wait_until(lambda: outbox(hub, order_id, "writeback")[0].state == "dead", what="credential failures")
    finally:
        outage(hub, tenant, "off")
    classes = [a.error_class for a in attempts(hub, outbox(hub, order_id, "writeback")[0].id)]
    assert classes.count("needs_human") == hub.settings.needs_human_max_attempts
