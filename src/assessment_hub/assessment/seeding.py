"""Bulk-seed orders for load tests and benchmarks (``assessment-hub sandbox seed``, through the intake port).

Rows bypass the ORM and the outbox (seeded orders send no webhooks) and go to the driver ready-made:
PostgreSQL receives them through ``COPY orders FROM STDIN`` (psycopg's ``cursor.copy``), SQLite through
one ``executemany`` of a plain ``INSERT`` per batch. One transaction per ``commit_every`` rows.

The values are those the ORM would store: every column's value goes through its column type's own bind
processing (JSON text from the dialect's JSON serializer, ``created_at`` through ``UTCDateTime``), only
done once per template instead of once per row. Candidate and job data come from a small pool of records
(``order_data(seed)`` for ``seed`` in ``range(POOL_SIZE)``, the sandbox's Faker data), serialized once each; per order only the unique candidate ``remote_id``/``email`` and
application ``remote_id`` are spliced into the serialized text (digits, which JSON never escapes).
Ids have the shape of ``kit.ids.new_id`` (24 characters of ``[A-Za-z0-9]``, uniformly drawn from the
OS's CSPRNG), drawn in bulk. ``created_at`` values are one millisecond apart, ending now.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, Engine
from sqlalchemy.engine import Connection, Dialect

from assessment_hub.assessment.models import OrderRow
from assessment_hub.assessment.schemas import ORDER_STATUSES
from assessment_hub.assessment.views import normalize_application, normalize_candidate, normalize_job
from assessment_hub.errors import InputInvalid
from assessment_hub.kit.ids import _ALPHABET, ID_LENGTH
from assessment_hub.kit.timestamps import utcnow

POOL_SIZE = 64
SQLITE_SEED_CACHE_KIB = 256 * 1024  # page cache of the seeding connection on SQLite, while it seeds
_MARK = "SEEDORDERNUMBERMARK"  # stands for the order's number in the serialized templates

# ids: random bytes below 248 (= 4 x 62) map uniformly onto the 62-letter alphabet; the rest are dropped
_ACCEPTED = 4 * len(_ALPHABET)
_ID_TABLE = bytes(ord(_ALPHABET[b % len(_ALPHABET)]) if b < _ACCEPTED else 0 for b in range(256))
_ID_REJECT = bytes(range(_ACCEPTED, 256))


def seed_status(status: str) -> str:
    """``status`` as stored (upper case); raises ``InputInvalid`` unless it is an order status of the API."""
    value = status.strip().upper()
    if value not in ORDER_STATUSES:
        raise InputInvalid(f"status: {status!r} is not an order status; use one of {', '.join(ORDER_STATUSES)}.")
    return value


def bulk_ids(n: int) -> list[str]:
    """``n`` fresh ids shaped like ``kit.ids.new_id()`` (24 of ``[A-Za-z0-9]``, each uniform, from
    ``secrets``), made in bulk: one ``token_bytes`` call and one ``bytes.translate`` per few thousand ids."""
    need = n * ID_LENGTH
    out = bytearray()
    while len(out) < need:
        missing = need - len(out)
        out += secrets.token_bytes(missing * 256 // _ACCEPTED + 64).translate(_ID_TABLE, _ID_REJECT)
    text = out[:need].decode("ascii")
    return [text[k : k + ID_LENGTH] for k in range(0, need, ID_LENGTH)]


def _bind(column: ColumnElement[Any], dialect: Dialect) -> Callable[[Any], Any]:
    """The column type's bind processing for ``dialect`` (what Core does to each parameter)."""
    processor = column.type.dialect_impl(dialect).bind_processor(dialect)
    return processor or (lambda value: value)


def seed_orders(
    engine: Engine,
    integration_id: str,
    package_id: str,
    count: int,
    order_data: Callable[[int], Mapping[str, Any]],
    *,
    batch_size: int = 5000,
    commit_every: int = 200_000,
    status: str = "OPEN",
    progress: Callable[[int, float], None] | None = None,
) -> float:
    """Insert ``count`` orders; returns orders per second. ``progress(done, rate)`` is called per batch of
    ``batch_size``; a transaction commits every ``commit_every`` rows (and at the end).

    ``order_data(seed)`` gives the candidate, application and job of the template ``seed``. The caller checks
    the integration and package first (``connectors.sandbox.seed.check_seedable``); ``status`` is checked here too.
    """
    status = seed_status(status)
    started = time.monotonic()
    rows = _RowMaker(engine.dialect, integration_id, package_id, status, count, order_data)
    done = 0
    with engine.connect() as conn, _sqlite_cache(conn):
        while done < count:
            with conn.begin():
                chunk_end = min(done + commit_every, count)
                while done < chunk_end:
                    n = min(batch_size, chunk_end - done)
                    _insert(conn, rows.columns, rows.make(done, n))
                    done += n
                    if progress:
                        progress(done, done / max(time.monotonic() - started, 1e-9))
    return count / max(time.monotonic() - started, 1e-9)


@contextmanager
def _sqlite_cache(conn: Connection, kib: int = SQLITE_SEED_CACHE_KIB) -> Iterator[None]:
    """On SQLite, a larger page cache on the seeding connection while it seeds (restored after): the
    primary-key index gets random ids, and with SQLite's default 2 MB cache each insert into a large table
    re-reads and rewrites index pages (1,000,000 orders: ~50 MB of that index)."""
    if conn.dialect.name != "sqlite":
        yield
        return
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size = -{int(kib)}")
    conn.commit()  # the pragmas ran in an autobegun transaction
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size = {int(before or 0)}")
        conn.commit()


class _RowMaker:
    """Rows of ``orders`` as the driver receives them, in ``columns`` order."""

    def __init__(
        self,
        dialect: Dialect,
        integration_id: str,
        package_id: str,
        status: str,
        count: int,
        order_data: Callable[[int], Mapping[str, Any]],
    ) -> None:
        table = OrderRow.__table__
        serialize = getattr(dialect, "_json_serializer", None) or json.dumps  # as sqltypes.JSON binds
        self.postgres = dialect.name == "postgresql"
        constants: dict[str, Any] = {
            "integration_id": integration_id,
            "package_id": package_id,
            "status": status,
            "remote_data": None,
            "inline": False,
            "rejection_message": None,
            "assessment_url": None,
            "latest_result_id": None,
        }
        per_row = {"id", "candidate", "application", "job", "created_at", "updated_at"}
        self.columns: list[str] = []
        self.constant: dict[str, Any] = {}
        for column in table.columns:
            name = column.name
            if name in per_row:
                self.columns.append(name)
            elif name in constants:
                self.columns.append(name)
                self.constant[name] = _bind(column, dialect)(constants[name])  # JSON None -> 'null', as Core
            elif column.default is not None and getattr(column.default, "is_scalar", False):
                self.columns.append(name)
                self.constant[name] = _bind(column, dialect)(column.default.arg)
            elif column.default is not None or (column.server_default is None and not column.nullable):
                # a Python-side default Core would compute per row, or a required column: say so, never guess
                raise RuntimeError(f"seed does not know how to fill orders.{name}")
            # else: left to its server default / NULL
        self.created = _bind(table.c.created_at, dialect)
        self.start_at = utcnow() - timedelta(milliseconds=count)
        # serialized once per pool record; the order's number is spliced in per row
        self.templates: list[tuple[str, str]] = []
        for seed in range(POOL_SIZE):
            data = order_data(seed)
            candidate = serialize(
                normalize_candidate(
                    {**data["candidate"], "remote_id": f"cand_seed_{_MARK}", "email": f"seed{_MARK}@example.com"}
                )
            )
            if candidate.count(_MARK) != 2:
                raise RuntimeError("seed: unexpected candidate serialization")
            self.templates.append((candidate, serialize(normalize_job(data["job"]))))
        self.application = serialize(normalize_application({"remote_id": f"app_seed_{_MARK}"}))
        if self.application.count(_MARK) != 1:
            raise RuntimeError("seed: unexpected application serialization")

    def make(self, first: int, n: int) -> Iterator[tuple[Any, ...]]:
        ids = bulk_ids(n)
        templates, application, start_at, created = self.templates, self.application, self.start_at, self.created
        ms = timedelta(milliseconds=1)
        getters: list[Callable[[int, int], Any] | None] = []
        for name in self.columns:
            if name == "id":
                getters.append(lambda i, k: ids[k])
            elif name == "candidate":
                getters.append(lambda i, k: templates[i % POOL_SIZE][0].replace(_MARK, str(i)))
            elif name == "job":
                getters.append(lambda i, k: templates[i % POOL_SIZE][1])
            elif name == "application":
                getters.append(lambda i, k: application.replace(_MARK, str(i)))
            elif name in ("created_at", "updated_at"):
                getters.append(None)  # filled below, once per row
            else:
                value = self.constant[name]
                getters.append(lambda i, k, value=value: value)  # type: ignore[misc]
        stamp_at = [j for j, name in enumerate(self.columns) if name in ("created_at", "updated_at")]
        for k in range(n):
            i = first + k
            row = [g(i, k) if g is not None else None for g in getters]
            stamp = created(start_at + ms * i)
            for j in stamp_at:
                row[j] = stamp
            yield tuple(row)


def _insert(conn: Connection, columns: list[str], rows: Iterator[tuple[Any, ...]]) -> None:
    quote = conn.dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in columns)
    table = quote(OrderRow.__tablename__)
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        raw: Any = conn.connection.dbapi_connection  # psycopg's Connection (its COPY)
        with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" if conn.dialect.paramstyle == "qmark" else "%s" for _ in columns)
    conn.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({marks})", list(rows))
