"""Bulk-seed sandbox orders for load tests and benchmarks (``assessment-hub sandbox seed``).

The sandbox's part is the data (``orders.fake_order_data``, a pool of ``POOL_SIZE`` Faker records) and the
checks; the bulk insert itself belongs to the orders feature (``assessment.seeding``, through the intake port).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from assessment_hub.assessment import intake
from assessment_hub.connectors.sandbox.orders import check_orderable, fake_order_data

POOL_SIZE = intake.SEED_POOL_SIZE
bulk_ids = intake.bulk_ids
seed_status = intake.order_status
"""``status`` as stored (upper case); raises ``InputInvalid`` unless it is an order status of the API."""


def check_seedable(session: Session, integration_id: str, package_id: str, status: str) -> str:
    """What ``create_sandbox_order`` checks, for seeded orders: a live sandbox integration and a published
    package; returns the normalized status. Raises ``IntegrationNotFound`` or ``InputInvalid``."""
    status = seed_status(status)
    check_orderable(session, integration_id, package_id)
    return status


def seed_orders(engine: Engine, integration_id: str, package_id: str, count: int, **options: Any) -> float:
    """Insert ``count`` sandbox orders (no webhooks); returns orders per second. ``options``: ``batch_size``,
    ``commit_every``, ``status``, ``progress(done, rate)`` (``assessment.seeding.seed_orders``)."""
    return intake.seed_orders(engine, integration_id, package_id, count, fake_order_data, **options)
