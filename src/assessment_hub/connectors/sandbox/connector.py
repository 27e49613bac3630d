"""The sandbox ATS: a complete simulated ATS living in the hub's own database.

Like Kombo's assessment sandbox (kombo-contract.md §9): orders are placed from the CLI or the admin
API, every write-back is kept so it can be inspected, and an outage switch makes write-backs fail
(503), hang past the delivery timeout, fail at random (``flaky``), or refuse the hub's credentials
(``401``), to exercise retries.
"""

from __future__ import annotations

import random
import time
from typing import Any, ClassVar

from fastapi import APIRouter

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from assessment_hub.connectors.base import (
    Capabilities,
    ConfigError,
    ConnectorContext,
    OrderSnapshot,
    ResultSnapshot,
    RetryableError,
    SettingsError,
    check_http_response,
)
from assessment_hub.connectors.sandbox.models import SandboxStateRow, SandboxWritebackRow
from assessment_hub.db.session import unit_of_work


class SandboxConnector:
    tool: ClassVar[str] = "sandbox"
    label: ClassVar[str] = "Assessment Hub Sandbox"
    capabilities: ClassVar[Capabilities] = Capabilities(
        text_only_attributes=False, shows_open_results=True, accepts_attachments=True,
        shows_rejection_message=True, ats_can_cancel=False,
        inbound="CLI `sandbox create-order`, admin API",
    )

    inbound: ClassVar[APIRouter | None] = None

    @classmethod
    def prepare_settings(cls, given: dict[str, str]) -> dict[str, Any]:
        unknown = sorted(set(given) - {"allowed_callback_hosts", "writeback_url"})
        if unknown:
            raise SettingsError(f"the sandbox takes no setting {', '.join(unknown)} "
                                "(known: allowed_callback_hosts, writeback_url)")
        url = given.get("writeback_url")
        if url is not None and not url.startswith(("http://", "https://")):
            raise SettingsError("writeback_url must be an http(s) URL")
        return dict(given)

    @classmethod
    def setup(cls, settings: dict[str, Any], base_url: str) -> dict[str, Any]:
        return {"note": "The sandbox ATS lives in the hub: place orders with `assessment-hub sandbox create-order`."}

    def __init__(self, context: ConnectorContext) -> None:
        self.context = context

    def _simulate_outage(self) -> None:
        with self.context.sessions() as session:
            state = session.get(SandboxStateRow, self.context.integration_id)
        if state is None or state.outage_mode == "off":
            return
        if state.outage_mode == "503":
            raise RetryableError("sandbox ATS outage: HTTP 503", http_status=503, response_excerpt="Service Unavailable")
        if state.outage_mode == "timeout":
            time.sleep(self.context.hub_settings.delivery_timeout_s)
            raise RetryableError(f"sandbox ATS outage: no answer within {self.context.hub_settings.delivery_timeout_s:g} s")
        if state.outage_mode == "401":
            raise ConfigError("sandbox ATS refused the hub's credentials: HTTP 401", http_status=401,
                              response_excerpt="Unauthorized")
        if state.outage_mode == "flaky" and random.random() < state.fail_ratio:
            raise RetryableError("sandbox ATS flaky: HTTP 503", http_status=503, response_excerpt="Service Unavailable")

    def _mirror(self, row: SandboxWritebackRow) -> None:
        """With the ``writeback_url`` setting, the sandbox ATS also receives each write-back over HTTP
        (a POST of the JSON below): load tests and demos see write-backs arrive on the wire."""
        url = self.context.settings.get("writeback_url")
        if not url:
            return
        body = {"order_id": row.order_id, "kind": row.kind, "revision": row.revision, "status": row.status,
                "score": row.score, "max_score": row.max_score, "result_url": row.result_url, "message": row.message}
        check_http_response(self.context.http.post(url, json=body), "sandbox write-back mirror")

    def _store(self, row: SandboxWritebackRow) -> None:
        try:
            with unit_of_work(self.context.sessions) as session:
                session.add(row)
        except IntegrityError:  # the same revision delivered again: count it, keep one
            with unit_of_work(self.context.sessions) as session:
                existing = session.scalar(select(SandboxWritebackRow).where(
                    SandboxWritebackRow.order_id == row.order_id, SandboxWritebackRow.kind == row.kind,
                    SandboxWritebackRow.revision == row.revision))
                if existing is not None:
                    existing.deliveries += 1

    def write_result(self, order: OrderSnapshot, result: ResultSnapshot) -> None:
        self._simulate_outage()
        self._deliver(SandboxWritebackRow(
            order_id=order.id, kind="result", revision=result.revision, status=result.status, score=result.score,
            max_score=result.max_score, result_url=result.result_url,
            payload={"attributes": result.attributes,
                     "attachments": [{"name": a.name, "content_type": a.content_type, "sha256": a.sha256}
                                     for a in result.attachments],
                     "remote_fields": result.remote_fields},
        ))

    def _deliver(self, row: SandboxWritebackRow) -> None:
        self._mirror(row)
        self._store(row)

    def write_rejection(self, order: OrderSnapshot, message: str) -> None:
        self._simulate_outage()
        self._deliver(SandboxWritebackRow(order_id=order.id, kind="rejection", revision=0, status="REJECTED",
                                        message=message, payload={}))

    @classmethod
    def result_warnings(cls, result: ResultSnapshot) -> list[str]:
        return []
