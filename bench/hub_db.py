"""Helpers the harness runs in the hub's python (``python -m bench.hub_db ...``).

    python -m bench.hub_db ids INTEGRATION IDS_PATH        OPEN orders without a result, listing order
    python -m bench.hub_db cursor INTEGRATION OFFSET       the listing cursor after OFFSET rows
    python -m bench.hub_db console-cursor OFFSET           the console's order-list cursor after OFFSET rows
    python -m bench.hub_db publish INTEGRATION PACKAGE     publish PACKAGE (what the vendor's PUT
                                                           /v1/assessment/packages does), before the
                                                           hub serves: ``sandbox seed`` requires it

All read ``ASSESSMENT_HUB_DATABASE_URL`` through the hub's own settings and engine; only ``publish`` writes.

``cursor`` is the cursor ``GET /v1/assessment/orders?statuses=OPEN`` returns in ``data.next`` after a
page that ends on the OFFSET-th row: ``service.list_orders`` builds it with
``kit.cursors.encode_cursor(created_at, id)`` of a page's last row (keyset order ``created_at, id``),
and so does this, for the OFFSET-th row of the same order -- without walking OFFSET/100 pages.
"""

from __future__ import annotations

import sys

from sqlalchemy import select

from assessment_hub.assessment.models import OrderRow
from assessment_hub.config import Settings
from assessment_hub.db.engine import build_engine
from assessment_hub.kit.cursors import encode_cursor


def _open_orders(integration_id: str):
    return (
        select(OrderRow.created_at, OrderRow.id)
        .where(
            OrderRow.integration_id == integration_id, OrderRow.status == "OPEN", OrderRow.latest_result_id.is_(None)
        )
        .order_by(OrderRow.created_at, OrderRow.id)
    )


def write_ids(integration_id: str, ids_path: str) -> int:
    engine = build_engine(Settings())
    try:
        with engine.connect() as conn, open(ids_path, "w") as f:
            n = 0
            for _created, oid in conn.execute(_open_orders(integration_id)):
                f.write(oid + "\n")
                n += 1
        return n
    finally:
        engine.dispose()


def cursor_after(integration_id: str, offset: int) -> str:
    engine = build_engine(Settings())
    try:
        with engine.connect() as conn:
            query = (
                select(OrderRow.created_at, OrderRow.id)
                .where(OrderRow.integration_id == integration_id, OrderRow.status == "OPEN")
                .order_by(OrderRow.created_at, OrderRow.id)
                .offset(offset - 1)
                .limit(1)
            )
            row = conn.execute(query).one()
        return encode_cursor(row.created_at, row.id)
    finally:
        engine.dispose()


def console_cursor_after(offset: int) -> str:
    """The cursor of the console's "Older orders" link on the page ending on the OFFSET-th order of every
    integration newest first (``assessment.browse.browse_orders``: ``created_at, id`` descending)."""
    engine = build_engine(Settings())
    try:
        with engine.connect() as conn:
            query = (
                select(OrderRow.created_at, OrderRow.id)
                .order_by(OrderRow.created_at.desc(), OrderRow.id.desc())
                .offset(offset - 1)
                .limit(1)
            )
            row = conn.execute(query).one()
        return encode_cursor(row.created_at, row.id)
    finally:
        engine.dispose()


def publish(integration_id: str, package_id: str) -> None:
    from sqlalchemy.orm import sessionmaker

    from assessment_hub.assessment.schemas import PackageIn
    from assessment_hub.assessment.service import set_packages
    from assessment_hub.db.session import unit_of_work

    engine = build_engine(Settings())
    try:
        with unit_of_work(sessionmaker(engine)) as session:
            set_packages(
                session,
                integration_id,
                [PackageIn(id=package_id, name="Bench test", description="bench", type="SKILLS_TEST")],
            )
    finally:
        engine.dispose()


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "ids":
        print(write_ids(argv[1], argv[2]))
        return 0
    if len(argv) == 3 and argv[0] == "publish":
        publish(argv[1], argv[2])
        return 0
    if len(argv) == 3 and argv[0] == "cursor":
        print(cursor_after(argv[1], int(argv[2])))
        return 0
    if len(argv) == 2 and argv[0] == "console-cursor":
        print(console_cursor_after(int(argv[1])))
        return 0
    print(__doc__, file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
