"""Lever signs ``token + triggeredAt``, not the body (ats-protocols-2.md §4.2): a captured delivery's signed fields
posted again with another ``data`` is refused 401 and orders nothing, in every process (the tokens are kept in the
database, ``intake.remember_event``), while Lever retrying the very same delivery still gets its order; a fresh
delivery still orders; a delivery triggered more than 30 days ago (its token may be forgotten) makes no new order,
and each token is remembered until then (``connectors.lever.replay``)."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from assessment_hub.app import create_app
from assessment_hub.connectors.inbound import integration_base_url
from assessment_hub.connectors.lever.replay import CLOCK_MARGIN_S, MAX_TRIGGERED_AT_MS, REPLAY_WINDOW_S, digits_ms
from assessment_hub.integrations.models import InboundEventRow
from assessment_hub.simulators.lever import LeverSimulator
from tests.connectors.test_lever_contract import (
    PACKAGES,
    LeverHarness,
    notices_of,
    orders_of,
    publish,
    stage_change,
)
from tests.support import Hub, serve_in_thread

pytestmark = pytest.mark.live  # the simulator calls the hub over a socket

DAY_MS = 86_400_000


@pytest.fixture
def lever(hub: Hub) -> Iterator[LeverHarness]:
    with LeverSimulator(packages=PACKAGES, timeout=15) as sim:
        yield LeverHarness(hub, sim)


def captured(lever: LeverHarness) -> dict:
    """The last delivery the simulator posted, as someone who saw it on the wire would have it."""
    return copy.deepcopy(lever.sim.deliveries[-1]["body"])


def lever_reads(lever: LeverHarness, opportunity_id: str) -> list[str]:
    return [r.path for r in lever.sim.received if r.path == f"/v1/opportunities/{opportunity_id}"]


def test_a_replayed_token_with_another_opportunity_is_refused_and_orders_nothing(lever: LeverHarness, hub: Hub) -> None:
    publish(lever, "pkg-1")
    sim = lever.sim
    genuine = sim.new_opportunity("ada@example.com")
    first = sim.move(genuine, sim.stage_for("pkg-1")).json()["order"]
    victim = sim.new_opportunity("mallory@example.com")
    forged = captured(lever)
    forged["data"] = stage_change(sim, victim, sim.stage_for("pkg-1"))  # same token, triggeredAt, signature
    refused = sim.deliver(forged)
    assert refused.status_code == 401 and refused.json()["code"] == "Unauthorized"
    assert "already used with another body" in refused.json()["message"]
    # another hub process on the same database knows the token too (kept in the database, not in memory)
    with serve_in_thread(create_app(hub.settings)) as other:
        sim.setup["webhook_url"] = integration_base_url(other, lever.tenant.integration_id) + "/webhook"
        assert sim.deliver(forged).status_code == 401
    assert [o.id for o in orders_of(hub, lever.tenant.integration_id)] == [first]
    assert lever_reads(lever, victim) == []  # Lever was not even asked for the victim's opportunity
    refusals = [n for n in notices_of(hub, lever.tenant.integration_id) if n.startswith("Lever delivery refused")]
    assert len(refusals) == 2 and all("(401)" in n and "replayed signature" in n for n in refusals)


def test_a_replayed_non_ordering_delivery_moved_into_an_ordering_stage_is_refused(
    lever: LeverHarness, hub: Hub
) -> None:
    """The delivery's own token made no order, so only the remembered body tells the replay apart."""
    publish(lever, "pkg-1")
    sim = lever.sim
    opportunity = sim.new_opportunity()
    assert sim.move(opportunity, "phone-screen").json()["order"] is None  # a stage that orders nothing
    forged = captured(lever)
    forged["data"]["toStageId"] = sim.stage_for("pkg-1")
    assert sim.deliver(forged).status_code == 401
    ping = sim.signed(None)  # the connection test carries no data at all: its token with data is a replay too
    assert sim.deliver(ping).status_code == 200
    assert sim.deliver({**ping, "data": stage_change(sim, opportunity, sim.stage_for("pkg-1"))}).status_code == 401
    assert orders_of(hub, lever.tenant.integration_id) == [] and lever_reads(lever, opportunity) == []


def test_the_same_body_again_answers_the_same_order_and_a_fresh_delivery_orders(lever: LeverHarness, hub: Hub) -> None:
    publish(lever, "pkg-1", "pkg-2")
    sim = lever.sim
    opportunity = sim.new_opportunity()
    first = sim.move(opportunity, sim.stage_for("pkg-1")).json()["order"]
    body = captured(lever)
    # Lever retrying: the same body, even serialized in another key order, answers the same order
    reordered = {k: body[k] for k in reversed(list(body))}
    reordered["data"] = {k: body["data"][k] for k in reversed(list(body["data"]))}
    again = sim.deliver(reordered)
    assert again.status_code == 200 and again.json() == {"order": first, "message": "Already ordered."}
    # a fresh delivery (a new token) still orders
    second = sim.move(opportunity, sim.stage_for("pkg-2")).json()["order"]
    assert second not in (None, first)
    assert sorted(o.id for o in orders_of(hub, lever.tenant.integration_id)) == sorted([first, second])
    assert not [n for n in notices_of(hub, lever.tenant.integration_id) if "refused" in n]


def test_a_delivery_older_than_the_window_makes_no_new_order_and_each_token_is_kept_until_then(
    lever: LeverHarness, hub: Hub
) -> None:
    publish(lever, "pkg-1")
    sim = lever.sim
    now_ms = int(time.time() * 1000)
    late = sim.new_opportunity("late@example.com")
    late_body = sim.signed(stage_change(sim, late, sim.stage_for("pkg-1")), triggered_at=now_ms - 29 * DAY_MS)
    ordered = sim.deliver(late_body)
    assert ordered.status_code == 200 and ordered.json()["order"]  # 29 days late: still inside the window
    stale = sim.new_opportunity("stale@example.com")
    stale_body = sim.signed(stage_change(sim, stale, sim.stage_for("pkg-1")), triggered_at=now_ms - 31 * DAY_MS)
    refused = sim.deliver(stale_body)
    assert refused.status_code == 401 and "more than 30 days ago" in refused.json()["message"]
    assert [o.id for o in orders_of(hub, lever.tenant.integration_id)] == [ordered.json()["order"]]
    assert lever_reads(lever, stale) == []
    (notice,) = [n for n in notices_of(hub, lever.tenant.integration_id) if "30 days" in n]
    assert stale in notice and "(401)" in notice
    # a stale delivery whose token made an order still answers it (Lever retrying a delivery it sent long ago)
    assert sim.deliver(late_body).json() == {"order": ordered.json()["order"], "message": "Already ordered."}
    fresh = sim.move(sim.new_opportunity(), sim.stage_for("pkg-1"))
    with hub.sessions() as session:
        kept = {
            row.event_id: row.expires_at
            for row in session.scalars(
                select(InboundEventRow).where(InboundEventRow.integration_id == lever.tenant.integration_id)
            )
        }
    fresh_token = sim.deliveries[-1]["body"]["token"]
    assert fresh.json()["order"] and set(kept) == {late_body["token"], stale_body["token"], fresh_token}

    def until(body: dict) -> datetime:  # the token is remembered until triggeredAt + 30 days + the margin
        window = timedelta(seconds=REPLAY_WINDOW_S + CLOCK_MARGIN_S)
        return datetime.fromtimestamp(body["triggeredAt"] / 1000, UTC) + window

    assert abs(kept[fresh_token] - until(sim.deliveries[-1]["body"])) < timedelta(seconds=5)
    assert abs(kept[late_body["token"]] - until(late_body)) < timedelta(seconds=5)  # 1 day + margin from now
    expected_stale = datetime.now(UTC) + timedelta(seconds=CLOCK_MARGIN_S)  # already stale: the margin only
    assert abs(kept[stale_body["token"]] - expected_stale) < timedelta(seconds=30)


def now_ms_in(zero: str) -> str:
    """Now in Unix milliseconds, written in the digits that start at ``zero`` (``int()`` reads them all)."""
    return str(int(time.time() * 1000)).translate({ord("0") + d: ord(zero) + d for d in range(10)})


@pytest.mark.parametrize(
    "triggered_at",
    [
        10**30,
        -1,
        MAX_TRIGGERED_AT_MS + 1,
        "1" + "0" * 30,
        10**400,
        "1" * 5000,
        now_ms_in("\u0660"),
        now_ms_in("\uff10"),
        "1714000000000\u00b2",
        "\u0661" + str(int(time.time() * 1000))[1:],
    ],
    ids=[
        "1e30",
        "negative",
        "max+1",
        "digits-1e30",
        "1e400",
        "5000-digits",
        "arabic-indic-digits",
        "full-width-digits",
        "superscript-two",
        "one-arabic-indic-digit",
    ],
)
def test_a_signed_triggered_at_outside_unix_milliseconds_is_400_in_levers_shape(
    lever: LeverHarness, hub: Hub, triggered_at: int | str
) -> None:
    """Correctly signed, but no instant the hub represents (schemas.Delivery): 400, as a boolean is, not a 500;
    so are digits that are not ASCII (Arabic-Indic, full-width, ``²``), which ``int()`` would read as now, and
    a 5000-digit string (``int()`` refuses over 4,300 digits), with the hub's message, not Python's."""
    publish(lever, "pkg-1")
    sim = lever.sim
    opportunity = sim.new_opportunity()
    body = sim.signed(stage_change(sim, opportunity, sim.stage_for("pkg-1")), triggered_at=triggered_at)  # type: ignore[arg-type]
    refused = sim.deliver(body)
    assert refused.status_code == 400, refused.text
    assert set(refused.json()) == {"code", "message"} and "triggeredAt" in refused.json()["message"]
    assert "must be Unix milliseconds" in refused.json()["message"], refused.json()
    assert orders_of(hub, lever.tenant.integration_id) == []
    assert lever_reads(lever, opportunity) == []


def test_only_ascii_digits_are_read_as_milliseconds() -> None:
    """``replay.digits_ms``: ASCII digits (spaces around, leading zeros however many) are a number; other
    Unicode digits, signs, fractions and empty text are not; past 15 significant digits it is past the
    maximum, whatever the length (``int()`` would refuse 5,000 digits)."""
    assert digits_ms(" 1714000000000 ") == 1714000000000
    assert digits_ms("0" * 5000 + "1") == 1 and digits_ms("0" * 5000) == 0
    assert digits_ms("1" * 5000) == digits_ms("1" * 16) == MAX_TRIGGERED_AT_MS + 1
    assert digits_ms(str(MAX_TRIGGERED_AT_MS)) == MAX_TRIGGERED_AT_MS
    for text in (now_ms_in("\u0660"), now_ms_in("\uff10"), "1\u00b2", "\u0661", "+1", "-1", "1.5", "1_0", "", " "):
        assert digits_ms(text) is None, text


def test_a_far_future_triggered_at_orders_nothing_and_its_token_is_not_kept_for_centuries(
    lever: LeverHarness, hub: Hub
) -> None:
    publish(lever, "pkg-1")
    sim = lever.sim
    tokens = []
    for triggered_at in (MAX_TRIGGERED_AT_MS, int(time.time() * 1000) + 2 * DAY_MS):
        opportunity = sim.new_opportunity()
        body = sim.signed(stage_change(sim, opportunity, sim.stage_for("pkg-1")), triggered_at=triggered_at)
        refused = sim.deliver(body)
        assert refused.status_code == 401 and "in the future" in refused.json()["message"], refused.text
        assert lever_reads(lever, opportunity) == []
        tokens.append(body["token"])
    assert orders_of(hub, lever.tenant.integration_id) == []
    with hub.sessions() as session:
        kept = session.scalars(select(InboundEventRow).where(InboundEventRow.event_id.in_(tokens))).all()
    cap = datetime.now(UTC) + timedelta(seconds=REPLAY_WINDOW_S + 2 * CLOCK_MARGIN_S)
    assert len(kept) == 2 and all(row.expires_at <= cap + timedelta(seconds=5) for row in kept)


def test_a_signed_triggered_at_of_text_that_is_not_digits_orders_nothing(lever: LeverHarness, hub: Hub) -> None:
    """No instant to remember its token until: treated as a delivery triggered too long ago (docs/connectors/lever.md)."""
    publish(lever, "pkg-1")
    sim = lever.sim
    opportunity = sim.new_opportunity()
    ordering = sim.signed(stage_change(sim, opportunity, sim.stage_for("pkg-1")), triggered_at="abc")  # type: ignore[arg-type]
    refused = sim.deliver(ordering)
    assert refused.status_code == 401 and "30 days ago" in refused.json()["message"], refused.text
    assert lever_reads(lever, opportunity) == []
    quiet = sim.signed(stage_change(sim, opportunity, "phone-screen"), triggered_at="abc")  # type: ignore[arg-type]
    answer = sim.deliver(quiet)
    assert answer.status_code == 200 and answer.json()["order"] is None, answer.text
    assert orders_of(hub, lever.tenant.integration_id) == []
