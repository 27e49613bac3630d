"""Bulk-seed sandbox orders for load tests and benchmarks (``assessment-hub sandbox seed``).

Rows are inserted with Core ``executemany`` in batches, bypassing the ORM and the outbox: seeded
orders send no webhooks. Candidate and job data come from a small pool of Faker records, with unique
ids and emails per order; ``created_at`` values are one millisecond apart, ending now.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from assessment_hub.assessment.models import OrderRow
from assessment_hub.assessment.schemas import ORDER_STATUSES
from assessment_hub.assessment.views import normalize_application, normalize_candidate, normalize_job
from assessment_hub.connectors.sandbox.orders import check_orderable, fake_order_data
from assessment_hub.errors import InputInvalid
from assessment_hub.kit.ids import new_id
from assessment_hub.kit.timestamps import utcnow

POOL_SIZE = 64


def seed_status(status: str) -> str:
    """``status`` as stored (upper case); raises ``InputInvalid`` unless it is an order status of the API."""
    value = status.strip().upper()
    if value not in ORDER_STATUSES:
        raise InputInvalid(f"status: {status!r} is not an order status; use one of {', '.join(ORDER_STATUSES)}.")
    return value


def check_seedable(session: Session, integration_id: str, package_id: str, status: str) -> str:
    """What ``create_sandbox_order`` checks, for seeded orders: a live sandbox integration and a published
    package; returns the normalized status. Raises ``IntegrationNotFound`` or ``InputInvalid``."""
    status = seed_status(status)
    check_orderable(session, integration_id, package_id)
    return status


def seed_orders(engine: Engine, integration_id: str, package_id: str, count: int, *, batch_size: int = 5000,
                status: str = "OPEN", progress: Callable[[int, float], None] | None = None) -> float:
    """Insert ``count`` orders; returns orders per second. ``progress(done, rate)`` is called per batch.

    The caller checks the integration and package first (``check_seedable``); ``status`` is checked here too.
    """
    status = seed_status(status)
    pool = [fake_order_data(seed) for seed in range(POOL_SIZE)]
    start_at = utcnow() - timedelta(milliseconds=count)
    started = time.monotonic()
    done = 0
    with engine.begin() as conn:
        while done < count:
            rows = []
            for i in range(done, min(done + batch_size, count)):
                data = pool[i % POOL_SIZE]
                candidate = normalize_candidate({**data["candidate"], "remote_id": f"cand_seed_{i}",
                                                 "email": f"seed{i}@example.com"})
                created = start_at + timedelta(milliseconds=i)
                rows.append({
                    "id": new_id(), "integration_id": integration_id, "package_id": package_id, "status": status,
                    "candidate": candidate, "application": normalize_application({"remote_id": f"app_seed_{i}"}),
                    "job": normalize_job(data["job"]), "remote_data": None, "inline": False,
                    "rejection_message": None, "assessment_url": None, "latest_result_id": None,
                    "created_at": created, "updated_at": created,
                })
            conn.execute(insert(OrderRow), rows)
            done += len(rows)
            if progress:
                progress(done, done / max(time.monotonic() - started, 1e-9))
    return count / max(time.monotonic() - started, 1e-9)
