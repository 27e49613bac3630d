"""``/health`` (the process answers), ``/ready`` (it can do its job) and ``/metrics`` (Prometheus).

``/ready`` answers 200 ``{"status": "ready", "checks": {...}}`` when all three checks pass, else 503
``{"status": "unready", ...}`` naming the failed ones:

- ``database``: a query on the database answers (SQLite: the database file is also still there, so a
  file moved or deleted under a running hub is seen even by connections that still hold it open);
- ``migrations``: the database's Alembic revision is the head of the migrations this code ships;
- ``worker``: some delivery worker's heartbeat (``worker_heartbeats``, any process or host on this
  database) is younger than ``READY_HEARTBEAT_MAX_AGE_S``.

None of these routes needs a key; they reveal counts and ages, never tenant data. They are left out of
the OpenAPI document (operations, not the vendor API).
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from assessment_hub import __version__
from assessment_hub.db.describe import connection_error
from assessment_hub.kit.timestamps import utcnow
from assessment_hub.ops.metrics import DatabaseCollector, render

router = APIRouter(include_in_schema=False)


@lru_cache(maxsize=1)
def migration_heads() -> frozenset[str]:
    """The head revision(s) of the shipped migrations (read once per process)."""
    from alembic.script import ScriptDirectory

    from assessment_hub.db.migrate import alembic_config

    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def _sqlite_file(database_url: str) -> Path | None:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        return None
    return Path(url.database).expanduser()


def readiness(request: Request) -> tuple[bool, dict[str, Any]]:
    """Run the three checks; returns (all passed, details per check)."""
    from assessment_hub.delivery.heartbeat import WorkerHeartbeatRow

    settings = request.app.state.settings
    checks: dict[str, Any] = {}
    revisions: set[str] | None = None
    freshest = None
    alive = 0
    path = _sqlite_file(settings.database_url)
    if path is not None and not path.is_file():
        checks["database"] = {"ok": False, "error": f"the database file {path} is missing"}
    else:
        try:
            with request.app.state.read_sessions() as session:
                revisions = set(session.scalars(text("SELECT version_num FROM alembic_version")))
                window = utcnow() - timedelta(seconds=settings.ready_heartbeat_max_age_s)
                freshest, alive = session.execute(
                    select(
                        func.max(WorkerHeartbeatRow.beat_at), func.count().filter(WorkerHeartbeatRow.beat_at >= window)
                    )
                ).one()
            checks["database"] = {"ok": True}
        except Exception as exc:
            checks["database"] = {"ok": False, "error": connection_error(exc)[:300]}
    heads = migration_heads()
    if revisions is None:
        checks["migrations"] = {"ok": False, "error": "database not reachable", "head": sorted(heads)}
    else:
        checks["migrations"] = {"ok": revisions == heads, "current": sorted(revisions), "head": sorted(heads)}
    if not checks["database"]["ok"]:
        checks["worker"] = {"ok": False, "error": "database not reachable"}
    else:
        age = (utcnow() - freshest).total_seconds() if freshest is not None else None
        checks["worker"] = {
            "ok": bool(alive),
            "heartbeat_age_s": None if age is None else round(age, 1),
            "workers_alive": alive or 0,
            "max_age_s": settings.ready_heartbeat_max_age_s,
        }
    return all(check["ok"] for check in checks.values()), checks


@router.get("/health")
async def health() -> dict[str, Any]:
    return {"status": "ok", "version": __version__}


@router.get("/ready")
def ready(request: Request) -> JSONResponse:
    ok, checks = readiness(request)
    return JSONResponse({"status": "ready" if ok else "unready", "checks": checks}, status_code=200 if ok else 503)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    settings = request.app.state.settings
    body, content_type = render(DatabaseCollector(request.app.state.read_sessions, settings.ready_heartbeat_max_age_s))
    return Response(body, media_type=content_type)
