"""The sandbox ATS: a complete simulated ATS living in the hub's own database.

Like Kombo's assessment sandbox (kombo-contract.md §9): orders are placed from the CLI or the admin
API, every write-back is kept so it can be inspected, and an outage switch makes write-backs fail
(503), hang past the delivery timeout, fail at random (``flaky``), or refuse the hub's credentials
(``401``), to exercise retries.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import Any, ClassVar

import httpx
from fastapi import APIRouter
from sqlalchemy import Engine, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from assessment_hub.connectors.base import (
    Capabilities,
    ConfigError,
    ConnectorContext,
    OrderSnapshot,
    ResultSnapshot,
    RetryableError,
    SettingField,
    SettingsError,
    check_http_response,
    send_request,
)
from assessment_hub.connectors.callbacks import check_allowed_hosts
from assessment_hub.connectors.sandbox.models import SandboxStateRow, SandboxWritebackRow
from assessment_hub.connectors.urls import is_http_url
from assessment_hub.db.engine import read_only
from assessment_hub.db.session import unit_of_work
from assessment_hub.kit.states import OrderStatus
from assessment_hub.kit.timestamps import utcnow

log = logging.getLogger("assessment_hub.sandbox")


class SandboxConnector:
    tool: ClassVar[str] = "sandbox"
    label: ClassVar[str] = "Assessment Hub Sandbox"
    capabilities: ClassVar[Capabilities] = Capabilities(
        text_only_attributes=False,
        shows_open_results=True,
        accepts_attachments=True,
        shows_rejection_message=True,
        ats_can_cancel=False,
        inbound="CLI `sandbox create-order`, admin API",
    )

    inbound: ClassVar[APIRouter | None] = None
    setting_fields: ClassVar[tuple[SettingField, ...]] = (
        SettingField("writeback_url", "Write-back URL", help="Optional: also POST each write-back there."),
        SettingField("allowed_callback_hosts", "Allowed callback hosts", help="Extra host[:port], comma-separated."),
    )

    @classmethod
    def prepare_settings(cls, given: dict[str, str]) -> dict[str, Any]:
        unknown = sorted(set(given) - {"allowed_callback_hosts", "writeback_url"})
        if unknown:
            raise SettingsError(
                f"the sandbox takes no setting {', '.join(unknown)} (known: allowed_callback_hosts, writeback_url)"
            )
        url = given.get("writeback_url")
        if url is not None and not is_http_url(url):
            raise SettingsError("writeback_url must be an http(s) URL")
        settings = dict(given)
        if "allowed_callback_hosts" in settings:
            settings["allowed_callback_hosts"] = check_allowed_hosts(settings["allowed_callback_hosts"])
        return settings

    @classmethod
    def setup(cls, settings: dict[str, Any], base_url: str) -> dict[str, Any]:
        return {"note": "The sandbox ATS lives in the hub: place orders with `assessment-hub sandbox create-order`."}

    def __init__(self, context: ConnectorContext) -> None:
        self.context = context

    def _simulate_outage(self) -> None:
        # one Core read on a DEFERRED connection: on SQLite it does not queue for the write lock
        with _batcher(self.context.sessions.kw["bind"]).reader.connect() as conn:
            state = conn.execute(_STATE, {"b_id": self.context.integration_id}).first()
        if state is None or state.outage_mode == "off":
            return
        if state.outage_mode == "503":
            raise RetryableError(
                "sandbox ATS outage: HTTP 503", http_status=503, response_excerpt="Service Unavailable"
            )
        if state.outage_mode == "timeout":
            time.sleep(self.context.hub_settings.delivery_timeout_s)
            raise RetryableError(
                f"sandbox ATS outage: no answer within {self.context.hub_settings.delivery_timeout_s:g} s"
            )
        if state.outage_mode == "401":
            raise ConfigError(
                "sandbox ATS refused the hub's credentials: HTTP 401", http_status=401, response_excerpt="Unauthorized"
            )
        if state.outage_mode == "flaky" and random.random() < state.fail_ratio:
            raise RetryableError("sandbox ATS flaky: HTTP 503", http_status=503, response_excerpt="Service Unavailable")

    def _mirror_request(self, row: SandboxWritebackRow) -> httpx.Request | None:
        """With the ``writeback_url`` setting, the sandbox ATS also receives each write-back over HTTP
        (a POST of the JSON below): load tests and demos see write-backs arrive on the wire."""
        url = self.context.settings.get("writeback_url")
        if not url:
            return None
        body = {
            "order_id": row.order_id,
            "kind": row.kind,
            "revision": row.revision,
            "status": row.status,
            "score": row.score,
            "max_score": row.max_score,
            "result_url": row.result_url,
            "message": row.message,
        }
        return self.context.http.build_request("POST", url, json=body)

    def _store(self, row: SandboxWritebackRow) -> None:
        """Store the write-back; returns once it is committed. Concurrent senders share one transaction
        (group commit, ``_StoreBatcher``): on SQLite each write transaction is serialized and fsync'd."""
        _batcher(self.context.sessions.kw["bind"]).store(self.context.sessions, row)

    @staticmethod
    def _store_one(sessions: Any, row: SandboxWritebackRow) -> None:
        """One write-back in its own transactions (the fallback when a shared one fails)."""
        try:
            with unit_of_work(sessions) as session:
                session.add(row)
        except IntegrityError:  # the same revision delivered again: count it, keep one
            with unit_of_work(sessions) as session:
                existing = session.scalar(
                    select(SandboxWritebackRow).where(
                        SandboxWritebackRow.order_id == row.order_id,
                        SandboxWritebackRow.kind == row.kind,
                        SandboxWritebackRow.revision == row.revision,
                    )
                )
                if existing is not None:
                    existing.deliveries += 1

    @staticmethod
    def _result_row(order: OrderSnapshot, result: ResultSnapshot) -> SandboxWritebackRow:
        return SandboxWritebackRow(
            order_id=order.id,
            kind="result",
            revision=result.revision,
            status=result.status,
            score=result.score,
            max_score=result.max_score,
            result_url=result.result_url,
            payload={
                "attributes": result.attributes,
                "attachments": [
                    {"name": a.name, "content_type": a.content_type, "sha256": a.sha256} for a in result.attachments
                ],
                "remote_fields": result.remote_fields,
            },
        )

    def result_request(self, order: OrderSnapshot, result: ResultSnapshot) -> httpx.Request | None:
        """The POST to ``writeback_url``, if set; without it nothing leaves the hub (the row is kept)."""
        return self._mirror_request(self._result_row(order, result))

    def write_result(self, order: OrderSnapshot, result: ResultSnapshot) -> None:
        self._simulate_outage()
        self._deliver(self._result_row(order, result))

    def _deliver(self, row: SandboxWritebackRow) -> None:
        request = self._mirror_request(row)
        if request is not None:
            check_http_response(send_request(self.context, request), "sandbox write-back mirror")
        self._store(row)

    def write_rejection(self, order: OrderSnapshot, message: str) -> None:
        self._simulate_outage()
        self._deliver(
            SandboxWritebackRow(
                order_id=order.id,
                kind="rejection",
                revision=0,
                status=OrderStatus.REJECTED,
                message=message,
                payload={},
            )
        )

    @classmethod
    def result_warnings(cls, result: ResultSnapshot) -> list[str]:
        return []


_table = SandboxWritebackRow.__table__
_STATE = select(SandboxStateRow.outage_mode, SandboxStateRow.fail_ratio).where(
    SandboxStateRow.integration_id == bindparam("b_id")
)
_COLUMNS = ("order_id", "kind", "revision", "status", "score", "max_score", "result_url", "message", "payload")


def _upsert(dialect: str):
    """Insert a write-back; the same revision again only counts one more delivery."""
    stmt = (postgresql if dialect == "postgresql" else sqlite).insert(_table)
    return stmt.on_conflict_do_update(
        index_elements=["order_id", "kind", "revision"], set_={"deliveries": _table.c.deliveries + 1}
    )


class _StoreBatcher:
    """Group commit for the sandbox ATS's write-backs (one per engine). A sender queues its row; the first
    one to find no commit in progress becomes the leader and stores every queued row in one transaction
    (an upsert each), then wakes the others. A sender returns only once its row is committed, as before;
    if the shared transaction fails, each row is stored on its own (``_store_one``) and only its own
    failure reaches its sender."""

    def __init__(self, engine: Engine) -> None:
        self.reader = read_only(engine)
        """The same engine, reads only (SQLite: BEGIN DEFERRED): the outage switch is read there."""
        self._statement = _upsert(engine.dialect.name)
        self._lock = threading.Lock()
        self._queue: list[tuple[SandboxWritebackRow, dict[str, Any]]] = []
        self._leading = False

    def store(self, sessions: Any, row: SandboxWritebackRow) -> None:
        entry: dict[str, Any] = {"done": threading.Event()}
        with self._lock:
            self._queue.append((row, entry))
            lead = not self._leading
            self._leading = True
        if not lead:
            entry["done"].wait()
            lead = entry.pop("lead", False)  # the previous leader handed over: our row is still queued
            if lead:
                entry["done"].clear()
        if lead:
            with self._lock:
                batch, self._queue = self._queue, []
            try:
                self._commit(sessions, batch)
            finally:
                with self._lock:  # hand over to the oldest waiting sender, so no one leads for long
                    if self._queue:
                        following = self._queue[0][1]
                        following["lead"] = True
                        following["done"].set()
                    else:
                        self._leading = False
        if "error" in entry:
            raise entry["error"]

    def _commit(self, sessions: Any, batch: list[tuple[SandboxWritebackRow, dict[str, Any]]]) -> None:
        try:
            with unit_of_work(sessions) as session:
                now = utcnow()  # one statement, executed for each row (a repeat in the batch counts too)
                session.connection().execute(
                    self._statement,
                    [
                        {c: getattr(row, c) for c in _COLUMNS} | {"deliveries": 1, "received_at": now}
                        for row, _entry in batch
                    ],
                )
        except Exception:
            log.debug("sandbox write-back batch failed; storing one by one", exc_info=True)
            for row, entry in batch:
                try:
                    SandboxConnector._store_one(sessions, row)
                except Exception as exc:
                    entry["error"] = exc
        for _row, entry in batch:
            entry["done"].set()


_batchers_lock = threading.Lock()


def _batcher(engine: Engine) -> _StoreBatcher:
    """The engine's batcher, kept on the engine itself (so it goes when the engine does)."""
    batcher = engine.__dict__.get("_sandbox_store_batcher")
    if batcher is None:
        with _batchers_lock:
            batcher = engine.__dict__.get("_sandbox_store_batcher")
            if batcher is None:
                batcher = engine.__dict__["_sandbox_store_batcher"] = _StoreBatcher(engine)
    return batcher
