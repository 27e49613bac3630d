"""The supervisor of ``assessment-hub serve`` when the delivery worker runs in a process of its own: with
``--workers N`` (N > 1), and on PostgreSQL also with ``--workers 1`` (cli._one_process says when and why).

``serve`` migrates the database and checks the port with the whole application imported (~100 MB of
resident memory: FastAPI, SQLAlchemy, alembic, pydantic...), then replaces itself (``os.execv``, same pid)
with ``python -m assessment_hub.supervise``, which imports only the standard library and uvicorn
(~20 MB). It starts the one delivery ``worker`` process, runs uvicorn's supervisor of the N API
processes (each builds ``assessment_hub.app:create_api_app``; with N = 1 uvicorn serves in this process,
no supervisor) and stops the worker when uvicorn returns.

    python -m assessment_hub.supervise HOST PORT WORKERS WITH_WORKER(0|1) WORKER_STOP_TIMEOUT_S DATABASE CONSOLE_LINE
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager


def limit_malloc_arenas(arenas: int = 2) -> None:
    """Cap glibc's malloc arenas, here (``mallopt(M_ARENA_MAX)``) and in the processes started from here
    (``MALLOC_ARENA_MAX``, unless already set).

    glibc gives threads that allocate concurrently arenas of their own, up to 8 per core, and the
    memory freed in one arena is not reused by another: with 40 request threads this adds tens of MB
    of resident memory per process for no speed gain in a GIL-bound program. Linux/glibc only; a
    no-op elsewhere. Call it before threads start."""
    if not sys.platform.startswith("linux"):
        return
    value = os.environ.setdefault("MALLOC_ARENA_MAX", str(arenas))
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(-8, int(value))  # M_ARENA_MAX = -8
    except (OSError, AttributeError, ValueError):  # not glibc (musl...), or a bad value: leave malloc alone
        pass


def stop_cleanly_on_sigterm() -> None:
    """Take SIGTERM as SIGINT (``KeyboardInterrupt``), so a graceful stop ends with exit status 0 in every form
    of ``serve`` (this supervisor, and the single process of ``cli.serve``).

    uvicorn handles both signals while it serves and, once shut down, raises the signal it stopped on again
    under the handler that was there before it: with SIGTERM's default action that ends the process, after
    a clean shutdown, with status 143 (-15: killed by the signal), and here it would also skip the ``finally``
    that stops the worker. ``uvicorn.run`` takes ``KeyboardInterrupt`` as a clean stop and returns. Call it
    from the main thread, just before serving (a SIGTERM during start-up, e.g. migrations, still ends the
    process at once)."""
    import signal

    signal.signal(signal.SIGTERM, signal.default_int_handler)


SUPERVISOR_PID_ENV = "ASSESSMENT_HUB_SUPERVISOR_PID"
"""Set by ``run`` for the API processes uvicorn starts: the pid they must not outlive."""


def die_with_parent() -> None:
    """Linux: this process gets SIGTERM (a clean stop) when its parent dies, even by SIGKILL
    (``prctl(PR_SET_PDEATHSIG)``); elsewhere a no-op."""
    if not sys.platform.startswith("linux"):
        return
    import signal

    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def stop_with_supervisor() -> None:
    """In an API process that ``run`` started (``SUPERVISOR_PID_ENV`` set): stop when the supervisor dies.
    Without it, a SIGKILLed ``serve --workers N`` left its API processes serving, holding the port and
    their database connections. A supervisor already gone before this ran is caught by the pid check."""
    supervisor = os.environ.get(SUPERVISOR_PID_ENV)
    if not supervisor:
        return
    die_with_parent()
    if os.getppid() != int(supervisor):
        import signal

        os.kill(os.getpid(), signal.SIGTERM)


WORKER_ONLY_ENV = ("ASSESSMENT_HUB_WORKER_METRICS_PORT", "ASSESSMENT_HUB_WORKER_METRICS_HOST")
"""Settings of a ``worker`` started on its own that ``serve``'s worker must not take: its counters are in the
API's ``/metrics`` already (``PROMETHEUS_MULTIPROC_DIR``); serving them on a port too would count them twice."""


def start_worker_process():
    """``assessment-hub worker`` as a child of this process (same python, same environment but
    ``WORKER_ONLY_ENV``); on Linux it is also told to stop (SIGTERM) if this process dies without stopping it."""
    import subprocess

    return subprocess.Popen(
        [sys.executable, "-m", "assessment_hub.cli", "worker"],
        env={name: value for name, value in os.environ.items() if name.upper() not in WORKER_ONLY_ENV},
        preexec_fn=die_with_parent,
    )


def stop_worker_process(process, timeout: float) -> None:
    """SIGTERM: the worker finishes the sends in progress and exits; killed if it takes longer than ``timeout``."""
    import subprocess

    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def exit_description(code: int) -> str:
    """How a child process ended, from ``Popen.wait``'s code: ``exited with status 3``, or ``was killed by
    SIGKILL (signal 9)`` for a negative code (an OOM kill reads so)."""
    if code >= 0:
        return f"exited with status {code}"
    import signal

    try:
        name = signal.Signals(-code).name
    except ValueError:
        return f"was killed by signal {-code}"
    return f"was killed by {name} (signal {-code})"


class WorkerKeeper:
    """Keeps one delivery worker process running beside the API processes: a worker that exits while the
    hub serves (killed, crashed, out of memory) is reported on stderr and started again, after
    ``RESTART_DELAYS_S`` (1 s, doubling up to 30 s, back to 1 s once one has run for a minute). Before, the
    API kept serving with no worker and said nothing: write-backs and webhooks stopped while the process
    looked healthy to its supervisor (systemd, Kubernetes)."""

    RESTART_DELAYS_S = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
    HEALTHY_AFTER_S = 60.0

    def __init__(self, start=None) -> None:
        import threading

        self._start = start or start_worker_process
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.process = self._start()
        self.restarts = 0
        self._thread = threading.Thread(target=self._watch, name="worker-keeper", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        import time

        failures = 0
        while True:
            process, started = self.process, time.monotonic()
            code = process.wait()
            if self._stopping.is_set():
                return
            # the first exit, or one after a minute's work, waits 1 s; exits in a row wait longer each time
            failures = 1 if time.monotonic() - started >= self.HEALTHY_AFTER_S else failures + 1
            delay = self.RESTART_DELAYS_S[min(failures, len(self.RESTART_DELAYS_S)) - 1]
            print(
                f"assessment-hub: the delivery worker process (pid {process.pid}) {exit_description(code)}; "
                f"starting a new one in {delay:g} s",
                file=sys.stderr,
                flush=True,
            )
            if self._stopping.wait(delay):
                return
            with self._lock:
                if self._stopping.is_set():
                    return
                self.process = self._start()
                self.restarts += 1
            print(f"assessment-hub: delivery worker process started again (pid {self.process.pid})", flush=True)

    def stop(self, timeout: float) -> None:
        """Stop watching, then stop the current worker (``stop_worker_process``)."""
        with self._lock:
            self._stopping.set()
        stop_worker_process(self.process, timeout)
        self._thread.join(timeout=5)


def prepare_metrics_dir() -> str | None:
    """Multi-process Prometheus metrics: every API process and the worker write their counters to files in
    ``PROMETHEUS_MULTIPROC_DIR`` and ``/metrics`` adds them up. Uses the directory given in the environment
    (its ``*.db`` files from an earlier run are removed: stale counters must not be added in) or makes a
    temporary one; returns the directory to remove at the end (the temporary one), else None. Set before
    any child starts, so each imports prometheus_client in multi-process mode."""
    import glob
    import tempfile

    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        os.makedirs(given, exist_ok=True)
        for stale in glob.glob(os.path.join(given, "*.db")):
            os.unlink(stale)
        return None
    made = tempfile.mkdtemp(prefix="assessment-hub-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = made
    return made


def run(
    host: str, port: int, workers: int, with_worker: bool, worker_stop_timeout_s: float, database: str, console: str
) -> None:
    """The delivery worker (unless ``with_worker`` is false) and uvicorn's supervisor of ``workers`` API processes
    (with 1, the API in this process); ``console`` is printed after the serving line. An API process that could
    not start ends it with status 2 (``startup_failure_exits_2``)."""
    import shutil

    import uvicorn

    limit_malloc_arenas()
    made_dir = prepare_metrics_dir()
    if workers > 1:
        os.environ[SUPERVISOR_PID_ENV] = str(os.getpid())  # the API processes stop if this one dies
    stop_cleanly_on_sigterm()  # with one API process uvicorn serves here: the ``finally`` below must run
    delivery = None
    try:
        delivery = WorkerKeeper() if with_worker else None
        worker_note = (
            f"one delivery worker process (pid {delivery.process.pid})" if delivery is not None else "no worker"
        )
        print(
            f"assessment-hub serving http://{host}:{port}/v1 (database: {database}; "
            f"{workers} API process{'es' if workers > 1 else ''}; {worker_note})",
            flush=True,
        )
        print(console, flush=True)
        with startup_failure_exits_2():
            uvicorn.run(
                "assessment_hub.app:create_api_app",
                factory=True,
                workers=workers,
                http="assessment_hub.kit.header_timeout:HeaderTimeoutProtocol",  # its timeout set by create_api_app
                host=host,
                port=port,
                log_level="warning",
                log_config=None,  # each API process logs through the hub's set-up (kit/logging.py)
                access_log=False,  # the hub writes its own access line
            )
    except KeyboardInterrupt:  # SIGTERM or SIGINT before uvicorn took the signals over
        pass
    finally:
        if delivery is not None:
            delivery.stop(worker_stop_timeout_s)
        if made_dir is not None:
            shutil.rmtree(made_dir, ignore_errors=True)


STARTUP_FAILED_STATUS = 2
"""``serve``'s exit status when an API process could not start (uvicorn's own is 3): the one a database that
cannot be opened gives everywhere (docs/configuration.md)."""


@contextmanager
def startup_failure_exits_2() -> Iterator[None]:
    """Around ``uvicorn.run``: its exit for a failed lifespan start-up (status 3; the line before it says why,
    ``ops.startup``) becomes status 2; other exits pass unchanged."""
    from uvicorn.main import STARTUP_FAILURE

    try:
        yield
    except SystemExit as exc:
        if exc.code == STARTUP_FAILURE:
            raise SystemExit(STARTUP_FAILED_STATUS) from None
        raise


def main(argv: list[str]) -> int:
    if len(argv) != 7:
        print(__doc__, file=sys.stderr)
        return 1
    host, port, workers, with_worker, timeout, database, console = argv
    run(host, int(port), int(workers), with_worker == "1", float(timeout), database, console)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
