"""tests/data/cases/retry-after-floor.json: a Retry-After can lengthen the wait, never shorten it below the
policy's backoff; a 429 without one waits ``rate_limit_default_s``; a 503's Retry-After is not read.

Each case's answer comes from a real HTTP server on loopback, received by the hub's real sender for that
destination (the vendor webhook sender, each connector's write-back); the classification it makes is then
run through ``delivery.policy`` attempt after attempt to get the schedule the worker would follow.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import sessionmaker

from assessment_hub.config import Settings
from assessment_hub.connectors.ashby import writeback as ashby
from assessment_hub.connectors.base import ConnectorContext, ConnectorError
from assessment_hub.connectors.greenhouse import writeback as greenhouse
from assessment_hub.connectors.lever import writeback as lever
from assessment_hub.connectors.recruitee import writeback as recruitee
from assessment_hub.connectors.teamtailor import writeback as teamtailor
from assessment_hub.delivery.policy import next_attempt_delay
from assessment_hub.delivery.senders import send_webhook
from assessment_hub.kit.timestamps import utcnow

CASES = json.loads((Path(__file__).parent / "data" / "cases" / "retry-after-floor.json").read_text())["cases"]
SETTINGS = Settings()
WINDOW_S = 10.0


@contextmanager
def answering(status: int, headers: dict[str, str]) -> Iterator[str]:
    """A loopback HTTP server answering every request with ``status`` and ``headers``; yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            body = b'{"errors": [{"detail": "slow down"}]}'
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_PUT = do_PATCH = _answer

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def header_values(headers: dict[str, str]) -> dict[str, str]:
    """The case's headers with its placeholders filled in (an HTTP date 5 s in the past)."""
    past = format_datetime(utcnow() - timedelta(seconds=5), usegmt=True)
    return {key: past if value == "<HTTP-date 5 seconds in the past>" else value for key, value in headers.items()}


# Each sender returns (error_class, retry_after) for the answer at ``url``.
Sender = Callable[[httpx.Client, str], tuple[str | None, float | None]]


def vendor_webhook(http: httpx.Client, url: str) -> tuple[str | None, float | None]:
    outcome = send_webhook(http, url, "whsec_test", "{}", "assessment:order-received", 5.0)
    assert outcome.status == "failed"
    return outcome.error_class, outcome.retry_after


def _connector_error(call: Callable[[], None]) -> tuple[str | None, float | None]:
    with pytest.raises(ConnectorError) as caught:
        call()
    return caught.value.error_class, getattr(caught.value, "retry_after", None)


def _context(http: httpx.Client, settings: dict[str, Any]) -> ConnectorContext:
    return ConnectorContext("test:integration", settings, SETTINGS, http, sessionmaker(), sessionmaker())


def greenhouse_nudge(http: httpx.Client, url: str) -> tuple[str | None, float | None]:
    host = url.split("//", 1)[1]
    settings = {"api_key": "key", "allowed_callback_hosts": host}
    context = _context(http, settings)
    request = greenhouse.nudge_request(http, f"{url}/take-home/1", settings, 5.0)
    return _connector_error(lambda: greenhouse.nudge(context, request, 5.0))


def teamtailor_put(http: httpx.Client, url: str) -> tuple[str | None, float | None]:
    context = _context(http, {"api_key": "key"})
    request = teamtailor.partner_result_request(context, f"{url}/r/1", "1", {"status": "pending"})
    return _connector_error(lambda: teamtailor.put_partner_result(context, request))


def ashby_update(http: httpx.Client, url: str) -> tuple[str | None, float | None]:
    context = _context(http, {"api_key": "key", "api_base_url": url})
    request = ashby.update_request(context, {"assessment_id": "a"})
    return _connector_error(lambda: ashby.send_update(context, request))


def recruitee_patch(http: httpx.Client, url: str) -> tuple[str | None, float | None]:
    context = _context(http, {"codename": "acme", "partner_secret": "secret", "api_base_url": url})
    request = recruitee.report_request(context, f"{url}/p/acme/reports/r1", {"status": "completed"})
    return _connector_error(lambda: recruitee.patch_report(context, request))


def lever_note(http: httpx.Client, url: str) -> tuple[str | None, float | None]:
    context = _context(http, {"api_key": "key", "api_base_url": url})
    return _connector_error(lambda: lever.post_note(context, lever.note_request(context, "opp-1", {"value": "x"})))


CONNECTOR_WRITEBACKS: dict[str, Sender] = {
    "greenhouse": greenhouse_nudge,
    "teamtailor": teamtailor_put,
    "ashby": ashby_update,
    "recruitee": recruitee_patch,
    "lever": lever_note,
}
SENDERS: dict[str, dict[str, Sender]] = {
    "vendor webhook": {"vendor webhook": vendor_webhook},
    "greenhouse write-back (PATCH nudge)": {"greenhouse": greenhouse_nudge},
    "any connector write-back": CONNECTOR_WRITEBACKS,
}


def schedule(error_class: str, retry_after: float | None, window_s: float) -> tuple[list[float], bool]:
    """The gaps between attempts the policy gives within ``window_s`` (every answer the same), and whether
    the delivery is still pending at the end of the window."""
    gaps: list[float] = []
    created = utcnow()
    elapsed, attempts = 0.0, 1  # the first attempt at t=0 failed
    while elapsed <= window_s:
        delay = next_attempt_delay(
            SETTINGS, error_class, attempts, created, created + timedelta(seconds=elapsed), retry_after=retry_after
        )
        if delay is None:
            return gaps, False
        gaps.append(delay)
        elapsed += delay
        attempts += 1
    return gaps, True


def backoff(attempt: int) -> float:
    """The policy's own (unjittered) delay after ``attempt`` failed attempts: at least ``retry_base_s``."""
    return min(SETTINGS.retry_base_s * 2 ** (attempt - 1), SETTINGS.retry_cap_s)


def test_every_destination_of_the_case_file_has_a_sender() -> None:
    assert {case["destination"] for case in CASES} <= set(SENDERS)


@pytest.mark.parametrize(
    ("case", "name", "sender"),
    [
        pytest.param(case, name, sender, id=f"{number}-{name}")
        for number, case in enumerate(CASES, start=1)
        for name, sender in SENDERS[case["destination"]].items()
    ],
)
def test_retry_after_never_shortens_the_policys_wait(case: dict[str, Any], name: str, sender: Sender) -> None:
    (answer,) = case["answers"]
    expect = case["expect"]
    with answering(answer["http"], header_values(answer["headers"])) as url, httpx.Client(timeout=5.0) as http:
        error_class, retry_after = sender(http, url)
    assert error_class == ("rate_limited" if answer["http"] == 429 else "transient"), (name, error_class)
    if expect.get("retry_after_ignored"):
        assert retry_after is None
    gaps, pending = schedule(error_class, retry_after, WINDOW_S)
    for attempt, gap in enumerate(gaps, start=1):
        assert gap >= backoff(attempt) * (0.8 if error_class == "transient" else 1.0), (name, attempt, gaps)
    assert pending, f"{name}: dead within {WINDOW_S:g} s after {gaps}"
    assert len(gaps) <= 5, f"{name}: {len(gaps)} attempts within {WINDOW_S:g} s: {gaps}"
    if answer["http"] == 429 and not answer["headers"]:
        assert gaps[0] == SETTINGS.rate_limit_default_s, (name, gaps)


def test_a_long_retry_after_is_kept_and_capped() -> None:
    assert next_attempt_delay(SETTINGS, "rate_limited", 1, utcnow(), utcnow(), retry_after=120) == 120
    assert (
        next_attempt_delay(SETTINGS, "rate_limited", 1, utcnow(), utcnow(), retry_after=10**7) == SETTINGS.retry_cap_s
    )


@pytest.mark.parametrize(
    ("name", "sender"), [pytest.param(n, s, id=n) for senders in SENDERS.values() for n, s in senders.items()]
)
def test_a_retry_after_of_a_non_ascii_digit_is_unreadable_not_a_crash(name: str, sender: Sender) -> None:
    """``Retry-After: ²`` (a latin-1 byte that ``str.isdigit`` accepts and ``float`` refuses): no wait read from
    it, the answer still classified as rate limited (connectors.base.parse_retry_after)."""
    with answering(429, {"Retry-After": "\u00b2"}) as url, httpx.Client(timeout=5.0) as http:
        error_class, retry_after = sender(http, url)
    assert (error_class, retry_after) == ("rate_limited", None), name
