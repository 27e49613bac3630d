"""The ``assessment-hub`` command line. Command and option names are a contract other tooling relies on.

Commands that create something print the new value alone on the last line of stdout.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from assessment_hub.config import Settings
from assessment_hub.db.describe import connection_error, display_url
from assessment_hub.db.engine import CLI as CLI_ROLE
from assessment_hub.db.engine import WORKER as WORKER_ROLE
from assessment_hub.db.engine import build_engine
from assessment_hub.db.session import unit_of_work
from assessment_hub.errors import HubError
from assessment_hub.integrations.tool_settings import settings_help
from assessment_hub.kit.states import OrderStatus

if TYPE_CHECKING:
    from assessment_hub.db.migrate import Migrated
    from assessment_hub.ops.metrics_server import MetricsServer

app = typer.Typer(
    help="assessment-hub: connect assessment vendors to applicant tracking systems.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
api_keys = typer.Typer(help="Vendor API keys.", no_args_is_help=True)
integrations = typer.Typer(help="Integrations (one customer's ATS each).", no_args_is_help=True)
sandbox = typer.Typer(help="The sandbox ATS.", no_args_is_help=True)
webhooks = typer.Typer(help="Vendor webhook endpoints.", no_args_is_help=True)
deliveries = typer.Typer(help="Outbound deliveries (webhooks and write-backs).", no_args_is_help=True)
secret_key = typer.Typer(help="The secret key encrypting credentials at rest.", no_args_is_help=True)
app.add_typer(secret_key, name="secret-key")
data = typer.Typer(help="Candidates' personal data: erasure.", no_args_is_help=True)
app.add_typer(data, name="data")
app.add_typer(webhooks, name="webhooks")
app.add_typer(deliveries, name="deliveries")
app.add_typer(api_keys, name="api-keys")
app.add_typer(integrations, name="integrations")
app.add_typer(sandbox, name="sandbox")


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        for error in exc.errors():
            message = error["msg"].removeprefix("Value error, ")
            field = ".".join(str(p) for p in error["loc"])
            # A model-level check has no field (empty loc); its message names the variables itself.
            typer.echo(f"error: ASSESSMENT_HUB_{field.upper()}: {message}" if field else f"error: {message}", err=True)
        raise typer.Exit(2) from None


def _note(line: str) -> None:
    """A line about the database on stderr, for commands whose stdout is their own output (a new value on the
    last line, ``--json``): ``assessment-hub: applying 0007 (...) ...``."""
    typer.echo(f"assessment-hub: {line}", err=True)


def _log_line(line: str) -> None:
    """A line about the database as an INFO log record (``serve`` and ``worker``, which log)."""
    import logging

    logging.getLogger("assessment_hub.migrate").info(line)


def _migration_summary(settings: Settings, migrated: Migrated, seconds: float) -> str:
    """``database at URL migrated from 0006 to 0007 (1 migration, 14.2 s)``, ``... migrated down from 0007 to
    0006 ...``, ``... migrated from an empty database to 0007 ...``, or ``... already at 0007, nothing to do``."""
    where = f"database at {display_url(settings.database_url)}"
    if not migrated.steps:
        return f"{where} already at {migrated.after}, nothing to do"
    count = len(migrated.steps)
    return (
        f"{where} migrated{' down' if migrated.downgraded else ''} from {migrated.before or 'an empty database'} "
        f"to {migrated.after} ({count} migration{'s' if count > 1 else ''}, {seconds:.1f} s)"
    )


def _open_database(
    settings: Settings,
    *,
    migrate: bool = True,
    role: str = CLI_ROLE,
    to: str = "head",
    say: Callable[[str], None] = _note,
    summarize: bool = False,
) -> Engine:
    """An engine on a database that answers (and is migrated, with ``migrate``); a database that cannot be
    opened or reached ends the command with exit code 2 and a one-line message, never a traceback, and so
    does a database at a revision this version does not know. ``role``: the process's role in PostgreSQL's
    ``application_name`` (``db.engine``).

    Migrating brings the database to ``to`` (``head``: up only; a revision: up or down to it), telling ``say``
    each migration as it starts (``applying 0007 (...) ...``) and, when any ran (or always, with
    ``summarize``), where the database went (``_migration_summary``)."""
    import time

    from sqlalchemy.exc import SQLAlchemyError

    from assessment_hub.db.migrate import Step, UnknownRevision, migrate_to  # alembic: only commands that migrate

    engine = None
    running: list[Step] = []

    def started_step(step: Step) -> None:
        running[:] = [step]
        say(step.line())

    try:
        engine = build_engine(settings, role=role)
        with engine.connect():
            pass
        if migrate:
            started = time.monotonic()
            migrated = migrate_to(engine, to, on_step=started_step, downgrade=to != "head")
            if migrated.steps or summarize:
                say(_migration_summary(settings, migrated, time.monotonic() - started))
    except UnknownRevision as exc:
        if engine is not None:
            engine.dispose()
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except (SQLAlchemyError, OSError) as exc:
        if engine is not None:
            engine.dispose()
        where = display_url(settings.database_url)
        if running:  # the database answered; a migration did not go through
            step = running[0]
            typer.echo(
                f"error: migration {step.revision} ({'upgrade' if step.upgrade else 'downgrade'}) failed on the "
                f"database at {where}: {connection_error(exc)}",
                err=True,
            )
        else:
            typer.echo(
                f"error: cannot open the database at {where}: {connection_error(exc)} (check ASSESSMENT_HUB_DATABASE_URL)",
                err=True,
            )
        raise typer.Exit(2) from None
    return engine


def _session_factory(
    settings: Settings,
    *,
    migrate: bool = True,
    secrets: bool = False,
    role: str = CLI_ROLE,
    say: Callable[[str], None] = _note,
) -> sessionmaker:
    """Sessions on the (migrated) database; with ``secrets``, the secret key is checked first: it must exist
    (created beside a SQLite database at the first start) and decrypt what the database holds, or the
    command ends with exit code 2 and a message naming the fix. ``say``: where the migrations that run are
    told (``_open_database``; stderr by default)."""
    sessions = sessionmaker(_open_database(settings, migrate=migrate, role=role, say=say), expire_on_commit=False)
    if secrets:
        from assessment_hub.kit.secret_keys import SecretKeyError
        from assessment_hub.secret_key import require_readable

        try:
            with sessions() as session:
                require_readable(session, settings.cipher)
        except SecretKeyError as exc:
            sessions.kw["bind"].dispose()
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
    return sessions


def _say(line: str) -> None:
    """One line on stdout, flushed at once (a supervisor or log collector sees it when it happens)."""
    typer.echo(line)
    sys.stdout.flush()


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _required(option: str, value: str) -> str:
    """``value`` stripped; a blank one ends the command naming ``option``."""
    value = value.strip()
    if not value:
        _fail(f"{option} must not be empty")
    return value


def _check_email(value: str) -> str:
    """A plausible email address (one @, a dot in the domain, no spaces), or the command ends."""
    value = _required("--email", value)
    local, at, domain = value.partition("@")
    if (
        not at
        or not local
        or "@" in domain
        or any(c.isspace() for c in value)
        or "." not in domain.strip(".")
        or domain.startswith(".")
        or domain.endswith(".")
    ):
        _fail(f"--email must be an email address like ada@example.com (got {value!r})")
    return value


def _check_port_free(host: str, port: int) -> None:
    """End the command (exit 1) if ``host:port`` cannot be listened on, e.g. another process holds it."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc} (check --host)")
    family, socktype, proto, _, address = infos[0]
    try:
        with socket.socket(family, socktype, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
            probe.bind(address)
    except OSError as exc:
        import errno

        why = (
            "the port is already in use (another server is running there?)"
            if exc.errno == errno.EADDRINUSE
            else exc.strerror or str(exc)
        )
        _fail(
            f"cannot listen on {host}:{port}: {why}; choose another --port (or ASSESSMENT_HUB_PORT; make run PORT=...)"
        )


@app.command()
def migrate(
    to: Annotated[
        str,
        typer.Option(
            "--to",
            metavar="REVISION",
            help="Migrate up or down to this revision (e.g. 0006, to downgrade before installing an older "
            'version; docs/deployment.md, "Downgrading"). Default: this version\'s newest.',
        ),
    ] = "head",
) -> None:
    """Apply database migrations (every command also does on start, `serve` and `worker` included): one line
    as each migration starts, then where the database went (`migrated from 0006 to 0007`) or `already at
    0007, nothing to do`."""
    from assessment_hub.db.migrate import head

    settings = _settings()
    _open_database(settings, to=to.strip(), say=_say, summarize=True).dispose()
    newest = head()
    if to.strip() not in ("head", newest):
        _say(
            f"the database is now behind this version (its newest migration is {newest}): start the version "
            f"whose newest migration is {to.strip()}; this version's serve, worker and other commands would "
            f"migrate it to {newest} again"
        )


def _one_process(settings: Settings, *, workers: int, no_worker: bool, worker_in_process: bool) -> bool:
    """Whether ``serve`` (``--workers 1``) runs as one process: on SQLite, the delivery worker a thread of it;
    on PostgreSQL only when asked (``--worker-in-process``), or with ``--no-worker`` (no worker at all).
    Otherwise the worker runs in a process of its own beside the API process(es) (``supervise``).

    Measured (bench/run.py, result writes, 64 connections, 2 cores): on PostgreSQL the worker inside the
    API process held writes to 169 req/s (5.6 ms of hub CPU per result); the API alone plus a worker
    process wrote 260 req/s while delivering 256 write-backs/s. On SQLite the worker inside costs much less
    (511 req/s, against 618 for the API alone), and a worker process of its own fell behind in an earlier
    run (it is not woken by the API's commits: it polls every ``WORKER_POLL_S``), so SQLite keeps one process."""
    return workers == 1 and (no_worker or worker_in_process or settings.is_sqlite)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.", envvar="ASSESSMENT_HUB_HOST")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(help="TCP port (1-65535).", min=1, max=65535, envvar="ASSESSMENT_HUB_PORT")
    ] = 8000,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="Serve the API only; run `worker` processes apart.")
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help="API processes; one delivery `worker` process runs beside them (with 1 on SQLite: API and "
            "delivery worker in this one process).",
        ),
    ] = 1,
    worker_in_process: Annotated[
        bool,
        typer.Option(
            "--worker-in-process",
            help="PostgreSQL, --workers 1: run the delivery worker inside the API process, as on SQLite (one "
            "process, less memory, fewer writes/s). On SQLite `serve` (--workers 1) always runs it there, so the "
            "option is accepted and changes nothing.",
        ),
    ] = False,
) -> None:
    """Migrate, then serve the API (http://HOST:PORT/v1) and one delivery worker: in a process of its own
    on PostgreSQL or with --workers N > 1; inside the one API process on SQLite with --workers 1."""
    import os

    from assessment_hub.bootstrap import banner, bootstrap_if_empty, console_line, how_to_run
    from assessment_hub.kit.logging import configure_logging
    from assessment_hub.supervise import limit_malloc_arenas

    if worker_in_process and (no_worker or workers > 1):
        raise typer.BadParameter(
            "only with --workers 1 and a worker (not with --no-worker)", param_hint="--worker-in-process"
        )
    limit_malloc_arenas()  # before any thread starts; inherited by the processes started from here
    settings = _settings()
    if settings.public_base_url is None:
        settings = settings.model_copy(update={"public_base_url": f"http://{host}:{port}"})
    created_key = _key_file_missing(settings)
    configure_logging(settings.log_level, settings.log_format)  # the migrations below are logged
    # migrations run here, once, before any API process starts; and the secret key is checked
    sessions = _session_factory(settings, secrets=True, say=_log_line)
    if created_key is not None:
        typer.echo(
            f"assessment-hub: created the secret key file {created_key} (owner-only): it encrypts the stored "
            "credentials; back it up with the database"
        )
    _check_port_free(host, port)
    with unit_of_work(sessions) as session:
        created = (
            bootstrap_if_empty(session, admin_key_configured=settings.admin_api_key is not None)
            if settings.environment == "development"
            else None
        )
    sessions.kw["bind"].dispose()
    if created:
        import importlib.util

        cli, python = how_to_run()
        kombo_installed = importlib.util.find_spec("kombo") is not None
        typer.echo(banner(created, f"http://{host}:{port}", cli=cli, python=python, kombo_installed=kombo_installed))
    if _one_process(settings, workers=workers, no_worker=no_worker, worker_in_process=worker_in_process):
        import uvicorn

        from assessment_hub.app import create_app
        from assessment_hub.kit.header_timeout import protocol
        from assessment_hub.supervise import startup_failure_exits_2, stop_cleanly_on_sigterm

        worker_note = "no worker" if no_worker else "with a delivery worker in this process"
        typer.echo(
            f"assessment-hub serving http://{host}:{port}/v1 (database: {display_url(settings.database_url)}; {worker_note})"
        )
        typer.echo(console_line(settings.public_base_url or f"http://{host}:{port}"))
        sys.stdout.flush()
        stop_cleanly_on_sigterm()  # exit status 0 after a SIGTERM, as the supervised form (supervise.run)
        try:
            with startup_failure_exits_2():  # an API that could not start: its one line, then status 2
                uvicorn.run(
                    create_app(settings, worker=not no_worker, announce=_say),
                    host=host,
                    port=port,
                    log_level="warning",
                    http=protocol(settings.header_timeout_s),
                    log_config=None,  # uvicorn's own records go through the hub's log set-up (kit/logging.py)
                    access_log=False,  # the hub writes its own access line (ops/access.py)
                )
        except KeyboardInterrupt:  # SIGTERM or SIGINT before uvicorn took the signals over
            pass
        return

    # N API processes (uvicorn's supervisor spawns them; with N = 1 uvicorn serves in its own process; each
    # builds its app from the environment, so what this process settled is passed on there) and the delivery
    # worker exactly once, as a child. This process holds the whole application by now (~100 MB resident):
    # it becomes `assessment_hub.supervise` (same pid, ~20 MB until it imports the app for N = 1) that does this.
    os.environ["ASSESSMENT_HUB_PUBLIC_BASE_URL"] = settings.public_base_url or f"http://{host}:{port}"
    console = console_line(os.environ["ASSESSMENT_HUB_PUBLIC_BASE_URL"])  # printed after the serving line
    args = [
        host,
        str(port),
        str(workers),
        "0" if no_worker else "1",
        str(settings.delivery_timeout_s + 5),
        display_url(settings.database_url),
        console,
    ]
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "posix":
        os.execv(sys.executable, [sys.executable, "-m", "assessment_hub.supervise", *args])
    from assessment_hub.supervise import run

    run(
        host, port, workers, not no_worker, settings.delivery_timeout_s + 5, display_url(settings.database_url), console
    )


@app.command()
def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(
            help="Deliveries sent at once, 1-64 (default: ASSESSMENT_HUB_WORKER_CONCURRENCY, 8).", min=1, max=64
        ),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            help="Serve this process's Prometheus counters at http://METRICS_HOST:PORT/metrics, 1-65535 "
            "(default: ASSESSMENT_HUB_WORKER_METRICS_PORT; unset: not served).",
            min=1,
            max=65535,
        ),
    ] = None,
    metrics_host: Annotated[
        str | None,
        typer.Option(
            help="Interface of --metrics-port (default: ASSESSMENT_HUB_WORKER_METRICS_HOST, 127.0.0.1; "
            "0.0.0.0: every interface)."
        ),
    ] = None,
) -> None:
    """Run a delivery worker alone (scale out on PostgreSQL: any number of these beside `serve --no-worker`).

    With --metrics-port it serves its own counters (delivery attempts) for Prometheus; the gauges read from
    the database stay on the API's /metrics (docs/operations.md, "Metrics")."""
    import signal
    import threading

    from assessment_hub.supervise import limit_malloc_arenas

    limit_malloc_arenas()  # before the worker's sender threads start
    from assessment_hub.delivery.worker import STOPPED_LINE, DeliveryWorker, started_line
    from assessment_hub.kit.logging import configure_logging
    from assessment_hub.privacy.retention import retention_chores

    settings = _settings()
    configure_logging(settings.log_level, settings.log_format)
    if concurrency is not None:
        settings = settings.model_copy(update={"worker_concurrency": concurrency})
    if metrics_host is not None:
        settings = settings.model_copy(update={"worker_metrics_host": _required("--metrics-host", metrics_host)})
    port = metrics_port if metrics_port is not None else settings.worker_metrics_port
    # listening first: a port in use ends the command before it touches the database
    metrics = _serve_metrics(settings.worker_metrics_host, port) if port is not None else None
    sessions = _session_factory(settings, secrets=True, role=WORKER_ROLE, say=_log_line)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    delivery = DeliveryWorker(settings, sessions, chores=retention_chores(settings, sessions))
    _say(started_line(delivery, metrics.url if metrics is not None else None))
    try:
        delivery.run(stop)
    finally:
        if metrics is not None:
            metrics.close()
    _say(STOPPED_LINE)


def _serve_metrics(host: str, port: int) -> MetricsServer:
    """``ops.metrics_server.serve_process_metrics``; an address that cannot be listened on ends the command
    with exit code 2 and its one line."""
    from assessment_hub.ops.metrics_server import MetricsServerRefused, serve_process_metrics

    try:
        return serve_process_metrics(host, port)
    except MetricsServerRefused as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


@app.command()
def demo(
    break_receiver_secret: Annotated[
        bool,
        typer.Option(
            "--break-receiver-secret",
            hidden=True,
            help="Give the webhook receiver a wrong secret (shows, and tests, how a failed step is reported).",
        ),
    ] = False,
    tool: Annotated[
        str,
        typer.Option(help="The ATS: sandbox (in the hub), or an ATS whose simulator plays it (see `simulate --help`)."),
    ] = "sandbox",
) -> None:
    """Run the whole round trip on a temporary database: order, signed webhook, result with the kombo SDK,
    write-back, ATS outage, retries and recovery. Prints a timeline; exits non-zero naming a failed step."""
    from assessment_hub.demo import run_demo

    def echo(line: str) -> None:
        typer.echo(line)
        sys.stdout.flush()

    if tool != "sandbox":
        _simulator_or_fail(tool)
    failed = run_demo(echo, break_receiver_secret=break_receiver_secret, tool=tool)
    if failed is not None:
        typer.echo(f"demo failed at step: {failed}", err=True)
        raise typer.Exit(1)


def _simulator_or_fail(tool: str) -> Any:
    from assessment_hub.connectors.registry import CONNECTORS
    from assessment_hub.simulators.base import simulator_class

    try:
        return simulator_class(tool)
    except KeyError:
        known = sorted(t for t in CONNECTORS if t != "sandbox" and _has_simulator(t))
        _fail(f"no simulator for {tool!r}; simulated ATSs: {', '.join(known)}")


def _has_simulator(tool: str) -> bool:
    from assessment_hub.simulators.base import simulator_class

    try:
        simulator_class(tool)
    except KeyError:
        return False
    return True


@app.command()
def simulate(
    tool: Annotated[str, typer.Argument(help="The ATS to simulate, e.g. smartrecruiters.")],
    port: Annotated[int, typer.Option(help="Port to listen on (0: a free one).", min=0, max=65535)] = 8101,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    setup: Annotated[
        list[str] | None,
        typer.Option(
            help="The hub's set-up value KEY=VALUE for the ATS (repeatable): what `integrations create` printed."
        ),
    ] = None,
) -> None:
    """Run a simulated ATS (a real HTTP server speaking that ATS's protocol) for a vendor to point an integration
    at and click through in a browser; prints what to do. Ctrl-C stops it."""
    import time as _time

    cls = _simulator_or_fail(tool)
    given = _setting_pairs(setup)
    settings = _settings()
    simulator = cls(host=host, port=port)
    try:
        simulator.start()
    except OSError as exc:
        _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    try:
        if given:
            try:
                simulator.configure(given)
            except ValueError as exc:
                _fail(str(exc))
        for line in simulator.instructions(settings.public_base_url or "http://127.0.0.1:8000"):
            typer.echo(line)
        sys.stdout.flush()
        seen = 0
        while True:
            _time.sleep(0.5)
            for event in simulator.events[seen:]:
                typer.echo(event)
            seen = len(simulator.events)
    except KeyboardInterrupt:
        typer.echo("simulator stopped")
    finally:
        simulator.stop()


@app.command("generate-secret-key")
def generate_secret_key() -> None:
    """Print a new key for ASSESSMENT_HUB_SECRET_KEY."""
    from assessment_hub.kit.crypto import generate_key

    typer.echo(generate_key())


def _key_file_missing(settings: Settings) -> str | None:
    """The key file's path when the keys come from one and it does not exist yet (the first start)."""
    from assessment_hub.kit.secret_keys import key_file_path

    path = key_file_path(settings) if settings.secret_key is None else None
    return str(path) if path is not None and not path.exists() else None


@secret_key.command("rotate")
def secret_key_rotate() -> None:
    """Re-encrypt every stored credential and webhook secret under a new key.

    With the key file (SQLite, no ASSESSMENT_HUB_SECRET_KEY): a new key is generated and written first in the
    file, everything is re-encrypted, and the old key stays in the file as the previous one (still read).
    With ASSESSMENT_HUB_SECRET_KEY: that key is the new one; the old ones must be in
    ASSESSMENT_HUB_PREVIOUS_SECRET_KEYS (every running process should have both before you rotate)."""
    from assessment_hub.kit.crypto import Cipher, generate_key
    from assessment_hub.kit.secret_keys import SecretKeyError, load_key_ring, write_key_file
    from assessment_hub.secret_key import reencrypt_all

    settings = _settings()
    sessions = _session_factory(settings)
    try:
        ring = load_key_ring(settings, create=False)
        keys = ring.keys
        if ring.key_file is not None:
            keys = [generate_key(), *ring.keys]
            write_key_file(ring.key_file, keys)  # first: a crash below leaves every value readable
        with unit_of_work(sessions) as session:
            count = reencrypt_all(session, Cipher(keys, source=ring.source))
    except SecretKeyError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        sessions.kw["bind"].dispose()
    if ring.key_file is not None:
        write_key_file(ring.key_file, keys[:2])  # the new key, and the one before it for processes not yet reloaded
        typer.echo(
            f"re-encrypted {count} stored value(s) under a new key, written first in {ring.key_file} (the previous "
            "key stays there, still read, until the next rotation); running servers read the file again by themselves"
        )
    else:
        typer.echo(
            f"re-encrypted {count} stored value(s) under ASSESSMENT_HUB_SECRET_KEY; once every process runs with "
            "it, remove ASSESSMENT_HUB_PREVIOUS_SECRET_KEYS"
        )


@api_keys.command("create")
def api_keys_create(name: Annotated[str, typer.Option(help="A label for the key.")]) -> None:
    """Create a vendor API key; the key is printed once, alone on the last line."""
    from assessment_hub.integrations.service import create_api_key

    name = _required("--name", name)
    try:
        with unit_of_work(_session_factory(_settings())) as session:
            key = create_api_key(session, name)
    except HubError as exc:
        _fail(exc.message)
    typer.echo(f"created API key {name!r} (shown once; stored only as a hash)")
    typer.echo(key)


@api_keys.command("list")
def api_keys_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array instead of a table.")] = False,
) -> None:
    """List vendor API keys: id, name, prefix, created, revoked (the keys themselves are never stored)."""
    import json

    from assessment_hub.integrations.service import list_api_keys
    from assessment_hub.kit.timestamps import format_instant

    with unit_of_work(_session_factory(_settings())) as session:
        views = [
            {
                "id": row.id,
                "name": row.name,
                "prefix": row.key_prefix,
                "created_at": format_instant(row.created_at),
                "revoked_at": format_instant(row.revoked_at),
            }
            for row in list_api_keys(session)
        ]
    if as_json:
        typer.echo(json.dumps(views, indent=2, ensure_ascii=False))
        return
    if not views:
        typer.echo("no API keys")
        return
    header: list[tuple[str, ...]] = [("id", "name", "prefix", "created", "revoked")]
    rows = header + [
        (str(v["id"]), str(v["name"]), f"{v['prefix']}...", str(v["created_at"]), str(v["revoked_at"] or "-"))
        for v in views
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[4])


@api_keys.command("revoke")
def api_keys_revoke(key_id: Annotated[str, typer.Argument(help="The key's id (see `api-keys list`).")]) -> None:
    """Revoke a vendor API key: running servers refuse it (401) within LOOKUP_CACHE_S seconds (5 by default)."""
    from assessment_hub.integrations.service import revoke_api_key
    from assessment_hub.kit.timestamps import format_instant

    settings = _settings()
    try:
        with unit_of_work(_session_factory(settings)) as session:
            row, revoked_now = revoke_api_key(session, key_id)
    except HubError as exc:
        _fail(exc.message)
    if revoked_now:
        typer.echo(
            f"revoked API key {row.id} ({row.key_prefix}..., {row.name!r}); running servers refuse it "
            f"within {settings.lookup_cache_s:g} s (ASSESSMENT_HUB_LOOKUP_CACHE_S)"
        )
    else:
        typer.echo(f"API key {row.id} was already revoked at {format_instant(row.revoked_at)}")


@integrations.command("create")
def integrations_create(
    tool: Annotated[str, typer.Option(help="The ATS: sandbox, greenhouse, teamtailor, ashby.")],
    organization: Annotated[str, typer.Option(help="The customer's organization name.")],
    setting: Annotated[
        list[str] | None,
        typer.Option(
            help=f"Connector setting KEY=VALUE (repeatable). {settings_help()} Details: docs/connectors/<tool>.md."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help='Print one JSON object {"id", "tool", "setup"}.')] = False,
) -> None:
    """Create an integration; prints what the customer pastes into the ATS, and the id alone on the last line."""
    import json

    from assessment_hub.connecting import create_integration, integration_setup
    from assessment_hub.connectors.base import SettingsError

    given = _setting_pairs(setting)
    tool = _required("--tool", tool)
    organization = _required("--organization", organization)
    settings = _settings()
    try:
        with unit_of_work(_session_factory(settings, secrets=True)) as session:
            row = create_integration(session, tool, organization, settings=given, cipher=settings.cipher)
            setup = integration_setup(row, settings.cipher, settings.public_base_url or "http://127.0.0.1:8000")
    except (KeyError, SettingsError) as exc:
        _fail(str(exc.args[0]))
    if settings.public_base_url is None and tool != "sandbox":
        typer.echo(
            "warning: ASSESSMENT_HUB_PUBLIC_BASE_URL is not set, so the setup URLs use the local default "
            "http://127.0.0.1:8000, which an ATS elsewhere cannot reach; set it to the URL the ATS reaches "
            "this hub at (e.g. https://hub.example.com)",
            err=True,
        )
    if as_json:
        typer.echo(json.dumps({"id": row.id, "tool": tool, "setup": setup}))
        return
    typer.echo(f"created {tool} integration for {organization!r}")
    for key, value in setup.items():
        typer.echo(f"  {key}: {value}")
    typer.echo(row.id)


def _setting_pairs(setting: list[str] | None) -> dict[str, str]:
    given: dict[str, str] = {}
    for item in setting or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            _fail(f"--setting must look like KEY=VALUE (got {item!r})")
        given[key.strip()] = value
    return given


def _integration_line(view: dict[str, Any]) -> str:
    keys = ",".join(view["setting_keys"]) or "-"
    return f"{view['id']}  {view['tool']}  {view['status']}  {view['organization_name']!r}  settings: {keys}"


@integrations.command("list")
def integrations_list(
    include_deleted: Annotated[bool, typer.Option("--include-deleted", help="Deleted ones too.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array instead of lines.")] = False,
) -> None:
    """List integrations, oldest first (setting names only, never their values)."""
    import json

    from assessment_hub.admin.views import integration_view
    from assessment_hub.integrations.service import list_integrations

    settings = _settings()
    with unit_of_work(_session_factory(settings)) as session:
        views = [
            integration_view(r, settings.cipher) for r in list_integrations(session, include_deleted=include_deleted)
        ]
    if as_json:
        typer.echo(json.dumps(views))
        return
    for view in views:
        typer.echo(_integration_line(view))
    if not views:
        typer.echo("no integrations")


@integrations.command("show")
def integrations_show(
    integration_id: Annotated[str, typer.Argument(help="The integration's id (see `integrations list`).")],
    as_json: Annotated[bool, typer.Option("--json", help='One JSON object {"integration", "setup"}.')] = False,
) -> None:
    """One integration (setting names, never values) and what the customer pastes into the ATS."""
    import json

    from assessment_hub.admin.views import integration_view
    from assessment_hub.connecting import integration_setup
    from assessment_hub.integrations.service import get_integration

    settings = _settings()
    try:
        with unit_of_work(_session_factory(settings)) as session:
            row = get_integration(session, integration_id)
            view = integration_view(row, settings.cipher)
            setup = integration_setup(row, settings.cipher, settings.public_base_url or "http://127.0.0.1:8000")
    except HubError as exc:
        _fail(exc.message)
    if as_json:
        typer.echo(json.dumps({"integration": view, "setup": setup}))
        return
    typer.echo(_integration_line(view))
    for key, value in setup.items():
        typer.echo(f"  {key}: {value}")


@integrations.command("update")
def integrations_update(
    integration_id: Annotated[str, typer.Argument(help="The integration's id (see `integrations list`).")],
    setting: Annotated[
        list[str] | None,
        typer.Option(
            help="Connector setting KEY=VALUE (repeatable); KEY= removes it. Details: docs/connectors/<tool>.md."
        ),
    ] = None,
) -> None:
    """Change connector settings of an integration (values the ATS shows only once the customer has pasted
    the hub's set-up into it); what the hub minted stays, so the set-up does not change."""
    from assessment_hub.connecting import update_integration
    from assessment_hub.connectors.base import SettingsError

    given = _setting_pairs(setting)
    if not given:
        _fail("nothing to update: give at least one --setting KEY=VALUE")
    settings = _settings()
    try:
        with unit_of_work(_session_factory(settings)) as session:
            row = update_integration(session, integration_id, given, cipher=settings.cipher)
            tool = row.tool
    except SettingsError as exc:
        _fail(str(exc.args[0]))
    except HubError as exc:
        _fail(exc.message)
    typer.echo(f"updated {tool} integration {integration_id}: {', '.join(sorted(given))}")


@integrations.command("deactivate")
def integrations_deactivate(
    integration_id: Annotated[str, typer.Argument(help="The integration's id (see `integrations list`).")],
) -> None:
    """Set an integration INACTIVE: the vendor API and the ATS's calls are refused; orders and deliveries stay."""
    from assessment_hub.integrations.service import deactivate_integration

    try:
        with unit_of_work(_session_factory(_settings())) as session:
            deactivate_integration(session, integration_id)
    except HubError as exc:
        _fail(exc.message)
    typer.echo(f"deactivated integration {integration_id}")


@integrations.command("delete")
def integrations_delete(
    integration_id: Annotated[str, typer.Argument(help="The integration's id (see `integrations list`).")],
) -> None:
    """Delete an integration: it then answers as unknown everywhere; its orders stay stored for the operator."""
    from assessment_hub.integrations.service import delete_integration

    try:
        with unit_of_work(_session_factory(_settings())) as session:
            delete_integration(session, integration_id)
    except HubError as exc:
        _fail(exc.message)
    typer.echo(f"deleted integration {integration_id}")


@sandbox.command("create-order")
def sandbox_create_order(
    integration: Annotated[str, typer.Option(help="A sandbox integration id.")],
    package: Annotated[str, typer.Option(help="A published package id.")],
    email: Annotated[str | None, typer.Option(help="The candidate's email (generated if left out).")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for the generated candidate and job.")] = None,
    inline: Annotated[
        bool, typer.Option("--inline", help="An inline order: wait for the vendor's assessment_url.")
    ] = False,
) -> None:
    """Place an OPEN order in the sandbox ATS; the order id is printed alone on the last line."""
    from assessment_hub.connectors.sandbox.orders import create_sandbox_order
    from assessment_hub.delivery.inline import deliver_inline

    if email is not None:
        email = _check_email(email)
    settings = _settings()
    sessions = _session_factory(settings)
    try:
        with unit_of_work(sessions) as session:
            order = create_sandbox_order(session, integration, package, email=email, seed=seed, inline=inline)
            candidate = order.candidate
    except HubError as exc:
        _fail(exc.message)
    typer.echo(f"created order for {candidate['first_name']} {candidate['last_name']} <{candidate['email']}>")
    if inline:
        url = deliver_inline(settings, sessions, order.id)
        typer.echo(f"assessment_url: {url}" if url else "the vendor gave no assessment_url (see `deliveries list`)")
    typer.echo(order.id)


@sandbox.command("seed")
def sandbox_seed(
    integration: Annotated[str, typer.Option(help="A sandbox integration id.")],
    package: Annotated[str, typer.Option(help="The package id of the seeded orders.")],
    count: Annotated[int, typer.Option(help="How many orders.", min=1)],
    status: Annotated[
        str, typer.Option(help="Their status: OPEN, COMPLETED, CANCELLED or REJECTED.")
    ] = OrderStatus.OPEN,
) -> None:
    """Bulk-insert COUNT orders of a published package for load tests (no webhooks are sent for them);
    progress goes to stderr, the rate (orders per second) alone to stdout."""
    from assessment_hub.connectors.sandbox.seed import check_seedable, seed_orders, seed_status

    try:
        status = seed_status(status)
    except HubError as exc:
        _fail(exc.message)
    settings = _settings()
    sessions = _session_factory(settings)
    try:
        with unit_of_work(sessions) as session:
            status = check_seedable(session, integration, package, status)
    except HubError as exc:
        _fail(exc.message)

    def progress(done: int, rate: float) -> None:
        if done < count:  # the final figure is the one line on stdout
            typer.echo(f"  {done}/{count} orders ({rate:,.0f}/s)", err=True)

    rate = seed_orders(sessions.kw["bind"], integration, package, count, status=status, progress=progress)
    typer.echo(f"seeded {count} orders at {rate:,.0f} orders/s", err=True)
    typer.echo(f"{rate:.0f}")


@sandbox.command("show-order")
def sandbox_show_order(order_id: str) -> None:
    """Print the order as JSON with `writebacks`: every write-back the sandbox ATS received."""
    import json

    from assessment_hub.connectors.sandbox.service import show_order

    try:
        with unit_of_work(_session_factory(_settings())) as session:
            view = show_order(session, order_id)
    except HubError as exc:
        _fail(exc.message)
    typer.echo(json.dumps(view, indent=2, ensure_ascii=False))


@sandbox.command("outage")
def sandbox_outage(
    integration: Annotated[str, typer.Option(help="A sandbox integration id.")],
    mode: Annotated[str, typer.Option(help="503 | timeout | flaky | 401 | off")],
    fail_ratio: Annotated[float, typer.Option(help="With flaky: the share of write-backs that fail.")] = 0.33,
) -> None:
    """Make the sandbox ATS fail write-backs (503), hang (timeout), fail some (flaky), or recover (off)."""
    from assessment_hub.connectors.sandbox.service import set_outage

    try:
        with unit_of_work(_session_factory(_settings())) as session:
            set_outage(session, integration, mode, fail_ratio)
    except HubError as exc:
        _fail(exc.message)
    typer.echo(f"sandbox {integration}: outage mode {mode}")


@sandbox.command("reset")
def sandbox_reset(integration: Annotated[str, typer.Option(help="A sandbox integration id.")]) -> None:
    """Delete the sandbox's orders and packages and cancel its undelivered messages."""
    from assessment_hub.connectors.sandbox.service import reset

    try:
        with unit_of_work(_session_factory(_settings())) as session:
            removed = reset(session, integration)
    except HubError as exc:
        _fail(exc.message)
    typer.echo(f"sandbox {integration} reset: " + ", ".join(f"{v} {k}" for k, v in removed.items()))


@webhooks.command("create")
def webhooks_create(
    url: Annotated[str, typer.Option(help="The vendor's URL (may be private or loopback).")],
    events: Annotated[str | None, typer.Option(help="Comma-separated event types (default: all).")] = None,
) -> None:
    """Register a webhook endpoint; the generated signing secret is printed alone on the last line."""
    from assessment_hub.webhooks.service import check_endpoint_url, create_endpoint

    try:
        check_endpoint_url(url)
    except HubError as exc:
        _fail(exc.message)
    settings = _settings()
    wanted = [e.strip() for e in (events or "").split(",") if e.strip()]
    try:
        with unit_of_work(_session_factory(settings, secrets=True)) as session:
            row, secret = create_endpoint(session, settings.cipher, url, wanted)
    except HubError as exc:
        _fail(exc.message)
    typer.echo(f"created webhook endpoint {row.id} for {url} ({', '.join(row.events) or 'all events'})")
    typer.echo(secret)


@webhooks.command("list")
def webhooks_list() -> None:
    """List webhook endpoints (secrets are not shown)."""
    from assessment_hub.webhooks.service import list_endpoints

    with unit_of_work(_session_factory(_settings())) as session:
        rows = list_endpoints(session)
        for row in rows:
            typer.echo(
                f"{row.id}  {row.url}  {','.join(row.events) or 'all events'}  {'enabled' if row.enabled else 'disabled'}"
            )
    if not rows:
        typer.echo("no webhook endpoints")


@webhooks.command("delete")
def webhooks_delete(endpoint_id: str) -> None:
    """Delete a webhook endpoint."""
    from assessment_hub.webhooks.service import delete_endpoint

    try:
        with unit_of_work(_session_factory(_settings())) as session:
            delete_endpoint(session, endpoint_id)
    except HubError as exc:
        _fail(exc.message)
    typer.echo(f"deleted webhook endpoint {endpoint_id}")


@deliveries.command("list")
def deliveries_list(
    state: Annotated[
        str | None, typer.Option(help="pending | in_flight | succeeded | dead | cancelled | superseded")
    ] = None,
    order: Annotated[str | None, typer.Option(help="Only this order's deliveries.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.", min=1)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array instead of a table.")] = False,
) -> None:
    """List deliveries, newest first."""
    import json

    from assessment_hub.delivery.models import STATES
    from assessment_hub.delivery.service import delivery_view, list_deliveries

    if state is not None and state not in STATES:
        _fail(f"--state must be one of {', '.join(STATES)} (got {state!r})")
    try:
        with unit_of_work(_session_factory(_settings())) as session:
            views = [delivery_view(row) for row in list_deliveries(session, state=state, order_id=order, limit=limit)]
    except HubError as exc:
        _fail(exc.message)
    if as_json:
        typer.echo(json.dumps(views, indent=2))
        return
    for v in views:
        typer.echo(
            f"{v['id']:>7}  {v['state']:<10} {v['kind']:<9} {v['action']:<34} order={v['order_id'] or '-'}  "
            f"attempts={v['attempts']}  {v['last_error'] or ''}"
        )
    if not views:
        typer.echo("no deliveries")


@deliveries.command("show")
def deliveries_show(delivery_id: int) -> None:
    """Print one delivery with every attempt, as JSON."""
    import json

    from assessment_hub.delivery.service import attempts_of, delivery_view, get_delivery

    try:
        with unit_of_work(_session_factory(_settings())) as session:
            view = delivery_view(get_delivery(session, delivery_id), attempts_of(session, delivery_id))
    except HubError as exc:
        _fail(exc.message)
    typer.echo(json.dumps(view, indent=2))


@deliveries.command("retry")
def deliveries_retry(delivery_id: int) -> None:
    """Make a dead, cancelled or waiting delivery due now."""
    from assessment_hub.delivery.service import retry_delivery

    try:
        with unit_of_work(_session_factory(_settings())) as session:
            retry_delivery(session, delivery_id)
    except HubError as exc:
        _fail(exc.message)
    typer.echo(f"delivery {delivery_id} will be sent again now")


@deliveries.command("cancel")
def deliveries_cancel(delivery_id: int) -> None:
    """Cancel a pending or dead delivery (it is kept, marked cancelled)."""
    from assessment_hub.delivery.service import cancel_delivery

    try:
        with unit_of_work(_session_factory(_settings())) as session:
            cancel_delivery(session, delivery_id)
    except HubError as exc:
        _fail(exc.message)
    typer.echo(f"delivery {delivery_id} cancelled")


@data.command("erase")
def data_erase(
    email: Annotated[str, typer.Option(help="The candidate's email address (any case).")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object instead of text.")] = False,
) -> None:
    """Erase a candidate's personal data (name, email, phone, raw ATS payloads, attachments) from every
    order with that email; the orders stay, and an audit entry records when, by whom and which orders."""
    import getpass
    import json

    from assessment_hub.privacy.erasure import erase_candidate
    from assessment_hub.privacy.retention import delete_attachment_bytes

    email = _check_email(email)
    settings = _settings()
    try:
        user = getpass.getuser()
    except Exception:
        user = "unknown"
    with unit_of_work(_session_factory(settings)) as session:
        erasure = erase_candidate(session, email, actor=f"cli user {user}")
    delete_attachment_bytes(settings.attachments_dir, erasure.orphaned_sha256)
    if as_json:
        typer.echo(
            json.dumps({"id": erasure.id, "order_ids": erasure.order_ids, "order_count": len(erasure.order_ids)})
        )
        return
    typer.echo(f"erased the candidate data of {len(erasure.order_ids)} order(s): {', '.join(erasure.order_ids) or '-'}")
    typer.echo(erasure.id)


if __name__ == "__main__":
    app()
