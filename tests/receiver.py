"""A vendor's webhook receiver on loopback: records raw bodies and headers, answers as told."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from assessment_hub.signing import SIGNATURE_HEADER, verify_signature
from tests.support import serve_in_thread


@dataclass
class Received:
    raw: bytes
    headers: dict[str, str]
    at: float

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.raw)


@dataclass
class VendorReceiver:
    """``answer`` is ``(status, body)``, or ``"hang"`` to answer only after ``hang_s`` seconds."""

    url: str = ""
    secret: str = ""
    answer: Any = (200, "{}")
    hang_s: float = 3.0
    inline_url: str | None = None
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hooks")
        async def hook(request: Request) -> Response:
            raw = await request.body()
            with self.lock:
                self.received.append(Received(raw, dict(request.headers), time.monotonic()))
            if self.answer == "hang":
                import asyncio

                await asyncio.sleep(self.hang_s)
                return Response("{}", media_type="application/json")
            if self.inline_url and json.loads(raw).get("type", "").startswith("inline-"):
                return Response(json.dumps({"assessment_url": self.inline_url}), media_type="application/json")
            status, body = self.answer
            return Response(body, status_code=status, media_type="application/json")

        return app

    def events_for(self, order_id: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.event.get("data", {}).get("id") == order_id]

    def all_verified(self) -> bool:
        with self.lock:
            return all(
                verify_signature(self.secret, r.raw, r.headers.get(SIGNATURE_HEADER.lower())) for r in self.received
            )


@contextmanager
def vendor_receiver(hub: Any, events: list[str] | None = None) -> Iterator[VendorReceiver]:
    """A live receiver registered as a webhook endpoint of ``hub`` for the duration of the block."""
    from assessment_hub.db.session import unit_of_work
    from assessment_hub.webhooks.service import create_endpoint, delete_endpoint

    receiver = VendorReceiver()
    with serve_in_thread(receiver.app()) as base:
        receiver.url = f"{base}/hooks"
        with unit_of_work(hub.sessions) as session:
            row, receiver.secret = create_endpoint(session, hub.settings.cipher, receiver.url, events or [])
            endpoint_id = row.id
        try:
            yield receiver
        finally:
            with unit_of_work(hub.sessions) as session:
                delete_endpoint(session, endpoint_id)
