"""An inline order's synchronous delivery holds its outbox row: a background worker must not claim it too.

The ATS is waiting for the vendor's ``assessment_url``; if a worker (polling in the server process) took
the same row while the inline send was in progress, the event would be sent twice and the inline caller
would find its row no longer its own and return no URL.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from assessment_hub.assessment.schemas import PackageIn
from assessment_hub.assessment.service import set_packages
from assessment_hub.config import Settings
from assessment_hub.connecting import create_integration
from assessment_hub.connectors.sandbox.orders import create_sandbox_order
from assessment_hub.db.engine import build_engine
from assessment_hub.db.migrate import upgrade
from assessment_hub.db.session import unit_of_work
from assessment_hub.delivery.inline import deliver_inline
from assessment_hub.delivery.models import DeliveryAttemptRow, OutboxRow
from assessment_hub.delivery.worker import DeliveryWorker
from assessment_hub.webhooks.service import create_endpoint

VENDOR_THINKS_S = 0.6


def test_background_worker_leaves_an_inline_delivery_alone(tmp_path: Path) -> None:
    received: list[tuple[str, str]] = []

    class SlowVendor(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            event = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append((event["id"], event["type"]))
            time.sleep(VENDOR_THINKS_S)  # longer than the background worker's poll interval
            body = json.dumps({"assessment_url": "https://vendor.example/start/1"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    vendor = ThreadingHTTPServer(("127.0.0.1", 0), SlowVendor)
    threading.Thread(target=vendor.serve_forever, daemon=True).start()
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'hub.db'}",
        attachments_dir=tmp_path / "att",
        worker_poll_s=0.05,
        delivery_timeout_s=2,
        worker_lease_s=3,
        inline_timeout_s=2,
    )
    engine = build_engine(settings)
    upgrade(engine)
    sessions = sessionmaker(engine, expire_on_commit=False)
    stop = threading.Event()
    background = DeliveryWorker(settings, sessions)
    thread = threading.Thread(target=background.run, args=(stop,), daemon=True)
    thread.start()
    try:
        with unit_of_work(sessions) as session:
            create_endpoint(session, settings.cipher, f"http://127.0.0.1:{vendor.server_address[1]}/hook")
            integration = create_integration(session, "sandbox", "Inline Org")
            set_packages(session, integration.id, [PackageIn(id="1001", name="T", description="d", type="SKILLS_TEST")])
        with unit_of_work(sessions) as session:
            order_id = create_sandbox_order(session, integration.id, "1001", inline=True).id

        url = deliver_inline(settings, sessions, order_id)
        time.sleep(VENDOR_THINKS_S + 0.5)  # room for a duplicate to show up

        assert url == "https://vendor.example/start/1"
        inline_events = [event_id for event_id, kind in received if kind.startswith("inline-")]
        assert len(inline_events) == 1, f"the inline event was sent {len(inline_events)} times"
        with sessions() as session:
            workers = session.scalars(
                select(DeliveryAttemptRow.worker_id)
                .join(OutboxRow, OutboxRow.id == DeliveryAttemptRow.outbox_id)
                .where(OutboxRow.order_id == order_id)
            ).all()
        assert workers == ["inline"]
    finally:
        stop.set()
        thread.join(timeout=10)
        vendor.shutdown()
        engine.dispose()
