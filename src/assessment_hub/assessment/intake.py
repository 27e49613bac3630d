"""The intake port: everything an ATS side (a connector under ``connectors/<tool>/``) may ask of the hub.

Connectors import this module, ``connectors.base`` and its helpers, ``kit``, ``errors`` and ``config``,
and nothing else of the hub (docs/architecture.md, enforced by the import-linter contracts in
pyproject.toml). Everything here is said in the field's terms (integration, package, order, result,
notice) and hands back plain frozen records, never rows: a connector cannot reach into a table.

Functions take the caller's session and only ``flush()``; the caller's unit of work commits (for inbound
routes: the request's session, ``connectors.inbound.Inbound.session``). Errors are ``HubError``
subclasses (``IntegrationNotFound``, ``NotFound``, ``InputInvalid``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypedDict, cast

from sqlalchemy import CursorResult, Engine, delete, inspect, select, text, update
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from assessment_hub.assessment import seeding, service
from assessment_hub.assessment.models import AttachmentRow, OrderRow, PackageRow, ResultRevisionRow
from assessment_hub.assessment.views import order_view as _order_view
from assessment_hub.delivery.models import OutboxRow
from assessment_hub.errors import NotFound
from assessment_hub.integrations import notices
from assessment_hub.integrations.models import InboundEventRow, IntegrationRow
from assessment_hub.integrations.service import get_active_integration, get_integration, integration_settings
from assessment_hub.kit.crypto import Cipher
from assessment_hub.kit.timestamps import utcnow

# ---------------------------------------------------------------- records


class UnifiedOrder(TypedDict):
    """What an ATS's order becomes in the hub (kombo-contract.md §4.3): the Kombo ``candidate``,
    ``application`` and ``job`` objects; a key left out is stored as null."""

    candidate: dict[str, Any]
    application: dict[str, Any]
    job: dict[str, Any]


@dataclass(frozen=True)
class Integration:
    """One customer's connection of an ATS: ``id`` is ``<tool>:<24 characters>``; ``status`` ACTIVE or
    INACTIVE; ``settings`` the decrypted connector settings (empty unless asked for)."""

    id: str
    tool: str
    status: str
    settings: dict[str, Any]


@dataclass(frozen=True)
class Package:
    """A vendor package (a test) published to an integration; ``package_id`` is the vendor's id; ``type`` one of
    Kombo's package types (``BEHAVIORAL``, ``VIDEO_INTERVIEW``, ``SKILLS_TEST``, ...) or None when the vendor gave none."""

    package_id: str
    name: str
    description: str
    type: str | None = None


@dataclass(frozen=True)
class Order:
    """A unified assessment order as the hub holds it (kombo-contract.md §4.3).

    ``candidate``/``application``/``job`` are the normalized Kombo sub-objects; ``remote_data`` the ATS's
    own payload as the connector stored it; instants are aware UTC.
    """

    id: str
    integration_id: str
    package_id: str
    status: str
    candidate: dict[str, Any]
    application: dict[str, Any]
    job: dict[str, Any]
    remote_data: dict[str, Any] | None
    rejection_message: str | None
    assessment_url: str | None
    latest_result_id: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: OrderRow) -> Order:
        return cls(
            id=row.id,
            integration_id=row.integration_id,
            package_id=row.package_id,
            status=row.status,
            candidate=row.candidate,
            application=row.application,
            job=row.job,
            remote_data=row.remote_data,
            rejection_message=row.rejection_message,
            assessment_url=row.assessment_url,
            latest_result_id=row.latest_result_id,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@dataclass(frozen=True)
class Result:
    """One accepted result revision of an order (revisions are numbered 1, 2, ... and never change)."""

    revision: int
    status: str
    score: float | None
    max_score: float | None
    result_url: str
    completed_at: datetime | None
    attributes: list[dict[str, Any]]
    remote_fields: dict[str, Any] | None
    received_at: datetime


# ---------------------------------------------------------------- integrations


def inbound_integration(session: Session, integration_id: str, cipher: Cipher) -> Integration | None:
    """The live integration an ATS request addresses, with its decrypted settings; None when unknown, deleted or
    INACTIVE (an INVALID one, whose ATS refused the hub's credentials, still takes the ATS's calls)."""
    row = session.get(IntegrationRow, integration_id)
    if row is None or row.deleted_at is not None or row.status == "INACTIVE":
        return None
    return Integration(row.id, row.tool, row.status, integration_settings(row, cipher))


def integration(session: Session, integration_id: str, *, active: bool = False) -> Integration:
    """A live integration (ACTIVE too with ``active``), without its settings; raises ``IntegrationNotFound``."""
    row = (get_active_integration if active else get_integration)(session, integration_id)
    return Integration(row.id, row.tool, row.status, {})


def lock_integration(session: Session, integration_id: str) -> None:
    """Serialize order intake per integration until the transaction ends, so a retried ATS call cannot
    create a second order (PostgreSQL: row lock; SQLite write transactions are exclusive already)."""
    session.execute(select(IntegrationRow.id).where(IntegrationRow.id == integration_id).with_for_update())


def lock_remote_id(session: Session, integration_id: str, remote_id: str) -> None:
    """Serialize concurrent deliveries of one ATS object (``remote_id``) of the integration until the
    transaction ends (PostgreSQL advisory lock; SQLite write transactions are exclusive already)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": f"{integration_id}:{remote_id}"}
        )


def remember_event(session: Session, integration_id: str, event_id: str, fingerprint: str, *, keep_s: float) -> bool:
    """Note that the integration's ATS sent the signed event ``event_id`` with content ``fingerprint`` (a
    digest of its body, ``connectors.inbound.body_fingerprint``), remembered for ``keep_s`` seconds from now;
    False when that event id is remembered with another fingerprint (a captured signature replayed with another
    body), True otherwise (new, or the ATS retrying the same event; the first expiry stays). Kept in the
    database, so every process of the hub agrees; the integration's expired entries are deleted here (every
    integration's by the worker's ``inbound-events-prune`` chore). Serialized per event id until the
    transaction ends (``lock_remote_id``)."""
    now = utcnow()
    session.execute(
        delete(InboundEventRow).where(
            InboundEventRow.integration_id == integration_id, InboundEventRow.expires_at < now
        )
    )
    lock_remote_id(session, integration_id, f"event:{event_id}")
    seen = session.get(InboundEventRow, (integration_id, event_id))
    if seen is not None:
        return seen.fingerprint == fingerprint
    session.add(
        InboundEventRow(
            integration_id=integration_id,
            event_id=event_id,
            fingerprint=fingerprint,
            seen_at=now,
            expires_at=now + timedelta(seconds=keep_s),
        )
    )
    session.flush()
    return True


def record_notice(session: Session, integration_id: str, message: str, order_id: str | None = None) -> None:
    """Keep something the ATS told the hub for the vendor: shown once, as a warning on the vendor's next
    result PUT for the integration (for ``order_id`` only, when given)."""
    notices.add_notice(session, integration_id, message, order_id=order_id)


# ---------------------------------------------------------------- packages


def packages(session: Session, integration_id: str) -> list[Package]:
    """The integration's live packages, ordered by package id."""
    return [_package(row) for row in service.list_packages(session, integration_id)]


def live_package(session: Session, integration_id: str, package_id: str) -> Package | None:
    """The published (not withdrawn) package ``package_id``, or None."""
    row = service.get_live_package(session, integration_id, package_id)
    return _package(row) if row is not None else None


def _package(row: PackageRow) -> Package:
    return Package(row.package_id, row.name, row.description, row.type)


# ---------------------------------------------------------------- orders


def create_order(
    session: Session,
    integration_id: str,
    package_id: str,
    order: UnifiedOrder,
    *,
    remote_data: dict[str, Any] | None = None,
    inline: bool = False,
) -> Order:
    """Store a new OPEN order of ``package_id`` from a unified order and queue ``assessment:order-received`` to the vendor. ``remote_data`` is the ATS's
    payload, kept for the operator and for finding the order again (``find_order_by_remote``). An inline
    order queues nothing: the caller runs ``delivery.inline.deliver_inline`` after committing."""
    row = service.create_order(
        session,
        integration_id,
        package_id,
        candidate=order["candidate"],
        application=order["application"],
        job=order["job"],
        remote_data=remote_data,
        inline=inline,
    )
    return Order.of(row)


def find_order(session: Session, integration_id: str, order_id: str) -> Order | None:
    """The integration's order ``order_id`` (the id the hub gave the ATS), or None."""
    row = _order_row(session, integration_id, order_id)
    return Order.of(row) if row is not None else None


def find_order_by_remote(session: Session, integration_id: str, path: Sequence[str], value: str) -> Order | None:
    """The integration's oldest order whose ``remote_data`` holds ``value`` (a string) at ``path``, e.g.
    ``("url",)`` or ``("hub", "partner_result_id")``: the order an earlier call of the ATS created."""
    row = session.scalar(
        select(OrderRow)
        .where(OrderRow.integration_id == integration_id, OrderRow.remote_data[tuple(path)].as_string() == value)
        .order_by(OrderRow.created_at, OrderRow.id)
        .limit(1)
    )
    return Order.of(row) if row is not None else None


def open_order_for_candidate(
    session: Session, integration_id: str, package_id: str, candidate_remote_id: str
) -> Order | None:
    """The integration's oldest OPEN order of ``package_id`` for the candidate with the ATS id
    ``candidate_remote_id``, or None."""
    row = session.scalar(
        select(OrderRow)
        .where(
            OrderRow.integration_id == integration_id,
            OrderRow.status == "OPEN",
            OrderRow.package_id == package_id,
            OrderRow.candidate["remote_id"].as_string() == candidate_remote_id,
        )
        .order_by(OrderRow.created_at)
        .limit(1)
    )
    return Order.of(row) if row is not None else None


def cancel_from_ats(session: Session, integration_id: str, order_id: str) -> bool:
    """The ATS cancelled the order: an OPEN order becomes CANCELLED and the vendor gets
    ``assessment:order-cancelled``. Returns False when the order is not OPEN; raises ``NotFound``."""
    row = _order_row(session, integration_id, order_id)
    if row is None:
        raise NotFound(f"No assessment order with id {order_id!r} in integration {integration_id!r}.")
    return service.cancel_order_from_ats(session, row)


def latest_result(session: Session, order: Order) -> Result | None:
    """The order's latest accepted result revision, or None before the vendor sent one."""
    if order.latest_result_id is None:
        return None
    row = session.get(ResultRevisionRow, order.latest_result_id)
    if row is None:
        return None
    return Result(
        revision=row.revision,
        status=row.status,
        score=row.score,
        max_score=row.max_score,
        result_url=row.result_url,
        completed_at=row.completed_at,
        attributes=row.attributes,
        remote_fields=row.remote_fields,
        received_at=row.created_at,
    )


def result_times(session: Session, order_id: str, *, up_to_revision: int | None = None) -> list[datetime]:
    """When each of the order's result revisions was received, in revision order (up to ``up_to_revision``)."""
    query = select(ResultRevisionRow.created_at).where(ResultRevisionRow.order_id == order_id)
    if up_to_revision is not None:
        query = query.where(ResultRevisionRow.revision <= up_to_revision)
    return list(session.scalars(query.order_by(ResultRevisionRow.revision)))


def order_changed_at(session: Session, order_id: str) -> datetime | None:
    """When the order last changed (created, a result, a rejection, a cancellation); None when unknown."""
    return session.scalar(select(OrderRow.updated_at).where(OrderRow.id == order_id))


def _order_row(session: Session, integration_id: str, order_id: str) -> OrderRow | None:
    return session.scalar(select(OrderRow).where(OrderRow.id == order_id, OrderRow.integration_id == integration_id))


# ---------------------------------------------------------------- for an ATS that lives in the hub (the sandbox)


def order_view(session: Session, order_id: str) -> dict[str, Any]:
    """The order as the vendor API shows it (with its latest result), plus ``integration_id`` and
    ``assessment_url``, for an operator. Raises ``NotFound``.

    An order already in the session (one just created) is used as it is: no query when it has no result."""
    loaded = selectinload(OrderRow.latest_result).selectinload(ResultRevisionRow.attachments)
    row = session.get(OrderRow, order_id, options=[loaded])
    if row is None:
        raise NotFound(f"No order with id {order_id!r}.")
    if "latest_result" in inspect(row).unloaded:
        if row.latest_result_id is None:
            set_committed_value(row, "latest_result", None)
        else:
            session.scalar(
                select(OrderRow)
                .where(OrderRow.id == order_id)
                .options(loaded)
                .execution_options(populate_existing=True)
            )
    view = _order_view(row)
    view["integration_id"] = row.integration_id
    view["assessment_url"] = row.assessment_url
    return view


def remove_orders(session: Session, integration_id: str) -> dict[str, int]:
    """Delete the integration's orders (with their results; rows of a connector's own tables that reference
    an order go with it, ``ON DELETE CASCADE``) and packages, and cancel its undelivered messages.
    Returns ``{"orders": n, "packages": n, "cancelled_deliveries": n}``."""
    now = utcnow()
    cancelled = _count(
        session.execute(
            update(OutboxRow)
            .where(OutboxRow.integration_id == integration_id, OutboxRow.state.in_(("pending", "in_flight")))
            .values(state="cancelled", finished_at=now, updated_at=now)
        )
    )
    order_ids = select(OrderRow.id).where(OrderRow.integration_id == integration_id)
    revision_ids = select(ResultRevisionRow.id).where(ResultRevisionRow.order_id.in_(order_ids))
    session.execute(delete(AttachmentRow).where(AttachmentRow.revision_id.in_(revision_ids)))
    session.execute(delete(ResultRevisionRow).where(ResultRevisionRow.order_id.in_(order_ids)))
    orders = _count(session.execute(delete(OrderRow).where(OrderRow.integration_id == integration_id)))
    packages = _count(session.execute(delete(PackageRow).where(PackageRow.integration_id == integration_id)))
    session.flush()
    return {"orders": orders, "packages": packages, "cancelled_deliveries": cancelled}


def _count(result: Any) -> int:
    """The rows an UPDATE or DELETE matched."""
    return cast(CursorResult[Any], result).rowcount


SEED_POOL_SIZE = seeding.POOL_SIZE
order_status = seeding.seed_status
bulk_ids = seeding.bulk_ids


def seed_orders(
    engine: Engine,
    integration_id: str,
    package_id: str,
    count: int,
    order_data: Callable[[int], UnifiedOrder],
    **options: Any,
) -> float:
    """Bulk-insert ``count`` OPEN (or ``status=``) orders for load tests, bypassing the outbox; returns
    orders per second. ``order_data(seed)`` gives candidate/application/job for a pool of
    ``SEED_POOL_SIZE`` templates (see ``assessment.seeding.seed_orders`` for ``options``)."""
    return seeding.seed_orders(engine, integration_id, package_id, count, order_data, **options)
