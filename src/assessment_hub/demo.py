"""``assessment-hub demo``: the whole round trip on a fresh machine, in one command, in a few seconds.

A temporary SQLite database; the hub (API and delivery worker) served by uvicorn in a thread on a free
loopback port; a small vendor webhook receiver that verifies ``X-Kombo-Signature``; a sandbox
integration; packages set and a result sent with the official ``kombo`` SDK; an order placed in the
sandbox ATS; the write-back shown arriving in the sandbox ATS; then an ATS outage, the retries (read
from the delivery attempt rows), and the recovery.

Every step is one small function, run with a time bound; the first failure stops the demo and names
its step. Retry settings are shortened (``DEMO_SETTINGS``) so the outage part takes about a second.

``run_demo(..., tool=T)`` runs the same steps against another ATS's simulator (``assessment_hub.simulators``: a
real HTTP server on loopback speaking that ATS's protocol): the order is placed by the simulator calling the hub
as the ATS does, the write-backs arrive in the simulator, and the outage is the simulator answering 503.
"""

from __future__ import annotations

import json
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from assessment_hub.delivery.states import AttemptOutcome
from assessment_hub.signing import SIGNATURE_HEADER, verify_signature

DEMO_SETTINGS: dict[str, Any] = {
    "environment": "development",
    "retry_base_s": 0.25,
    "retry_cap_s": 1.0,
    "worker_poll_s": 0.05,
    "worker_lease_s": 10.0,
    "delivery_timeout_s": 2.0,
}
"""Short retries for the demo; everything else as configured (or the defaults)."""

PACKAGE = {"id": "1001", "type": "SKILLS_TEST", "name": "Python coding test", "description": "60 minutes, 3 tasks"}
OUTAGE_FAILED_ATTEMPTS = 3
"""Failed write-back attempts to show before the ATS comes back."""
KOMBO_MISSING = (
    "the official `kombo` SDK is not installed; install it with `pip install kombo` "
    "(a dependency of assessment-hub) and run the demo again"
)


class DemoFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# ---------------------------------------------------------------- the vendor's webhook receiver


@dataclass
class ReceivedEvent:
    event_id: str
    type: str
    data: dict[str, Any]
    received_at: float


class SignedWebhookReceiver:
    """A vendor's webhook endpoint on loopback: verifies each signature with
    ``assessment_hub.signing.verify_signature`` over the raw body, answers 401 when it does not verify,
    200 otherwise, and records every accepted event (duplicates included)."""

    def __init__(self, secret: str = "") -> None:
        self.secret = secret
        self.events: list[ReceivedEvent] = []
        self.refused = 0
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if not verify_signature(receiver.secret, raw, self.headers.get(SIGNATURE_HEADER)):
                    with receiver._changed:
                        receiver.refused += 1
                        receiver._changed.notify_all()
                    self._answer(401, {"message": "signature does not verify"})
                    return
                event = json.loads(raw)
                with receiver._changed:
                    receiver.events.append(
                        ReceivedEvent(event["id"], event["type"], event.get("data") or {}, time.monotonic())
                    )
                    receiver._changed.notify_all()
                self._answer(200, {})

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/webhooks/kombo"

    def start(self) -> SignedWebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait_for(self, predicate: Callable[[list[ReceivedEvent]], Any], timeout: float) -> Any:
        """The first truthy ``predicate(events)`` within ``timeout`` seconds, else None."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = predicate(self.events)
                left = deadline - time.monotonic()
                if found or left <= 0:
                    return found or None
                self._changed.wait(left)


# ---------------------------------------------------------------- the run


@dataclass
class Demo:
    """What the steps share."""

    echo: Callable[[str], None]
    break_receiver_secret: bool = False
    tool: str = "sandbox"
    simulator: Any = None
    """The ATS's simulator (``simulators.base.Simulator``) when ``tool`` is not the sandbox."""
    ats_order: str = ""
    """The simulator's key of the order."""
    started: float = field(default_factory=time.monotonic)
    tmp: Path | None = None
    settings: Any = None
    sessions: sessionmaker[Session] | None = None
    receiver: SignedWebhookReceiver | None = None
    server: Any = None
    server_thread: threading.Thread | None = None
    api_url: str = ""
    api_key: str = ""
    integration_id: str = ""
    kombo: Any = None
    order_id: str = ""
    seen_attempts: int = 0

    @property
    def db(self) -> sessionmaker[Session]:
        """The demo database's session factory (set by the database step)."""
        if self.sessions is None:
            raise DemoFailed("the database step has not run")
        return self.sessions

    @property
    def vendor(self) -> SignedWebhookReceiver:
        """The vendor's webhook receiver (set by the receiver step)."""
        if self.receiver is None:
            raise DemoFailed("the receiver step has not run")
        return self.receiver

    @property
    def ats(self) -> str:
        """How the timeline names the ATS."""
        return "sandbox ATS" if self.simulator is None else f"{self.simulator.label} simulator"

    def line(self, mark: str, text: str) -> None:
        self.echo(f"{time.monotonic() - self.started:6.2f}s  {mark} {text}")


def _wait(probe: Callable[[], Any], timeout: float, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found or time.monotonic() >= deadline:
            return found or None
        time.sleep(interval)


def step_kombo_sdk(demo: Demo) -> str:
    try:
        from kombo import Kombo  # noqa: F401 - the demo's vendor uses the official SDK
    except ImportError:
        raise DemoFailed(KOMBO_MISSING) from None
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("kombo")
    except PackageNotFoundError:
        found = "?"
    return f"official kombo SDK {found} found"


def step_database(demo: Demo) -> str:
    from assessment_hub.config import Settings
    from assessment_hub.db.engine import build_engine
    from assessment_hub.db.migrate import upgrade

    demo.tmp = Path(tempfile.mkdtemp(prefix="assessment-hub-demo-"))
    import os

    quiet: dict[str, Any] = (
        {} if "ASSESSMENT_HUB_LOG_LEVEL" in os.environ else {"log_level": "warning"}
    )  # the timeline is the output
    demo.settings = Settings(
        database_url=f"sqlite:///{demo.tmp / 'demo.db'}",
        attachments_dir=demo.tmp / "attachments",
        **DEMO_SETTINGS,
        **quiet,
    )
    engine = build_engine(demo.settings)
    upgrade(engine)
    demo.sessions = sessionmaker(engine, expire_on_commit=False)
    return f"temporary SQLite database {demo.tmp / 'demo.db'} migrated"


def step_receiver(demo: Demo) -> str:
    demo.receiver = SignedWebhookReceiver().start()
    return f"vendor webhook receiver listening on {demo.vendor.url} (verifies {SIGNATURE_HEADER})"


def step_server(demo: Demo) -> str:
    import uvicorn

    from assessment_hub.app import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    demo.settings = demo.settings.model_copy(update={"public_base_url": f"http://127.0.0.1:{port}"})
    demo.server = uvicorn.Server(
        uvicorn.Config(create_app(demo.settings, worker=True), log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=demo.server.run, kwargs={"sockets": [sock]}, name="hub-server", daemon=True)
    demo.server_thread = thread
    thread.start()
    if not _wait(lambda: demo.server.started or not thread.is_alive(), 10) or not demo.server.started:
        raise DemoFailed("the server did not start")
    demo.api_url = f"http://127.0.0.1:{port}/v1"
    return f"server listening on {demo.api_url} with a delivery worker (retries after {demo.settings.retry_base_s:g} s, doubling)"


def step_integration(demo: Demo) -> str:
    from assessment_hub.connecting import create_integration, integration_setup
    from assessment_hub.db.session import unit_of_work
    from assessment_hub.integrations.service import create_api_key
    from assessment_hub.webhooks.service import create_endpoint

    sim = demo.simulator
    with unit_of_work(demo.db) as session:
        demo.api_key = create_api_key(session, "demo")
        row = create_integration(
            session,
            demo.tool,
            "Demo Org",
            settings=sim.hub_settings() if sim is not None else None,
            cipher=demo.settings.cipher,
        )
        demo.integration_id = row.id
        setup = integration_setup(row, demo.settings.cipher, demo.settings.public_base_url) if sim else {}
        _endpoint, secret = create_endpoint(session, demo.settings.cipher, demo.vendor.url)
    demo.vendor.secret = "whsec_not_the_one_the_hub_signs_with" if demo.break_receiver_secret else secret
    if sim is not None:
        sim.configure(setup)
        return (
            f"{demo.tool} integration {demo.integration_id}, an API key, the receiver registered as webhook "
            f"endpoint; its setup ({', '.join(setup)}) pasted into the {demo.ats}"
        )
    return f"sandbox integration {demo.integration_id}, an API key, and the receiver registered as webhook endpoint"


def step_simulator(demo: Demo) -> str:
    from assessment_hub.simulators.base import simulator_class

    demo.simulator = simulator_class(demo.tool)(timeout=10).start()
    return f"{demo.ats} listening on {demo.simulator.url} (it speaks the {demo.simulator.label} protocol)"


def step_packages(demo: Demo) -> str:
    from kombo import Kombo

    demo.kombo = Kombo(
        api_key=demo.api_key, integration_id=demo.integration_id, server_url=demo.api_url, timeout_ms=10_000
    )
    demo.kombo.assessment.set_packages(packages=[PACKAGE])
    listed = demo.kombo.assessment.get_packages().data.packages
    if [p.id for p in listed] != [PACKAGE["id"]]:
        raise DemoFailed(f"the hub lists packages {[p.id for p in listed]}, expected [{PACKAGE['id']!r}]")
    return f"packages set with the kombo SDK: {PACKAGE['id']} {PACKAGE['name']!r}"


def step_order(demo: Demo) -> str:
    if demo.simulator is not None:
        demo.ats_order = demo.simulator.order(PACKAGE["id"], "ada@example.com", "Ada", "Lovelace")
        return (
            f"order {demo.ats_order} placed by the {demo.ats} (calling the hub as {demo.simulator.label} does) "
            "for Ada Lovelace <ada@example.com>"
        )
    from assessment_hub.connectors.sandbox.orders import create_sandbox_order
    from assessment_hub.db.session import unit_of_work

    with unit_of_work(demo.db) as session:
        order = create_sandbox_order(session, demo.integration_id, PACKAGE["id"], seed=42)
        demo.order_id, candidate = order.id, order.candidate
    return (
        f"order {demo.order_id} placed in the sandbox ATS for "
        f"{candidate['first_name']} {candidate['last_name']} <{candidate['email']}>"
    )


def step_webhook(demo: Demo) -> str:
    timeout = 5.0

    def for_order(events: list[ReceivedEvent]) -> ReceivedEvent | None:
        return next(
            (
                e
                for e in events
                if e.type == "assessment:order-received" and (e.data.get("id") == demo.order_id or not demo.order_id)
            ),
            None,
        )

    event = demo.vendor.wait_for(for_order, timeout)
    if event is None:
        refused = (
            f"; the receiver refused {demo.vendor.refused} attempt(s) whose signature did not verify"
            if demo.vendor.refused
            else ""
        )
        raise DemoFailed(
            f"no verified assessment:order-received for order {demo.order_id or demo.ats_order} "
            f"within {timeout:g} s{refused}"
        )
    if not demo.order_id:  # the ATS's order: the hub's id arrives with the webhook
        demo.order_id = str(event.data["id"])
    return f"signed webhook {event.type} (event {event.event_id}) received, signature verified"


def _writeback(demo: Demo, revision: int) -> dict[str, Any] | None:
    if demo.simulator is not None:
        arrived = demo.simulator.writebacks(demo.ats_order)
        return arrived[revision - 1] if len(arrived) >= revision else None
    from assessment_hub.connectors.sandbox.service import show_order

    with demo.db() as session:
        view = show_order(session, demo.order_id)
    return next((w for w in view["writebacks"] if w["kind"] == "result" and w["revision"] == revision), None)


def _send_result(demo: Demo, score: int, summary: str) -> int:
    demo.kombo.assessment.update_order_result(
        assessment_order_id=demo.order_id,
        status="COMPLETED",
        result_url="https://vendor.example/results/42",
        score=score,
        max_score=100,
        attributes=[
            {"type": "TEXT", "label": "Summary", "value": summary},
            {
                "type": "SUB_RESULT",
                "id": "algo",
                "label": "Algorithms",
                "score": {"value": score // 2, "max": 50},
                "status": "COMPLETED",
            },
        ],
    )
    return _latest_revision(demo)


def _latest_revision(demo: Demo) -> int:
    from assessment_hub.assessment.models import OrderRow, ResultRevisionRow

    with demo.db() as session:
        return (
            session.scalar(
                select(ResultRevisionRow.revision)
                .join(OrderRow, OrderRow.latest_result_id == ResultRevisionRow.id)
                .where(OrderRow.id == demo.order_id)
            )
            or 0
        )


def step_result(demo: Demo) -> str:
    revision = _send_result(demo, 87, "Strong on algorithms")
    return f"result sent with the kombo SDK: COMPLETED, 87/100 (revision {revision})"


def step_writeback(demo: Demo) -> str:
    timeout = 5.0
    received = _wait(lambda: _writeback(demo, 1), timeout)
    if received is None:
        raise DemoFailed(f"revision 1 did not arrive in the {demo.ats} within {timeout:g} s ({_last_error(demo)})")
    return f"write-back arrived in the {demo.ats}: revision 1, {received['status']}, {received['score']:g}/{received['max_score']:g}"


def step_outage(demo: Demo) -> str:
    if demo.simulator is not None:
        demo.simulator.set_mode("503")
        return f"ATS outage: the {demo.ats} now answers every write-back with HTTP 503"
    from assessment_hub.connectors.sandbox.service import set_outage
    from assessment_hub.db.session import unit_of_work

    with unit_of_work(demo.db) as session:
        set_outage(session, demo.integration_id, "503")
    return "ATS outage: the sandbox ATS now answers every write-back with HTTP 503"


def step_correction(demo: Demo) -> str:
    revision = _send_result(demo, 91, "Strong on algorithms; re-graded")
    return (
        f"correction sent with the kombo SDK: 91/100 (revision {revision}); the hub stores it and queues the write-back"
    )


def _attempts(demo: Demo) -> list[Any]:
    from assessment_hub.delivery.models import DeliveryAttemptRow, OutboxRow

    with demo.db() as session:
        newest = session.scalar(
            select(OutboxRow.id)
            .where(OutboxRow.order_id == demo.order_id, OutboxRow.kind == "writeback")
            .order_by(OutboxRow.id.desc())
            .limit(1)
        )
        return list(
            session.scalars(
                select(DeliveryAttemptRow).where(DeliveryAttemptRow.outbox_id == newest).order_by(DeliveryAttemptRow.id)
            )
        )


def _last_error(demo: Demo) -> str:
    attempts = _attempts(demo)
    return f"last attempt: {attempts[-1].error_message}" if attempts else "no delivery attempt yet"


def _show_new_attempts(demo: Demo) -> list[Any]:
    attempts = _attempts(demo)
    for number, attempt in enumerate(attempts[demo.seen_attempts :], start=demo.seen_attempts + 1):
        if attempt.outcome == AttemptOutcome.SUCCEEDED:
            demo.line("↻", f"write-back attempt {number}: delivered in {attempt.duration_ms} ms")
            continue
        what = f"HTTP {attempt.http_status}" if attempt.http_status else (attempt.error_message or "failed")
        demo.line("↻", f"write-back attempt {number}: {what} ({attempt.error_class}), {attempt.outcome}")
    demo.seen_attempts = len(attempts)
    return attempts


def step_retries(demo: Demo) -> str:
    timeout = 8.0
    failed = _wait(
        lambda: (
            len([a for a in _show_new_attempts(demo) if a.outcome == AttemptOutcome.RETRY]) >= OUTAGE_FAILED_ATTEMPTS
        ),
        timeout,
    )
    if not failed:
        raise DemoFailed(
            f"expected {OUTAGE_FAILED_ATTEMPTS} failed write-back attempts within {timeout:g} s, "
            f"saw {demo.seen_attempts}"
        )
    if _writeback(demo, 2) is not None:
        raise DemoFailed(f"revision 2 reached the {demo.ats} during its outage")
    return (
        f"{OUTAGE_FAILED_ATTEMPTS} attempts failed and were retried with backoff; the write-back waits, nothing is lost"
    )


def step_recovery(demo: Demo) -> str:
    from assessment_hub.connectors.sandbox.service import set_outage
    from assessment_hub.db.session import unit_of_work

    timeout = 6.0
    if demo.simulator is not None:
        demo.simulator.set_mode("ok")
    else:
        with unit_of_work(demo.db) as session:
            set_outage(session, demo.integration_id, "off")
    demo.line("✓", f"ATS recovered: the {demo.ats} answers normally again")
    received = _wait(lambda: _writeback(demo, 2), timeout)
    _show_new_attempts(demo)
    if received is None:
        raise DemoFailed(f"revision 2 did not arrive within {timeout:g} s after the recovery ({_last_error(demo)})")
    return (
        f"write-back arrived in the {demo.ats}: revision 2, {received['status']}, "
        f"{received['score']:g}/{received['max_score']:g}, after {demo.seen_attempts} attempts"
    )


STEPS: list[tuple[str, float, Callable[[Demo], str]]] = [
    ("kombo SDK", 10, step_kombo_sdk),
    ("database", 20, step_database),
    ("webhook receiver", 5, step_receiver),
    ("server", 15, step_server),
    ("ATS simulator", 10, step_simulator),
    ("integration", 10, step_integration),
    ("packages", 15, step_packages),
    ("order placed", 10, step_order),
    ("webhook received", 10, step_webhook),
    ("result sent", 15, step_result),
    ("write-back", 10, step_writeback),
    ("ATS outage", 10, step_outage),
    ("correction sent", 15, step_correction),
    ("retries", 12, step_retries),
    ("recovery", 10, step_recovery),
]
"""(name, hard time bound in seconds, function). Each function returns the timeline line."""


def _run_bounded(name: str, timeout: float, fn: Callable[[Demo], str], demo: Demo) -> str:
    """Run one step in a thread; a step still running after ``timeout`` seconds fails."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["line"] = fn(demo)
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=target, name=f"demo-{name}", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise DemoFailed(f"did not finish within {timeout:g} s")
    error = outcome.get("error")
    if isinstance(error, DemoFailed):
        raise error
    if error is not None:
        raise DemoFailed(f"{type(error).__name__}: {error}") from error
    return outcome["line"]


def _cleanup(demo: Demo) -> None:
    if demo.server is not None:
        demo.server.should_exit = True
        if demo.server_thread is not None:
            demo.server_thread.join(timeout=10)
    if demo.receiver is not None:
        demo.receiver.stop()
    if demo.simulator is not None:
        demo.simulator.stop()
    if demo.sessions is not None:
        demo.sessions.kw["bind"].dispose()
    if demo.tmp is not None:
        shutil.rmtree(demo.tmp, ignore_errors=True)


def run_demo(echo: Callable[[str], None], *, break_receiver_secret: bool = False, tool: str = "sandbox") -> str | None:
    """Run every step, printing the timeline; returns None on success, else the name of the failed step.
    ``tool``: the sandbox, or an ATS with a simulator (``assessment_hub.simulators``)."""
    demo = Demo(echo=echo, break_receiver_secret=break_receiver_secret, tool=tool)
    ats = "sandbox ATS" if tool == "sandbox" else f"the {tool} simulator"
    echo(f"assessment-hub demo: vendor <-> hub <-> {ats}, on a temporary database\n")
    try:
        for name, timeout, fn in STEPS:
            if fn is step_simulator and tool == "sandbox":
                continue
            try:
                demo.line("✓", _run_bounded(name, timeout, fn, demo))
            except DemoFailed as failure:
                demo.line("✗", f"{name}: {failure.reason}")
                return name
        demo.line("✓", "demo complete: order, signed webhook, result, write-back, outage, retries, recovery")
        return None
    finally:
        _cleanup(demo)
