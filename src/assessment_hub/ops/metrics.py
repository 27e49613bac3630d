"""Prometheus metrics (prometheus-client), served at ``/metrics``.

Counted by the process that did the work (``kit.metrics``):

| series | labels | what |
|---|---|---|
| ``assessment_hub_http_requests_total`` | method, route (template), status | requests answered |
| ``assessment_hub_http_request_duration_seconds`` | method, route | histogram of the time to answer |
| ``assessment_hub_result_writes_total`` | tool | ``PUT .../result`` writes stored (one revision each) |
| ``assessment_hub_delivery_attempts_total`` | kind (webhook, writeback), outcome | delivery attempts recorded |

Read from the database when scraped (the same answer from every process, workers on other hosts included):

| series | labels | what |
|---|---|---|
| ``assessment_hub_outbox_backlog`` | kind, state (pending, in_flight, dead) | deliveries not finished |
| ``assessment_hub_outbox_oldest_pending_age_seconds`` | kind | age of the oldest pending or in-flight delivery (0: none) |
| ``assessment_hub_worker_heartbeat_age_seconds`` | | since the freshest delivery-worker heartbeat (+Inf: none) |
| ``assessment_hub_workers_alive`` | | workers whose heartbeat is younger than ``READY_HEARTBEAT_MAX_AGE_S`` |
| ``assessment_hub_database_up`` | | 1 when the scrape's queries succeeded |

Several processes (``serve --workers N``, and ``serve`` on PostgreSQL: see ``supervise``): each process writes its counters to files in
``PROMETHEUS_MULTIPROC_DIR`` (``serve`` sets one up, see ``supervise``) and ``/metrics`` in any of them
adds up all of them (``prometheus_client.multiprocess``). The variable must be set before the process
imports prometheus_client. A ``worker`` started on its own serves its counters on a port of its own
(``ops.metrics_server``, ``worker --metrics-port``), without the database gauges.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from assessment_hub.kit.timestamps import utcnow

log = logging.getLogger("assessment_hub.metrics")


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class DatabaseCollector(Collector):
    """The outbox backlog and the worker heartbeats, read when scraped (one read transaction, two
    aggregate queries over indexed columns)."""

    def __init__(self, sessions: sessionmaker[Session], heartbeat_max_age_s: float) -> None:
        self.sessions = sessions
        self.heartbeat_max_age_s = heartbeat_max_age_s

    def collect(self) -> Iterator[Any]:
        from assessment_hub.delivery.heartbeat import WorkerHeartbeatRow
        from assessment_hub.delivery.models import OutboxRow

        up = GaugeMetricFamily("assessment_hub_database_up", "1 when the database answered the scrape's queries.")
        now = utcnow()
        try:
            with self.sessions() as session:
                backlog = session.execute(
                    select(OutboxRow.kind, OutboxRow.state, func.count(), func.min(OutboxRow.created_at))
                    .where(OutboxRow.state.in_(("pending", "in_flight", "dead")))
                    .group_by(OutboxRow.kind, OutboxRow.state)
                ).all()
                freshest, alive = session.execute(
                    select(
                        func.max(WorkerHeartbeatRow.beat_at),
                        func.count().filter(
                            WorkerHeartbeatRow.beat_at >= now - timedelta(seconds=self.heartbeat_max_age_s)
                        ),
                    )
                ).one()
        except Exception as exc:
            log.warning("metrics: database query failed: %s", str(exc).splitlines()[0] if str(exc) else exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        counts = GaugeMetricFamily(
            "assessment_hub_outbox_backlog", "Deliveries not finished, by kind and state.", labels=["kind", "state"]
        )
        oldest = GaugeMetricFamily(
            "assessment_hub_outbox_oldest_pending_age_seconds",
            "Age of the oldest pending or in-flight delivery, seconds (0: none).",
            labels=["kind"],
        )
        seen: dict[tuple[str, str], int] = {}
        ages: dict[str, float] = {"webhook": 0.0, "writeback": 0.0}
        for kind, state, count, created in backlog:
            seen[(kind, state)] = count
            if state != "dead" and created is not None:
                ages[kind] = max(ages.get(kind, 0.0), (now - created).total_seconds())
        for kind in ("webhook", "writeback"):
            for state in ("pending", "in_flight", "dead"):
                counts.add_metric([kind, state], seen.get((kind, state), 0))
        for kind, age in ages.items():
            oldest.add_metric([kind], max(age, 0.0))
        yield counts
        yield oldest
        heartbeat = GaugeMetricFamily(
            "assessment_hub_worker_heartbeat_age_seconds",
            "Seconds since the freshest delivery-worker heartbeat (+Inf: no worker ever beat).",
        )
        heartbeat.add_metric([], (now - freshest).total_seconds() if freshest is not None else float("inf"))
        yield heartbeat
        workers = GaugeMetricFamily(
            "assessment_hub_workers_alive",
            "Delivery workers whose heartbeat is younger than READY_HEARTBEAT_MAX_AGE_S.",
        )
        workers.add_metric([], alive or 0)
        yield workers


def render(database: DatabaseCollector | None) -> tuple[bytes, str]:
    """The exposition text of this process (or, in multi-process mode, of all processes) plus ``database``."""
    directory = multiprocess_dir()
    if directory:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)
        text = generate_latest(registry)
    else:
        text = generate_latest(REGISTRY)
    if database is not None:
        extra = CollectorRegistry()
        extra.register(database)
        text += generate_latest(extra)
    return text, CONTENT_TYPE_LATEST
