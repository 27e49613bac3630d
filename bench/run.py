#!/usr/bin/env python3
"""Run the assessment-hub benchmark suite; write RESULTS.md and results.json.

    python bench/run.py                 # full suite (make bench), < 10 min on 2 cores
    python bench/run.py --quick         # seconds per figure (make bench-quick, CI)
    python bench/run.py --quick --only ceiling --out /tmp/b
    python bench/run.py --only console --databases sqlite --console-orders 20000 --out /tmp/b

Figure groups (``--only`` takes a comma list):

    ceiling     bare GET / PUT / 5 MB-attachment PUT on the hub's stack (baselines)
    writes      (2) PUT /v1/assessment/orders/{id}/result over distinct orders, per database
    listing     (3) GET /v1/assessment/orders?page_size=100&statuses=OPEN, per database
    depth       (4) bulk-seed 1,000,000 orders; first page vs page after 990,000 rows
    delivery    (5) 200 results/s for 30 s: result -> fake ATS, order -> fake vendor
    memory      (6) hub RSS after the run
    attachment  (7) result with a 5 MB base64 attachment: req/s and hub peak RSS
    console     (8) operator console /console/orders at 1,000,000 orders: first page vs page after 990,000

Exit status: 0 when every requested figure was produced (goals are reported,
not enforced), 2 when some figure could not be produced (RESULTS.md says why),
1 on a usage error.  ``--allow-missing`` turns 2 into 0.

Everything the hub must provide is marked ``HUB HOOK`` below.
"""

from __future__ import annotations

import argparse
import atexit
import base64
import dataclasses
import json
import os
import random
import shlex
import shutil
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (
    BENCH_DIR,
    LOOPBACK,
    REPO_ROOT,
    BenchError,
    Figure,
    Receiver,
    Report,
    Server,
    WrkUnavailable,
    ensure_wrk,
    http_request,
    last_line,
    loadavg,
    log,
    paced_requests,
    percentile,
    run_cli,
    run_wrk,
    slope_per_s,
    tree_cpu_seconds,
    wrk_version,
)

GROUPS = ["ceiling", "writes", "listing", "depth", "delivery", "memory", "attachment", "scaleout", "console"]
SCALEOUT_MODELS = ((1, 1), (2, 2))
"""Scale-out on PostgreSQL: (API processes, delivery worker processes) of each measured process model."""
DATABASES = ["sqlite", "postgres"]

RESULT_PATH = "/v1/assessment/orders/{id}/result"
LIST_QUERY = "/v1/assessment/orders?page_size=100&statuses=OPEN"
CONSOLE_ORDERS = "/console/orders"
CONSOLE_PAGE_SIZE = 50  # the console's page (assessment.browse.browse_orders' default)

TYPICAL_RESULT: dict[str, Any] = {
    "status": "COMPLETED",
    "result_url": "https://vendor.example/r/1",
    "completed_at": "2024-01-02T03:04:05.000Z",
    "score": 90,
    "max_score": 100,
    "attributes": [
        {"type": "TEXT", "label": "Role fit", "value": "Excellent"},
        {
            "type": "SUB_RESULT",
            "id": "logic",
            "label": "Logic",
            "score": {"value": 40, "max": 50},
            "status": "COMPLETED",
        },
    ],
}


def attachment_result(size_bytes: int) -> dict[str, Any]:
    """The typical result plus one attachment of ``size_bytes`` raw bytes
    (sent base64-encoded, so the body is ~4/3 of that).

    HUB HOOK: adjust the attachment field names once the hub's result schema
    is final (currently ``attachments: [{name, content_type, data}]``).
    """
    raw = random.Random(7).randbytes(size_bytes)
    body = dict(TYPICAL_RESULT)
    body["attachments"] = [
        {"name": "report.pdf", "content_type": "application/pdf", "data": base64.b64encode(raw).decode()}
    ]
    return body


# --------------------------------------------------------------------------
# settings


@dataclasses.dataclass
class Settings:
    mode: str
    duration_s: int  # each wrk measurement
    warmup_s: int  # a discarded wrk run before each measurement (0: none)
    connections: int = 64
    threads: int = 2
    attachment_bytes: int = 5 * 1024 * 1024
    attachment_connections: int = 16
    attachment_duration_s: int = 10
    write_orders_max: int = 200_000  # cap of distinct orders seeded for the write run
    write_orders_min: int = 1_000
    listing_orders: int = 1_000  # OPEN orders present during the listing run
    depth_orders: int = 1_000_000
    depth_deep_offset: int = 990_000
    depth_probe_s: int = 5  # wrk -c1 run per page (first, deep)
    depth_walk_page_size: int = 100
    console_orders: int = 1_000_000  # orders in the database for the console figure (seeded up to this)
    console_deep_offset: int = 990_000
    delivery_rate: float = 200
    delivery_duration_s: float = 30
    # after the load window: answers and deliveries still awaited at most this long (p99 goal is 1 s; later
    # counts as "undelivered", at its lower bound); requests not started in the window + 1 s are not sent
    delivery_drain_s: float = 20
    delivery_send_grace_s: float = 1
    wrk_timeout_s: int = 10

    @classmethod
    def full(cls) -> Settings:
        return cls(mode="full", duration_s=10, warmup_s=2)

    @classmethod
    def quick(cls) -> Settings:
        return cls(
            mode="quick",
            duration_s=1,
            warmup_s=0,
            # Quick runs check that every figure is produced, not its value: 16 connections keep the 2 + 2
            # scale-out run (each API process opens a pooled connection per concurrent write) under a shared
            # PostgreSQL's default max_connections of 100 beside the test suite's own hubs; with 64 the CI run
            # of 2026-12-02 07:34 got "too many clients" (503s) and the figure was not produced.
            connections=16,
            attachment_bytes=5 * 1024 * 1024,
            attachment_connections=4,
            attachment_duration_s=1,
            write_orders_max=10_000,
            write_orders_min=100,
            listing_orders=150,
            depth_orders=2_000,
            depth_deep_offset=1_980,
            depth_probe_s=1,
            console_orders=2_000,
            console_deep_offset=1_950,
            delivery_rate=20,
            delivery_duration_s=2,
            delivery_drain_s=5,
        )

    def public(self) -> dict[str, Any]:
        keep = [
            "duration_s",
            "warmup_s",
            "connections",
            "threads",
            "attachment_connections",
            "depth_orders",
            "console_orders",
            "delivery_rate",
            "delivery_duration_s",
        ]
        return {k: getattr(self, k) for k in keep}


# --------------------------------------------------------------------------
# expected figures (so a phase that fails still shows up as "not produced")


def expected_figures(groups: list[str], dbs: list[str]) -> list[tuple[str, str, str]]:
    """(group, name, unit) of every figure the requested groups produce."""
    out: list[tuple[str, str, str]] = []
    if "ceiling" in groups:
        for kind in ("get", "put", "attachment"):
            out += [
                ("ceiling", f"ceiling_{kind}_rps", "req/s"),
                ("ceiling", f"ceiling_{kind}_p50_ms", "ms"),
                ("ceiling", f"ceiling_{kind}_p99_ms", "ms"),
            ]
        out += [("ceiling", "ceiling_attachment_peak_rss_mb", "MB"), ("ceiling", "ceiling_rss_after_mb", "MB")]
    for db in dbs:
        if "writes" in groups:
            out += [
                ("writes", f"writes_{db}_rps", "req/s"),
                ("writes", f"writes_{db}_p50_ms", "ms"),
                ("writes", f"writes_{db}_p99_ms", "ms"),
            ]
        if "listing" in groups:
            out += [
                ("listing", f"listing_{db}_rps", "req/s"),
                ("listing", f"listing_{db}_p50_ms", "ms"),
                ("listing", f"listing_{db}_p99_ms", "ms"),
            ]
        if "depth" in groups:
            out += [
                ("depth", f"depth_{db}_seed_rate", "orders/s"),
                ("depth", f"depth_{db}_first_p50_ms", "ms"),
                ("depth", f"depth_{db}_deep_p50_ms", "ms"),
            ]
        if "delivery" in groups:
            for leg in ("result_to_ats", "order_to_vendor"):
                out += [
                    ("delivery", f"delivery_{db}_{leg}_p50_ms", "ms"),
                    ("delivery", f"delivery_{db}_{leg}_p99_ms", "ms"),
                    ("delivery", f"delivery_{db}_{leg}_backlog_slope", "items/s"),
                ]
        if "writes" in groups:
            out += [("writes", f"writes_{db}_cpu_ms_per_result", "ms")]
        if "scaleout" in groups and db == "postgres":
            for api, workers in SCALEOUT_MODELS:
                prefix = f"scaleout_{db}_{api}x{workers}"
                out += [
                    ("scaleout", f"{prefix}_writes_rps", "req/s"),
                    ("scaleout", f"{prefix}_writes_p50_ms", "ms"),
                    ("scaleout", f"{prefix}_writes_p99_ms", "ms"),
                    ("scaleout", f"{prefix}_delivered_per_s", "items/s"),
                    ("scaleout", f"{prefix}_cpu_ms_per_result", "ms"),
                ]
        if "memory" in groups:
            out += [("memory", f"memory_{db}_rss_mb", "MB")]
        if "console" in groups:
            out += [
                ("console", f"console_{db}_first_p50_ms", "ms"),
                ("console", f"console_{db}_deep_p50_ms", "ms"),
            ]
        if "attachment" in groups:
            out += [
                ("attachment", f"attachment_{db}_rps", "req/s"),
                ("attachment", f"attachment_{db}_peak_rss_mb", "MB"),
            ]
    return out


# --------------------------------------------------------------------------
# ceiling (figure 1) -- measured for real


def serve_workers(serve_args: str) -> int:
    """The API process count ``assessment-hub serve`` runs with these options (``--workers N``, default 1)."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--workers", type=int, default=1)
    known, _ = p.parse_known_args(shlex.split(serve_args))
    return max(1, known.workers)


def ceiling_uvicorn_args(serve_args: str, extra: str | None) -> list[str]:
    """uvicorn options for the ceiling: what ``serve`` passes to ``uvicorn.run`` -- ``log_level="warning"``
    and, with ``--workers N`` > 1, ``workers=N`` (N API processes under uvicorn's supervisor) -- unless
    ``--ceiling-uvicorn-args`` says otherwise; the API process count follows ``serve``'s unless those
    options name ``--workers`` themselves."""
    args = shlex.split(extra) if extra is not None else ["--log-level", "warning"]
    if not any(a == "--workers" or a.startswith("--workers=") for a in args):
        n = serve_workers(serve_args)
        if n > 1:
            args += ["--workers", str(n)]
    return args


def process_model(serve_args: str, ceiling_args: list[str]) -> str:
    """One line for RESULTS.md: which processes served the hub and the ceiling."""
    n = serve_workers(serve_args)
    command = " ".join(["assessment-hub serve", *shlex.split(serve_args)])
    if "--worker-in-process" in serve_args:
        hub = f"`{command}`: 1 process (API and delivery worker in it)"
    elif n == 1:  # cli._one_process
        hub = f"`{command}`: SQLite 1 process (API and delivery worker in it), PostgreSQL 1 API process + 1 delivery `worker` process"
    else:
        hub = f"`{command}`: {n} API processes under uvicorn's supervisor + 1 delivery `worker` process"
    c = serve_workers(" ".join(shlex.quote(a) for a in ceiling_args))
    ceiling = (
        "1 process"
        if c == 1
        else f"{c} API processes under uvicorn's supervisor (no delivery worker: the ceiling delivers nothing)"
    )
    return f"hub {hub}; ceiling `uvicorn bench.ceiling:app {' '.join(ceiling_args)}`: {ceiling}"


def ceiling_argv(python: str, uvicorn_args: list[str]) -> list[str]:
    """How the ceiling is served.  HUB HOOK: keep ``uvicorn_args`` equal to
    what ``assessment-hub serve`` passes to uvicorn (workers, loop, http,
    access log...), so the ceiling has the same process model."""
    return [python, "-m", "uvicorn", "bench.ceiling:app", "--host", "{host}", "--port", "{port}"] + uvicorn_args


def measured(res) -> bool:
    """A wrk run counts only if requests completed and none answered non-2xx."""
    return res.requests > 0 and res.non_2xx == 0


def write_ids(path: Path, ids: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(ids) + "\n")
    return path


def write_json(path: Path, obj: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))
    return path


class Bench:
    def __init__(self, args: argparse.Namespace, s: Settings, report: Report, work: Path):
        self.args, self.s, self.report, self.work = args, s, report, work
        self.wrk = "wrk"
        self.typical_body = write_json(work / "bodies" / "result.json", TYPICAL_RESULT)
        self._attachment_body: Path | None = None

    @property
    def attachment_body(self) -> Path:
        if self._attachment_body is None:
            self._attachment_body = write_json(
                self.work / "bodies" / "result_attachment.json", attachment_result(self.s.attachment_bytes)
            )
        return self._attachment_body

    def wrk_run(
        self,
        name: str,
        url: str,
        script: str,
        script_args: dict[str, Any] | None = None,
        *,
        connections: int | None = None,
        threads: int | None = None,
        duration_s: int | None = None,
        warmup: bool = True,
        timeout_s: int | None = None,
    ):
        s = self.s
        kw = dict(
            connections=connections or s.connections,
            threads=threads or s.threads,
            timeout_s=timeout_s or s.wrk_timeout_s,
            wrk=self.wrk,
        )
        if self.args.strict_status:
            script_args = dict(script_args or {}, strict=1)
        if warmup and s.warmup_s > 0:
            run_wrk(
                url, script, script_args, duration_s=s.warmup_s, log_path=self.work / "wrk" / f"{name}.warmup.txt", **kw
            )
        res = run_wrk(
            url,
            script,
            script_args,
            duration_s=duration_s or s.duration_s,
            log_path=self.work / "wrk" / f"{name}.txt",
            **kw,
        )
        self.report.runs[name] = dataclasses.asdict(res)
        log(
            f"{name}: {res.rps:.0f} req/s p50 {res.p50_ms:.2f} ms p99 {res.p99_ms:.2f} ms"
            + (f" ({res.problems()})" if res.problems() else "")
        )
        return res

    def add_latency_figures(
        self,
        prefix: str,
        res,
        group: str,
        *,
        baseline_rps: float | None = None,
        baseline_name: str | None = None,
        goal: str | None = None,
    ) -> None:
        """req/s, p50, p99 of one wrk run.  A run with non-2xx answers (or no
        completed request) measured something else than the figure: its
        figures are reported as not produced, with the reason."""
        valid = measured(res)
        note = res.problems() + ("" if valid else " -> figure not produced (the run had failures)")
        self.report.add(
            Figure(
                f"{prefix}_rps",
                res.rps if valid else None,
                "req/s",
                baseline=baseline_rps,
                baseline_name=baseline_name,
                goal=goal if baseline_rps else None,
                note=note,
                group=group,
            )
        )
        self.report.add(
            Figure(
                f"{prefix}_p50_ms",
                res.p50_ms if valid else None,
                "ms",
                group=group,
                note="" if valid else "see " + prefix + "_rps",
            )
        )
        self.report.add(
            Figure(
                f"{prefix}_p99_ms",
                res.p99_ms if valid else None,
                "ms",
                group=group,
                note="" if valid else "see " + prefix + "_rps",
            )
        )

    def measure_ceiling(self) -> None:
        s, r = self.s, self.report
        argv = ceiling_argv(
            self.args.python, ceiling_uvicorn_args(self.args.serve_args, self.args.ceiling_uvicorn_args)
        )
        ids = write_ids(self.work / "ids" / "ceiling.txt", [f"ceil{i:08d}" for i in range(100_000)])
        with Server(argv, log_path=self.work / "logs" / "ceiling.log", ready_path="/health", name="ceiling") as srv:
            base = srv.base_url
            status, body = http_request(
                "PUT",
                base + "/v1/assessment/orders/probe0001/result",
                self.typical_body.read_bytes(),
                headers={"Content-Type": "application/json"},
            )
            if status != 200:
                raise BenchError(f"ceiling PUT probe answered {status}: {body[:300]!r}")
            get = self.wrk_run("ceiling_get", base + LIST_QUERY, "get.lua")
            self.add_latency_figures("ceiling_get", get, "ceiling")
            put = self.wrk_run(
                "ceiling_put", base, "put_ids.lua", {"ids": ids, "body": self.typical_body, "path": RESULT_PATH}
            )
            self.add_latency_figures("ceiling_put", put, "ceiling")
            with srv.sampler() as sampler:
                att = self.wrk_run(
                    "ceiling_attachment",
                    base,
                    "put_ids.lua",
                    {"ids": ids, "body": self.attachment_body, "path": RESULT_PATH},
                    connections=s.attachment_connections,
                    duration_s=s.attachment_duration_s,
                    timeout_s=30,
                )
                mem = srv.memory()
            self.add_latency_figures("ceiling_attachment", att, "ceiling")
            r.add(
                Figure(
                    "ceiling_attachment_peak_rss_mb",
                    max(sampler.peak_mb, 0.0) or None,
                    "MB",
                    group="ceiling",
                    note=f"sampled peak of summed VmRSS; summed VmHWM {mem.hwm_mb:.0f} MB",
                )
            )
            r.add(Figure("ceiling_rss_after_mb", mem.rss_mb, "MB", group="ceiling"))
            r.runs["ceiling_server"] = {"argv": srv.argv, "startup_s": srv.startup_s}

    # ----------------------------------------------------------------------
    # hub figures (2-7)

    def run_hub(self, groups: list[str], dbs: list[str]) -> dict[str, str]:
        """Run the hub groups on each database; returns {figure prefix: reason} for failures."""
        failures: dict[str, str] = {}
        cli = hub_cli(self.args)
        if cli is None:
            return {"*": "hub CLI `assessment-hub` not found (next to --python or on PATH)"}
        for db in dbs:
            try:
                self.run_hub_on(db, cli, groups)
            except (BenchError, NotImplementedError, OSError) as exc:
                log(f"hub on {db}: {exc}")
                failures[db] = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
                (self.work / "logs").mkdir(parents=True, exist_ok=True)
                (self.work / "logs" / f"hub_{db}.error.txt").write_text(traceback.format_exc())
        return failures

    def run_hub_on(self, db: str, cli: list[str], groups: list[str]) -> None:
        s = self.s
        work = self.work / db
        db_url = prepare_database(db, work)
        env = {"ASSESSMENT_HUB_DATABASE_URL": db_url}
        # Kombo's cap of in-flight writes per integration (30 by default) would answer 429 to the load's
        # 64 connections on one integration: the figures measure the write path, so the cap is twice the
        # load's (when a warm-up's wrk stops, its last requests are still being answered while the measured
        # run's connections send theirs: with the cap at exactly 64, a few of those were refused)
        env["ASSESSMENT_HUB_CONCURRENCY_LIMIT"] = str(2 * max(30, s.connections, s.attachment_connections))
        if not db_url.startswith("sqlite"):  # PostgreSQL needs its secret key set (SQLite: a file beside it)
            from cryptography.fernet import Fernet

            env["ASSESSMENT_HUB_SECRET_KEY"] = Fernet.generate_key().decode()
        ats, vendor = Receiver("ats"), Receiver("vendor")
        try:
            ats.start()
            vendor.start()
            env.update(delivery_env(ats.url, vendor.url))  # HUB HOOK
            ctx = hub_setup(cli, env, work)  # migrate, api key, integration
            per_group_error: dict[str, str] = {}
            ceiling_put = self.report.value("ceiling_put_rps")
            # distinct orders for the write run: the hub cannot beat the ceiling,
            # so ceiling_put_rps * duration ids are enough to never reuse one
            n_write = int(min(s.write_orders_max, max(s.write_orders_min, (ceiling_put or 0) * s.duration_s * 1.2)))
            n_att = max(50, s.attachment_connections * s.attachment_duration_s * 20) if "attachment" in groups else 0
            n_delivery = int(s.delivery_rate * s.delivery_duration_s) if "delivery" in groups else 0
            # scale-out: distinct orders per process model (the hub stays well below half the ceiling)
            n_scale_each = max(s.write_orders_min, n_write // 2) if "scaleout" in groups and db == "postgres" else 0
            n_scale = n_scale_each * len(SCALEOUT_MODELS)
            n_total = n_write + s.listing_orders + n_att + n_delivery + n_scale + 1
            t0 = time.monotonic()
            ids = seed_orders(self.args, ctx, n_total, work / "ids" / "seed.txt")  # HUB HOOK
            log(f"{db}: seeded {len(ids)} orders in {time.monotonic() - t0:.1f}s")
            ctx.orders_seeded = len(ids)
            write_ids_all, rest = ids[:n_write], ids[n_write:]
            att_ids, rest = rest[:n_att], rest[n_att:]
            delivery_ids, rest = rest[:n_delivery], rest[n_delivery:]
            scale_ids = rest[:n_scale]  # the remaining listing_orders stay OPEN for the listing run

            server = Server(
                hub_serve_argv(cli),
                env=env,
                log_path=work / "logs" / "hub.log",
                ready_path=self.args.hub_ready_path,
                ready_timeout_s=60,
                name=f"hub ({db})",
            )
            server.start()
            ctx.base_url = server.base_url
            try:
                for group, fn in (
                    ("listing", lambda: self.figure_listing(ctx, db)),
                    # delivery before writes: the write run's results queue write-backs to the fake ATS
                    ("delivery", lambda: self.figure_delivery(ctx, db, delivery_ids, ats, vendor)),
                    ("writes", lambda: self.figure_writes(ctx, db, write_ids_all, server)),
                    ("memory", lambda: self.figure_memory(server, db)),
                    ("attachment", lambda: self.figure_attachment(ctx, db, att_ids, server)),
                    ("depth", lambda: self.figure_depth(ctx, db)),
                    # after depth: its million orders serve the console's pages too
                    ("console", lambda: self.figure_console(ctx, db)),
                ):
                    if group not in groups:
                        continue
                    try:
                        fn()
                    except (BenchError, NotImplementedError, OSError) as exc:
                        log(f"{db}/{group}: {exc}")
                        per_group_error[group] = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
                        self._mark_missing(group, db, f"{type(exc).__name__}: {per_group_error[group]}")
            finally:
                server.stop()
            if "scaleout" in groups and db == "postgres":
                try:
                    self.figure_scaleout(cli, env, ctx, db, scale_ids, n_scale_each, ats)
                except (BenchError, NotImplementedError, OSError) as exc:
                    log(f"{db}/scaleout: {exc}")
                    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
                    self._mark_missing("scaleout", db, f"{type(exc).__name__}: {reason}")
        finally:
            ats.stop()
            vendor.stop()

    def _mark_missing(self, group: str, db: str, reason: str) -> None:
        for g, name, unit in expected_figures([group], [db]):
            if self.report.get(name) is None:
                self.report.add(Figure.missing(name, unit, reason, group=g))

    def _preflight(self, ctx: HubContext, method: str, path: str, body: bytes | None = None) -> None:
        headers = ctx.headers()
        if body is not None:
            headers["Content-Type"] = "application/json"
        # A 429 right after a wrk run is the hub still answering that run's last requests (its in-flight
        # write slots are taken until then): wait as Retry-After says, a few times, as a client would.
        for _attempt in range(10):
            status, resp = http_request(method, ctx.base_url + path, body, headers=headers, timeout_s=30)
            if status != 429:
                break
            time.sleep(1.0)
        if not 200 <= status < 300:
            raise BenchError(f"preflight {method} {path} answered {status}: {resp[:300]!r}")

    # (3) ------------------------------------------------------------------
    def figure_listing(self, ctx: HubContext, db: str) -> None:
        """Order listing, ratio to the ceiling GET; goal >= 0.25."""
        self._preflight(ctx, "GET", LIST_QUERY)
        res = self.wrk_run(f"listing_{db}", ctx.base_url + LIST_QUERY, "get.lua", ctx.wrk_args())
        self.add_latency_figures(
            f"listing_{db}",
            res,
            "listing",
            baseline_rps=self.report.value("ceiling_get_rps"),
            baseline_name="ceiling_get_rps",
            goal=">= 0.25",
        )

    # (2) ------------------------------------------------------------------
    def figure_writes(self, ctx: HubContext, db: str, order_ids: list[str], server: Server | None = None) -> None:
        """Result writes over distinct orders, ratio to the ceiling PUT; goal >= 0.35 on SQLite, >= 0.25 on
        PostgreSQL (issue 15: its write crosses the network and PostgreSQL's processes share the cores). With ``server``, also
        the hub's CPU per result: CPU seconds of its process tree during the measured run / results accepted
        (the delivery worker's share included, in the process or a child of it: it delivers those results'
        write-backs meanwhile)."""
        if len(order_ids) < 2:
            raise BenchError("need at least 2 seeded orders for the write run")
        self._preflight(ctx, "PUT", RESULT_PATH.format(id=order_ids[0]), self.typical_body.read_bytes())
        rest = order_ids[1:]
        # warm-up on the first part of the ids, measurement on the rest: never the same order twice
        n_warm = len(rest) // 6 if self.s.warmup_s else 0
        if n_warm:
            run_wrk(
                ctx.base_url,
                "put_ids.lua",
                dict(
                    ctx.wrk_args(),
                    ids=write_ids(ctx.work / "ids" / "writes_warm.txt", rest[:n_warm]),
                    body=self.typical_body,
                    path=RESULT_PATH,
                ),
                duration_s=self.s.warmup_s,
                connections=self.s.connections,
                threads=self.s.threads,
                wrk=self.wrk,
            )
        ids_path = write_ids(ctx.work / "ids" / "writes.txt", rest[n_warm:])
        cpu_before = tree_cpu_seconds([server.pid]) if server is not None else 0.0
        res = self.wrk_run(
            f"writes_{db}",
            ctx.base_url,
            "put_ids.lua",
            dict(ctx.wrk_args(), ids=ids_path, body=self.typical_body, path=RESULT_PATH),
            warmup=False,
        )
        if server is not None:
            cpu_s = tree_cpu_seconds([server.pid]) - cpu_before
            valid = measured(res)
            self.report.add(
                Figure(
                    f"writes_{db}_cpu_ms_per_result",
                    cpu_s * 1000 / res.requests if valid else None,
                    "ms",
                    group="writes",
                    note=(
                        f"{cpu_s:.2f} CPU s of the hub's processes / {res.requests} results accepted "
                        "(delivery of their write-backs meanwhile included)"
                    )
                    if valid
                    else "see writes_" + db + "_rps",
                )
            )
        self.add_latency_figures(
            f"writes_{db}",
            res,
            "writes",
            baseline_rps=self.report.value("ceiling_put_rps"),
            baseline_name="ceiling_put_rps",
            goal=">= 0.35" if db == "sqlite" else ">= 0.25",
        )

    # (8) ------------------------------------------------------------------
    def figure_scaleout(
        self,
        cli: list[str],
        env: dict[str, str],
        ctx: HubContext,
        db: str,
        order_ids: list[str],
        per_model: int,
        ats: Receiver,
    ) -> None:
        """Scale-out on PostgreSQL: for each of ``SCALEOUT_MODELS`` (N API processes: ``serve --no-worker
        --workers N``, plus M ``assessment-hub worker`` processes), result writes over distinct orders (wrk,
        as the write figure), then the write-backs of those results counted at the fake ATS until all
        arrived (bounded by ``delivery_drain_s``): delivered per second from the start of the writes to
        the last arrival, and the CPU seconds of every hub process over that time per result accepted. The
        freshly started processes are warmed up first (``max(warmup_s, 2)`` seconds of the same load on
        orders of their own; its write-backs are awaited before the measurement)."""
        s = self.s
        for index, (n_api, n_workers) in enumerate(SCALEOUT_MODELS):
            model = f"{n_api}x{n_workers}"
            prefix = f"scaleout_{db}_{model}"
            ids = order_ids[index * per_model : (index + 1) * per_model]
            argv = cli + ["serve", "--host", "{host}", "--port", "{port}", "--no-worker"]
            if n_api > 1:
                argv += ["--workers", str(n_api)]
            logs = self.work / db / "logs"
            server = Server(
                argv,
                env=env,
                log_path=logs / f"scaleout_{model}_serve.log",
                ready_path=self.args.hub_ready_path,
                ready_timeout_s=60,
                name=f"hub scale-out {model} ({db})",
            )
            workers: list[subprocess.Popen] = []
            server.start()
            try:
                for w in range(n_workers):
                    with (logs / f"scaleout_{model}_worker{w}.log").open("w") as out:
                        workers.append(
                            subprocess.Popen(
                                cli + ["worker"],
                                env={**os.environ, **env},
                                stdout=out,
                                stderr=subprocess.STDOUT,
                                start_new_session=True,
                            )
                        )
                ctx.base_url = server.base_url
                self._preflight(ctx, "PUT", RESULT_PATH.format(id=ids[0]), self.typical_body.read_bytes())
                # freshly started processes: warm up (pools, lookup caches) on ids of their own, never reused
                n_warm = len(ids) // 4
                run_wrk(
                    ctx.base_url,
                    "put_ids.lua",
                    dict(
                        ctx.wrk_args(),
                        ids=write_ids(ctx.work / "ids" / f"{prefix}_warm.txt", ids[1 : 1 + n_warm]),
                        body=self.typical_body,
                        path=RESULT_PATH,
                    ),
                    duration_s=max(self.s.warmup_s, 2),
                    connections=self.s.connections,
                    threads=self.s.threads,
                    wrk=self.wrk,
                )
                ids = ids[1 + n_warm :]
                wait_quiet([ats], quiet_s=2, max_s=30)
                pids = [server.pid] + [w.pid for w in workers]
                before, cpu_before, t0 = ats.count(), tree_cpu_seconds(pids), time.monotonic()
                res = self.wrk_run(
                    prefix,
                    ctx.base_url,
                    "put_ids.lua",
                    dict(
                        ctx.wrk_args(),
                        ids=write_ids(ctx.work / "ids" / f"{prefix}.txt", ids),
                        body=self.typical_body,
                        path=RESULT_PATH,
                    ),
                    warmup=False,
                )
                # every accepted result (wrk's completed requests, and those still in flight when it stopped)
                # queues one write-back: wait until they stop arriving (2 s quiet, bounded by the drain)
                deadline, last, last_at = time.monotonic() + s.delivery_drain_s, -1, time.monotonic()
                while time.monotonic() < deadline and time.monotonic() - last_at < 2:
                    got = ats.count() - before
                    if got != last:
                        last, last_at = got, time.monotonic()
                    time.sleep(0.2)
                cpu_s = tree_cpu_seconds(pids) - cpu_before
                delivered = ats.count() - before
                accepted = max(res.requests, delivered) if measured(res) else 0
                span = max(last_at - t0, 1e-9)
                how = (
                    f"{n_api} API process{'es' if n_api > 1 else ''} (`serve --no-worker"
                    + (f" --workers {n_api}`" if n_api > 1 else "`")
                    + f") + {n_workers} `worker` process{'es' if n_workers > 1 else ''}, one PostgreSQL"
                )
                self.report.runs[f"{prefix}_delivery"] = {
                    "accepted": accepted,
                    "delivered": delivered,
                    "span_s": span,
                    "cpu_s": cpu_s,
                }
                self.add_latency_figures(prefix + "_writes", res, "scaleout")
                writes = self.report.get(prefix + "_writes_rps")
                if writes is not None:
                    writes.note = f"{how}; {writes.note}".strip("; ")
                self.report.add(
                    Figure(
                        f"{prefix}_delivered_per_s",
                        delivered / span if accepted else None,
                        "items/s",
                        group="scaleout",
                        note=f"{delivered} write-backs at the fake ATS ({res.requests} PUTs completed in wrk's window) "
                        f"{span:.1f} s after the writes began ({how})",
                    )
                )
                self.report.add(
                    Figure(
                        f"{prefix}_cpu_ms_per_result",
                        cpu_s * 1000 / accepted if accepted else None,
                        "ms",
                        group="scaleout",
                        note=f"{cpu_s:.2f} CPU s of every hub process (writes and their delivery) / {accepted} results "
                        "accepted (write-backs delivered, or PUTs completed if more)",
                    )
                )
            finally:
                for w in workers:
                    if w.poll() is None:
                        w.send_signal(signal.SIGTERM)
                for w in workers:
                    try:
                        w.wait(timeout=20)
                    except subprocess.TimeoutExpired:
                        w.kill()
                        w.wait()
                server.stop()

    # (5) ------------------------------------------------------------------
    def figure_delivery(self, ctx: HubContext, db: str, open_ids: list[str], ats: Receiver, vendor: Receiver) -> None:
        """Results at ``delivery_rate``/s for ``delivery_duration_s`` (open loop);
        latency from the result's 2xx to the fake ATS receiving the write-back,
        and from order creation's 2xx to the fake vendor receiving the webhook.
        Goal p99 <= 1000 ms and no backlog growth (slope of pending items)."""
        s = self.s
        configure_delivery(ctx, ats.url, vendor.url)  # HUB HOOK (may raise NotImplementedError)
        settle_s = wait_quiet([ats, vendor], quiet_s=2, max_s=30)
        self.report.runs[f"delivery_{db}_settle_s"] = settle_s
        n = int(s.delivery_rate * s.delivery_duration_s)
        if len(open_ids) < n:
            raise BenchError(f"delivery needs {n} open orders, got {len(open_ids)}")
        headers = ctx.headers()

        def result_req(i: int) -> tuple[str, str, str, Any]:
            oid = open_ids[i]
            return oid, "PUT", ctx.base_url + RESULT_PATH.format(id=oid), TYPICAL_RESULT

        legs: list[tuple[str, Receiver, Callable[[int], tuple[str, str, str, Any]], Callable | None]] = [
            ("result_to_ats", ats, result_req, None),
            ("order_to_vendor", vendor, lambda i: create_order_request(ctx, i), created_order_id),  # HUB HOOK
        ]
        for leg, receiver, make, key_from in legs:
            name = f"delivery_{db}_{leg}"
            # bounded: sending stops 1 s after the load window, answers and deliveries are awaited until
            # delivery_drain_s after it (a hub slower than the rate would otherwise stretch the leg for minutes)
            run = paced_requests(
                make,
                rate_per_s=s.delivery_rate,
                duration_s=s.delivery_duration_s,
                headers=headers,
                key_from_response=key_from,
                send_until_s=s.delivery_duration_s + s.delivery_send_grace_s,
                finish_by_s=s.delivery_duration_s + s.delivery_drain_s,
            )
            # drain: wait (bounded) until every acknowledged item arrived or progress stops
            deadline = run.t0 + s.delivery_duration_s + s.delivery_drain_s
            last_count, stalled = -1, 0
            while time.monotonic() < deadline and stalled < 10:
                arrivals = receiver.first_arrivals(run.done_at)
                if len(arrivals) >= len(run.done_at):
                    break
                stalled = stalled + 1 if len(arrivals) == last_count else 0
                last_count = len(arrivals)
                time.sleep(0.5)
            arrivals = receiver.first_arrivals(run.done_at)
            # a delivery may land before the client has read the 2xx: that counts as 0 ms;
            # one that never landed counts at its lower bound (its 2xx -> end of the drain wait)
            t_end = time.monotonic()
            raw = [(arrivals[k] - t) * 1000 for k, t in run.done_at.items() if k in arrivals]
            early = sum(1 for x in raw if x < 0)
            lat = [max(0.0, x) for x in raw]
            undelivered = len(run.done_at) - len(lat)
            lat += [(t_end - t) * 1000 for k, t in run.done_at.items() if k not in arrivals]
            # backlog(t) = acknowledged by t - delivered by t, over the load window minus its first 20 %
            times = sorted(arrivals.values())
            t_start = run.acked_timeline[0][0] if run.acked_timeline else 0
            pts = []
            for t, acked in run.acked_timeline:
                if t - t_start < 0.2 * s.delivery_duration_s or t - t_start > s.delivery_duration_s:
                    continue
                delivered = sum(1 for x in times if x <= t)
                pts.append((t, acked - delivered))
            slope = slope_per_s(pts)
            note = (
                f"sent {run.sent - run.unsent}"
                + (
                    f" of {run.sent} (the window closed with {run.unsent} not sent: the hub answered slower "
                    f"than {s.delivery_rate:g}/s)"
                    if run.unsent
                    else ""
                )
                + f", 2xx {run.ok}, failed {run.failed}"
                + (f", unanswered {run.unanswered} after {s.delivery_drain_s:g} s" if run.unanswered else "")
                + f", undelivered {undelivered} (counted at their lower bound: 2xx -> "
                f"{s.delivery_drain_s:g} s after the load window at most), "
                f"late starts {run.late_starts}, delivered before the 2xx was read {early}"
            )
            self.report.runs[name] = {
                "due": run.sent,
                "unsent": run.unsent,
                "sent": run.sent - run.unsent,
                "ok": run.ok,
                "failed": run.failed,
                "unanswered": run.unanswered,
                "leg_s": time.monotonic() - run.t0,
                "delivered": len(lat) - undelivered,
                "undelivered": undelivered,
                "late_starts": run.late_starts,
                "backlog": pts,
                # diagnostics: request round trip, and arrival measured from the send
                "round_trip_p99_ms": percentile([(run.done_at[k] - run.sent_at[k]) * 1000 for k in run.done_at], 99),
                "from_send_p99_ms": percentile([(arrivals[k] - run.sent_at[k]) * 1000 for k in arrivals], 99),
            }
            some = len(lat) > undelivered  # nothing delivered at all: delivery is not wired, no figure
            why = "" if some else "nothing delivered: "
            # the goals hold *at the rate*: a hub that did not accept it (more than 1 % not sent in the
            # window) does not meet them, however its accepted items fared
            short = run.unsent > 0.01 * run.sent
            if short:
                why = (
                    f"rate not sustained ({run.unsent} of {run.sent} not sent in the window): goal not met "
                    f"whatever the latency; "
                ) + why
            self.report.add(
                Figure(
                    f"{name}_p50_ms",
                    percentile(lat, 50) if some else None,
                    "ms",
                    group="delivery",
                    note=why + note if not some else "",
                )
            )
            p99 = self.report.add(
                Figure(
                    f"{name}_p99_ms",
                    percentile(lat, 99) if some else None,
                    "ms",
                    goal="<= 1000",
                    goal_on="value",
                    group="delivery",
                    note=why + note,
                )
            )
            slope_fig = self.report.add(
                Figure(
                    f"{name}_backlog_slope",
                    slope if some else None,
                    "items/s",
                    goal=f"<= {0.01 * s.delivery_rate:g}",
                    goal_on="value",
                    group="delivery",
                    note=why + "least-squares slope of (acknowledged - delivered) over the load window",
                )
            )
            if short:
                for fig in (p99, slope_fig):
                    if fig.produced:
                        fig.met = False

    # (6) ------------------------------------------------------------------
    def figure_memory(self, server: Server, db: str) -> None:
        """Hub RSS (process tree) after listing, writes and delivery; goal <= 300 MB."""
        mem = server.memory()
        self.report.add(
            Figure(
                f"memory_{db}_rss_mb",
                mem.rss_mb,
                "MB",
                goal="<= 300",
                goal_on="value",
                group="memory",
                note=f"{mem.pids} process(es); summed VmHWM {mem.hwm_mb:.0f} MB",
            )
        )

    # (7) ------------------------------------------------------------------
    def figure_attachment(self, ctx: HubContext, db: str, order_ids: list[str], server: Server) -> None:
        """5 MB attachment results: req/s (ratio to the ceiling's attachment PUT) and hub peak RSS."""
        s = self.s
        if len(order_ids) < 2:
            raise BenchError("need at least 2 seeded orders for the attachment run")
        self._preflight(ctx, "PUT", RESULT_PATH.format(id=order_ids[0]), self.attachment_body.read_bytes())
        ids_path = write_ids(ctx.work / "ids" / "attachment.txt", order_ids[1:])
        with server.sampler() as sampler:
            res = self.wrk_run(
                f"attachment_{db}",
                ctx.base_url,
                "put_ids.lua",
                dict(ctx.wrk_args(), ids=ids_path, body=self.attachment_body, path=RESULT_PATH),
                connections=s.attachment_connections,
                duration_s=s.attachment_duration_s,
                warmup=False,
                timeout_s=30,
            )
            mem = server.memory()
        self.report.add(
            Figure(
                f"attachment_{db}_rps",
                res.rps if measured(res) else None,
                "req/s",
                baseline=self.report.value("ceiling_attachment_rps"),
                baseline_name="ceiling_attachment_rps",
                note=res.problems(),
                group="attachment",
            )
        )
        self.report.add(
            Figure(
                f"attachment_{db}_peak_rss_mb",
                max(sampler.peak_mb, mem.hwm_mb) if measured(res) else None,
                "MB",
                baseline=self.report.value("ceiling_attachment_peak_rss_mb"),
                baseline_name="ceiling_attachment_peak_rss_mb",
                group="attachment",
                note=f"max(sampled summed VmRSS {sampler.peak_mb:.0f}, summed VmHWM {mem.hwm_mb:.0f})",
            )
        )

    # (4) ------------------------------------------------------------------
    def figure_depth(self, ctx: HubContext, db: str) -> None:
        """Bulk-seed ``depth_orders`` orders (seeding rate), then p50 latency
        of the first page vs the page reached by cursor after
        ``depth_deep_offset`` rows (wrk -t1 -c1 on each URL); goal deep/first <= 1.5."""
        s = self.s
        t0 = time.monotonic()
        n = seed_orders(self.args, ctx, s.depth_orders, None)  # HUB HOOK
        n = n if isinstance(n, int) else len(n)
        ctx.orders_seeded += n
        seed_s = time.monotonic() - t0
        rate = n / seed_s if seed_s > 0 else None
        self.report.add(
            Figure(
                f"depth_{db}_seed_rate",
                rate,
                "orders/s",
                group="depth",
                note=f"{n:,} orders in {seed_s:.1f}s (`assessment-hub sandbox seed`, process start included)",
            )
        )
        first_url = ctx.base_url + LIST_QUERY
        cursor = deep_cursor(ctx, s.depth_deep_offset, s.depth_walk_page_size)  # HUB HOOK
        deep_url = first_url + "&cursor=" + cursor
        self._preflight(ctx, "GET", deep_url[len(ctx.base_url) :])
        kw = dict(connections=1, threads=1, duration_s=s.depth_probe_s)
        first = self.wrk_run(f"depth_{db}_first", first_url, "get.lua", ctx.wrk_args(), **kw)
        # no second warm-up: the first page's warm-up and run went through the same query path
        deep = self.wrk_run(f"depth_{db}_deep", deep_url, "get.lua", ctx.wrk_args(), warmup=False, **kw)
        self.report.add(
            Figure(
                f"depth_{db}_first_p50_ms",
                first.p50_ms if measured(first) else None,
                "ms",
                group="depth",
                note=first.problems(),
            )
        )
        self.report.add(
            Figure(
                f"depth_{db}_deep_p50_ms",
                deep.p50_ms if measured(deep) else None,
                "ms",
                baseline=first.p50_ms or None,
                baseline_name=f"depth_{db}_first_p50_ms",
                goal="<= 1.5",
                group="depth",
                note=deep.problems(),
            )
        )

    # (8) ------------------------------------------------------------------
    def figure_console(self, ctx: HubContext, db: str) -> None:
        """The operator console's order list (``GET /console/orders``, HTML, every integration, newest
        first, signed in with the admin key) with ``console_orders`` orders in the database: p50 latency of
        the first page vs the page reached by its cursor after ``console_deep_offset`` rows (wrk -t1 -c1 on
        each URL); goal deep/first <= 1.5."""
        s = self.s
        missing = s.console_orders - ctx.orders_seeded
        if missing > 0:
            t0 = time.monotonic()
            n = seed_orders(self.args, ctx, missing, None)  # HUB HOOK
            ctx.orders_seeded += n if isinstance(n, int) else len(n)
            log(f"{db}: seeded {missing:,} more orders for the console in {time.monotonic() - t0:.1f}s")
        cookie = console_cookie(ctx)  # HUB HOOK
        first_url = ctx.base_url + CONSOLE_ORDERS
        offset = min(s.console_deep_offset, ctx.orders_seeded - CONSOLE_PAGE_SIZE)
        cursor = console_cursor(ctx, offset, cookie)  # HUB HOOK
        deep_url = first_url + "?cursor=" + cursor
        for url in (first_url, deep_url):
            status, body = http_request("GET", url, headers={"Cookie": cookie}, timeout_s=60)
            if status != 200 or b'aria-label="Orders"' not in body:
                raise BenchError(f"preflight GET {url} answered {status}: {body[:300]!r}")
        kw = dict(connections=1, threads=1, duration_s=s.depth_probe_s)
        first = self.wrk_run(f"console_{db}_first", first_url, "get.lua", {"cookie": cookie}, **kw)
        deep = self.wrk_run(f"console_{db}_deep", deep_url, "get.lua", {"cookie": cookie}, warmup=False, **kw)
        note = f"{ctx.orders_seeded:,} orders; deep page after {offset:,} rows"
        self.report.add(
            Figure(
                f"console_{db}_first_p50_ms",
                first.p50_ms if measured(first) else None,
                "ms",
                group="console",
                note="; ".join(x for x in (note, first.problems()) if x),
            )
        )
        self.report.add(
            Figure(
                f"console_{db}_deep_p50_ms",
                deep.p50_ms if measured(deep) else None,
                "ms",
                baseline=first.p50_ms or None,
                baseline_name=f"console_{db}_first_p50_ms",
                goal="<= 1.5",
                group="console",
                note=deep.problems(),
            )
        )


def wait_quiet(receivers: list[Receiver], quiet_s: float, max_s: float) -> float:
    """Wait until no receiver got anything for ``quiet_s`` (earlier phases may
    have queued deliveries); bounded by ``max_s``.  Returns the time waited."""
    t0 = time.monotonic()
    last, last_change = -1, t0
    for _ in range(int(max_s / 0.25) + 1):
        now = time.monotonic()
        total = sum(r.count() for r in receivers)
        if total != last:
            last, last_change = total, now
        elif now - last_change >= quiet_s or now - t0 >= max_s:
            break
        time.sleep(0.25)
    return time.monotonic() - t0


# --------------------------------------------------------------------------
# HUB HOOKS: everything the harness needs from the hub, in one place.


@dataclasses.dataclass
class HubContext:
    cli: list[str]
    env: dict[str, str]
    work: Path
    api_key: str
    integration_id: str
    base_url: str = ""
    orders_seeded: int = 0
    """Orders seeded into this database so far (every figure's seeding adds to it)."""

    def headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.api_key}",
            "X-Integration-Id": self.integration_id,
            "Accept": "application/json",
        }

    def wrk_args(self) -> dict[str, str]:
        return {"key": self.api_key, "integration": self.integration_id}


def hub_cli(args: argparse.Namespace) -> list[str] | None:
    """HUB HOOK: the hub's CLI: ``--hub-cli``, else ``python -m assessment_hub.cli`` with
    ``--python`` (the code on that python's path, e.g. a worktree's src on PYTHONPATH)."""
    if args.hub_cli:
        return shlex.split(args.hub_cli)
    probe = subprocess.run(
        [args.python, "-c", "import assessment_hub.cli"], capture_output=True, timeout=60, cwd=REPO_ROOT
    )
    return [args.python, "-m", "assessment_hub.cli"] if probe.returncode == 0 else None


def hub_serve_argv(cli: list[str]) -> list[str]:
    """HUB HOOK: how users start the hub (``{host}``/``{port}`` are filled in); ``--serve-args``
    (e.g. ``--workers 2``) are appended."""
    return cli + ["serve", "--host", "{host}", "--port", "{port}"] + shlex.split(SERVE_ARGS)


SERVE_ARGS = ""  # set from --serve-args in main()
BENCH_PACKAGE = "1001"  # the package the vendor publishes; every order is for it


def prepare_database(db: str, work: Path) -> str:
    """A fresh, empty database; returns its ASSESSMENT_HUB_DATABASE_URL."""
    work.mkdir(parents=True, exist_ok=True)
    if db == "sqlite":
        path = work / "bench.db"
        for p in work.glob("bench.db*"):
            p.unlink()
        return f"sqlite:///{path}"
    if db == "postgres":
        if not shutil.which("psql"):
            raise BenchError("psql not found: cannot create the `bench` PostgreSQL database")
        # One database per run (bench_<pid>): two runs at once (CI's quick run beside a developer's) must not
        # drop each other's database.
        name = f"bench_{os.getpid()}"
        base = ["psql", "-h", LOOPBACK, "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q"]
        run_cli(base + ["-c", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], timeout_s=60)
        run_cli(base + ["-c", f"CREATE DATABASE {name}"], timeout_s=60)
        atexit.register(
            lambda: subprocess.run(
                base + ["-c", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], capture_output=True, timeout=60
            )
        )
        return f"postgresql+psycopg://postgres@{LOOPBACK}:5432/{name}"
    raise BenchError(f"unknown database {db!r}")


def hub_setup(cli: list[str], env: dict[str, str], work: Path) -> HubContext:
    """Migrate, create an API key, a sandbox integration whose ATS mirrors each write-back to the
    fake ATS (``writeback_url``), and a webhook endpoint at the fake vendor, through the hub's CLI.

    The admin API key (``ASSESSMENT_HUB_ADMIN_API_KEY``, for ``POST /admin/sandbox/{id}/orders``)
    is set to the same string as the vendor key, so the paced client sends one set of headers.
    ``env`` is the dict ``serve`` is started with: the admin key set here reaches it.
    """
    run_cli(cli + ["migrate"], env=env)
    key = last_line(run_cli(cli + ["api-keys", "create", "--name", "bench"], env=env))
    integ_args = ["integrations", "create", "--tool", "sandbox", "--organization", "bench"]
    if env.get("BENCH_ATS_URL"):
        integ_args += ["--setting", f"writeback_url={env['BENCH_ATS_URL']}/ats/writeback"]
    integ = last_line(run_cli(cli + integ_args, env=env))
    if env.get("BENCH_VENDOR_URL"):
        run_cli(cli + ["webhooks", "create", "--url", f"{env['BENCH_VENDOR_URL']}/vendor/webhook"], env=env)
    env["ASSESSMENT_HUB_ADMIN_API_KEY"] = key
    return HubContext(cli=cli, env=env, work=work, api_key=key, integration_id=integ)


def seed_orders(args: argparse.Namespace, ctx: HubContext, count: int, ids_path: Path | None) -> list[str] | int:
    """HUB HOOK: bulk-create ``count`` OPEN orders for ``ctx.integration_id`` with the hub's
    ``assessment-hub sandbox seed`` (Core ``executemany``; seeded orders send no webhooks).

    With ``ids_path``: the ids of every OPEN order without a result, in listing order, are written
    there (one per line, read back from the database) and returned -- call it on a fresh database.
    Without: returns ``count`` (the depth figure needs only the rate).
    """
    # `sandbox seed` refuses an unpublished package; the hub is not serving yet, so publish it directly
    # (the same package configure_delivery PUTs later).
    run_cli(
        [args.python, "-m", "bench.hub_db", "publish", ctx.integration_id, BENCH_PACKAGE],
        env=ctx.env,
        timeout_s=args.seed_timeout,
    )
    run_cli(
        ctx.cli
        + ["sandbox", "seed", "--integration", ctx.integration_id, "--package", BENCH_PACKAGE, "--count", str(count)],
        env=ctx.env,
        timeout_s=args.seed_timeout,
    )
    if ids_path is None:
        return count
    ids_path.parent.mkdir(parents=True, exist_ok=True)
    run_cli(
        [args.python, "-m", "bench.hub_db", "ids", ctx.integration_id, str(ids_path)],
        env=ctx.env,
        timeout_s=args.seed_timeout,
    )
    ids = [ln.strip() for ln in ids_path.read_text().splitlines() if ln.strip()]
    if len(ids) < count:
        raise BenchError(f"seeding produced {len(ids)} open order ids, {count} expected (in {ids_path})")
    return ids


def delivery_env(ats_url: str, vendor_url: str) -> dict[str, str]:
    """HUB HOOK: where :func:`hub_setup` points the sandbox ATS's write-back mirror and the vendor
    webhook endpoint (the hub itself ignores these variables)."""
    return {"BENCH_ATS_URL": ats_url, "BENCH_VENDOR_URL": vendor_url}


def configure_delivery(ctx: HubContext, ats_url: str, vendor_url: str) -> None:
    """HUB HOOK: the targets were set in :func:`hub_setup`; here the vendor publishes the package
    the sandbox orders are for (``POST /admin/sandbox/{id}/orders`` requires it)."""
    body = json.dumps(
        {"packages": [{"id": BENCH_PACKAGE, "name": "Bench test", "description": "bench", "type": "SKILLS_TEST"}]}
    ).encode()
    status, resp = http_request(
        "PUT",
        ctx.base_url + "/v1/assessment/packages",
        body,
        headers=dict(ctx.headers(), **{"Content-Type": "application/json"}),
        timeout_s=30,
    )
    if status != 200:
        raise BenchError(f"publishing package {BENCH_PACKAGE} answered {status}: {resp[:300]!r}")


def create_order_request(ctx: HubContext, i: int) -> tuple[str, str, str, Any]:
    """HUB HOOK: the sandbox ATS places an order (as a recruiter would): ``POST
    /admin/sandbox/{integration}/orders``; the hub queues ``assessment:order-received`` to the vendor."""
    return (
        f"new{i}",
        "POST",
        f"{ctx.base_url}/admin/sandbox/{ctx.integration_id}/orders",
        {"package_id": BENCH_PACKAGE, "email": f"bench{i}@example.com"},
    )


def created_order_id(response: Any) -> str:
    """HUB HOOK: the new order's id from the creation response (``bench.harness.Answer``: ``status_code``, ``json()``)."""
    return response.json()["data"]["id"]


def deep_cursor(ctx: HubContext, offset: int, page_size: int) -> str:
    """HUB HOOK: the cursor ``data.next`` would hold after ``offset`` rows of LIST_QUERY.

    Minted from the keyset instead of walking ``offset / page_size`` pages: ``bench.hub_db cursor``
    reads the ``offset``-th OPEN order (ordered by ``created_at, id``) and encodes it with
    ``assessment_hub.kit.cursors.encode_cursor`` -- exactly what ``service.list_orders`` puts in
    ``data.next`` for a page ending on that row.  The quick run also walks the pages and checks
    the two cursors are equal.
    """
    offset = max(page_size, offset // page_size * page_size)  # a page boundary, as a client walking pages reaches
    cursor = last_line(
        run_cli(
            [
                sys.executable if not ARGS else ARGS.python,
                "-m",
                "bench.hub_db",
                "cursor",
                ctx.integration_id,
                str(offset),
            ],
            env=ctx.env,
            timeout_s=300,
        )
    )
    if offset // page_size <= 50:  # cheap enough to prove it is the API's own cursor
        walked = walk_cursor(ctx, offset, page_size)
        if walked != cursor:
            raise BenchError(f"minted cursor {cursor} != the API's cursor {walked} after {offset} rows")
    return cursor


def walk_cursor(ctx: HubContext, offset: int, page_size: int) -> str:
    """The API's own cursor after ``offset`` rows, following ``data.next`` page by page."""
    path = LIST_QUERY.replace("page_size=100", f"page_size={page_size}")
    cursor = None
    for _ in range(offset // page_size):
        url = ctx.base_url + path + (f"&cursor={cursor}" if cursor else "")
        status, body = http_request("GET", url, headers=ctx.headers(), timeout_s=30)
        if status != 200:
            raise BenchError(f"walking pages: GET {url} answered {status}: {body[:200]!r}")
        cursor = (json.loads(body).get("data") or {}).get("next")
        if not cursor:
            raise BenchError(f"ran out of pages before offset {offset}")
    if cursor is None:
        raise BenchError("deep offset must be at least one page")
    return cursor


def console_cookie(ctx: HubContext) -> str:
    """HUB HOOK: ``Cookie`` header value of a console session: ``POST /console/login`` with the admin key
    (:func:`hub_setup` set ``ASSESSMENT_HUB_ADMIN_API_KEY`` to the vendor key's string)."""
    import http.client
    from urllib.parse import urlencode, urlsplit

    parts = urlsplit(ctx.base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        body = urlencode({"admin_key": ctx.env["ASSESSMENT_HUB_ADMIN_API_KEY"], "next": "/console"})
        conn.request("POST", "/console/login", body, {"Content-Type": "application/x-www-form-urlencoded"})
        resp = conn.getresponse()
        resp.read()
        cookie = resp.getheader("Set-Cookie") or ""
    finally:
        conn.close()
    if resp.status != 303 or not cookie:
        raise BenchError(f"console sign-in answered {resp.status} without a session cookie")
    return cookie.split(";", 1)[0]


def console_cursor(ctx: HubContext, offset: int, cookie: str) -> str:
    """HUB HOOK: the cursor of the console's "Older orders" link after ``offset`` rows (a page boundary).

    Minted by ``bench.hub_db console-cursor`` from the ``offset``-th order newest first (``created_at, id``
    descending, every integration), as ``assessment.browse.browse_orders`` encodes a page's last row; when
    that is a few pages deep, the pages are also walked to check it is the console's own cursor."""
    offset = max(CONSOLE_PAGE_SIZE, offset // CONSOLE_PAGE_SIZE * CONSOLE_PAGE_SIZE)
    python = sys.executable if not ARGS else ARGS.python
    cursor = last_line(
        run_cli([python, "-m", "bench.hub_db", "console-cursor", str(offset)], env=ctx.env, timeout_s=600)
    )
    if offset // CONSOLE_PAGE_SIZE <= 50:
        import re
        from html import unescape

        walked = None
        for _ in range(offset // CONSOLE_PAGE_SIZE):
            url = ctx.base_url + CONSOLE_ORDERS + (f"?cursor={walked}" if walked else "")
            status, body = http_request("GET", url, headers={"Cookie": cookie}, timeout_s=30)
            found = re.search(r'rel="next" href="([^"]+)"', body.decode())
            if status != 200 or not found:
                raise BenchError(f"walking console pages: GET {url} answered {status} without a next link")
            walked = unescape(found.group(1)).rsplit("cursor=", 1)[1]
        if walked != cursor:
            raise BenchError(f"minted console cursor {cursor} != the page's {walked} after {offset} rows")
    return cursor


ARGS: argparse.Namespace | None = None  # set in main()


# --------------------------------------------------------------------------
# main


HOOK_NAMES = [
    "hub_cli",
    "hub_serve_argv",
    "prepare_database",
    "hub_setup",
    "seed_orders",
    "delivery_env",
    "configure_delivery",
    "create_order_request",
    "created_order_id",
    "deep_cursor",
    "console_cookie",
    "console_cursor",
    "attachment_result",
    "ceiling_argv",
]


def load_hooks(module_name: str) -> list[str]:
    """Replace the HUB HOOK functions above by those ``module_name`` defines
    (the hub can ship such a module instead of editing this file)."""
    import importlib

    mod = importlib.import_module(module_name)
    replaced = [n for n in HOOK_NAMES if callable(getattr(mod, n, None))]
    for n in replaced:
        globals()[n] = getattr(mod, n)
    return replaced


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n", 2)[2],
    )
    p.add_argument("--quick", action="store_true", help="short durations and tiny seeds (CI)")
    p.add_argument("--only", default=",".join(GROUPS), help=f"comma list of groups (default all): {','.join(GROUPS)}")
    p.add_argument("--databases", default=",".join(DATABASES), help="comma list: sqlite,postgres")
    p.add_argument("--out", type=Path, default=BENCH_DIR, help="where RESULTS.md and results.json go (default bench/)")
    p.add_argument("--work", type=Path, default=None, help="scratch dir: logs, wrk output, ids (default <out>/out)")
    p.add_argument("--python", default=sys.executable, help="python that has the hub's stack (default: this one)")
    p.add_argument("--hub-cli", default="", help="hub CLI command (default: assessment-hub beside --python)")
    p.add_argument("--hub-ready-path", default="/health", help="GET path polled until the hub answers < 500")
    p.add_argument(
        "--ceiling-uvicorn-args",
        default=None,
        help="uvicorn options for the ceiling (default `--log-level warning`, as `serve`); "
        "`--workers N` is added from --serve-args unless given here",
    )
    p.add_argument("--serve-args", default="", help="extra `assessment-hub serve` options, e.g. '--workers 2'")
    p.add_argument("--hooks", default="", help="module whose functions replace the HUB HOOKs of the same name")
    p.add_argument(
        "--strict-status",
        action="store_true",
        help="wrk counts every non-2xx exactly (parses responses in Lua; slower)",
    )
    p.add_argument("--seed-timeout", type=float, default=600)
    p.add_argument(
        "--console-orders",
        type=int,
        default=None,
        help="orders in the database for the console figure (default 1,000,000; quick 2,000); "
        "its deep page is 99%% of the way down",
    )
    p.add_argument("--duration", type=int, default=None, help="override seconds per wrk measurement")
    p.add_argument("--connections", type=int, default=None)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--no-install", action="store_true", help="do not apt-get install wrk when missing")
    p.add_argument("--allow-missing", action="store_true", help="exit 0 even if some figures were not produced")
    args = p.parse_args(argv)
    args.groups = [g.strip() for g in args.only.split(",") if g.strip()]
    args.dbs = [d.strip() for d in args.databases.split(",") if d.strip()]
    bad = [g for g in args.groups if g not in GROUPS] + [d for d in args.dbs if d not in DATABASES]
    if bad:
        p.error(f"unknown group/database: {', '.join(bad)}")
    return args


def main(argv: list[str] | None = None) -> int:
    global ARGS, SERVE_ARGS
    args = parse_args(argv)
    ARGS, SERVE_ARGS = args, args.serve_args
    s = Settings.quick() if args.quick else Settings.full()
    if args.hooks:
        log(f"hooks from {args.hooks}: {', '.join(load_hooks(args.hooks)) or 'none'}")
    for attr, val in (("duration_s", args.duration), ("connections", args.connections), ("threads", args.threads)):
        if val:
            setattr(s, attr, val)
    if args.console_orders:
        s.console_orders = args.console_orders
        s.console_deep_offset = args.console_orders * 99 // 100
    out: Path = args.out
    work: Path = args.work or out / "out"
    work.mkdir(parents=True, exist_ok=True)
    report = Report(s.mode, {"groups": "+".join(args.groups), "databases": "+".join(args.dbs), **s.public()})
    hub_groups = [g for g in args.groups if g != "ceiling"]
    expected = expected_figures(args.groups, args.dbs)
    t0 = time.monotonic()
    busy = float(loadavg().split()[0]) if loadavg() != "unknown" else 0.0
    if busy > 0.5 * (os.cpu_count() or 1):
        log(f"warning: load average {loadavg()} on {os.cpu_count()} cores: other work will skew the figures")
    try:
        bench = Bench(args, s, report, work)
        bench.wrk = ensure_wrk(install=not args.no_install)
        report.meta["wrk"] = wrk_version(bench.wrk)
        if serve_workers(" ".join(ceiling_uvicorn_args(args.serve_args, args.ceiling_uvicorn_args))) != serve_workers(
            args.serve_args
        ):
            log(
                "warning: --ceiling-uvicorn-args sets another --workers than --serve-args: ratios compare unlike process models"
            )
        report.meta["process_model"] = process_model(
            args.serve_args, ceiling_uvicorn_args(args.serve_args, args.ceiling_uvicorn_args)
        )
        # the ceiling is the baseline of every ratio: measure it whenever hub figures are asked for too
        if "ceiling" in args.groups or hub_groups:
            try:
                bench.measure_ceiling()
            except BenchError as exc:
                log(f"ceiling: {exc}")
                for g, name, unit in expected_figures(["ceiling"], []):
                    if report.get(name) is None:
                        report.add(Figure.missing(name, unit, f"ceiling failed: {str(exc).splitlines()[0]}", group=g))
        if hub_groups:
            failures = bench.run_hub(hub_groups, args.dbs)
            for g, name, unit in expected:
                if report.get(name) is None:
                    db = next((d for d in args.dbs if f"_{d}_" in name), "*")
                    reason = failures.get(db) or failures.get("*") or "not measured"
                    report.add(Figure.missing(name, unit, reason, group=g))
    except WrkUnavailable as exc:
        for g, name, unit in expected:
            report.add(Figure.missing(name, unit, f"wrk unavailable: {exc}", group=g))
    # keep the expected order in the report
    order = {name: i for i, (_, name, _) in enumerate(expected)}
    report.figures.sort(key=lambda f: order.get(f.name, len(order)))
    report.meta["loadavg_at_end"] = loadavg()
    report.write_markdown(out / "RESULTS.md")
    notes = BENCH_DIR / "NOTES.md"  # hand-written: profiles, before/after of each change, what misses its goal
    if notes.exists() and not args.quick:
        with (out / "RESULTS.md").open("a") as f:
            f.write("\n" + notes.read_text())
    report.write_json(out / "results.json")
    missing = report.missing()
    log(
        f"done in {time.monotonic() - t0:.0f}s: {len(report.figures) - len(missing)} figures produced, "
        f"{len(missing)} not produced; wrote {out / 'RESULTS.md'} and {out / 'results.json'}"
    )
    for f in missing:
        log(f"  not produced: {f.name}: {f.note}")
    if missing and not args.allow_missing:
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
