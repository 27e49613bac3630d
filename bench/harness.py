"""Benchmark harness: servers, wrk runs, memory sampling, figures and reports.

Stdlib only (plus ``aiohttp`` for the paced open-loop client used by the
delivery figure, imported lazily: at 200 requests/s httpx's client spent ~2 ms of CPU per request,
0.4 of a core on this 2-core machine, and fell behind its own schedule).  Everything talks to 127.0.0.1 only and
every wait is bounded in count and time.

Main pieces:

* :func:`ensure_wrk`        find wrk, or install it from Debian's packages
* :class:`Server`           start a server subprocess on a free loopback port,
                            wait for readiness, sample its RSS, stop it
* :func:`run_wrk`           run wrk with one of ``bench/wrk/*.lua`` and parse
                            the ``BENCH_JSON`` line its ``done()`` prints
* :class:`Figure`, :class:`Report`  the records and the RESULTS.md /
                            results.json writers
* :class:`Receiver`         a fake ATS / vendor endpoint that timestamps
                            every request it receives
* :func:`paced_requests`    send requests at a fixed rate (open loop)
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
WRK_DIR = BENCH_DIR / "wrk"
LOOPBACK = "127.0.0.1"


class BenchError(RuntimeError):
    """A step of the benchmark failed (the message says which and why)."""


class WrkUnavailable(BenchError):
    """wrk is not installed and could not be installed."""


# --------------------------------------------------------------------------
# wrk


def ensure_wrk(install: bool = True, timeout_s: float = 600) -> str:
    """Return the path of ``wrk``; install it with apt-get when missing.

    Raises :class:`WrkUnavailable` with the reason when that is impossible.
    """
    found = shutil.which("wrk")
    if found:
        return found
    if not install:
        raise WrkUnavailable("wrk is not installed (and installing was not allowed)")
    if os.geteuid() != 0:
        raise WrkUnavailable("wrk is not installed and we are not root to apt-get install it")
    if not shutil.which("apt-get"):
        raise WrkUnavailable("wrk is not installed and apt-get is not available")
    cmd = "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk"
    try:
        proc = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise WrkUnavailable(f"'{cmd}' timed out after {timeout_s:.0f}s") from None
    found = shutil.which("wrk")
    if proc.returncode != 0 or not found:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
        raise WrkUnavailable(f"'{cmd}' failed (exit {proc.returncode}): " + " | ".join(tail))
    return found


def wrk_version(wrk: str = "wrk") -> str:
    try:
        out = subprocess.run([wrk, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    first = (out.stdout or out.stderr).strip().splitlines()
    return first[0] if first else "unknown"


@dataclasses.dataclass
class WrkResult:
    """What one wrk run measured (latencies in milliseconds)."""

    url: str
    script: str
    connections: int
    threads: int
    duration_s: float
    requests: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    non_2xx: int
    non_2xx_exact: bool
    errors: dict[str, int]
    distinct_ids: int = 0
    wrapped: bool = False

    @property
    def socket_errors(self) -> int:
        return sum(v for k, v in self.errors.items() if k != "status")

    @property
    def ok(self) -> bool:
        return self.requests > 0 and self.non_2xx == 0 and self.socket_errors == 0

    def problems(self) -> str:
        parts = []
        if self.requests == 0:
            parts.append("no request completed")
        if self.non_2xx:
            parts.append(f"{self.non_2xx} non-2xx")
        if self.socket_errors:
            parts.append("socket errors " + json.dumps({k: v for k, v in self.errors.items() if v and k != "status"}))
        if self.wrapped:
            parts.append(f"order ids reused after {self.distinct_ids} distinct")
        return "; ".join(parts)


_BENCH_JSON = re.compile(r"^BENCH_JSON (\{.*\})\s*$", re.M)


def parse_wrk_output(stdout: str) -> dict[str, Any]:
    m = _BENCH_JSON.search(stdout)
    if not m:
        raise BenchError("wrk printed no BENCH_JSON line; output was:\n" + stdout[-2000:])
    return json.loads(m.group(1))


def run_wrk(
    url: str,
    script: str,
    script_args: dict[str, Any] | None = None,
    *,
    duration_s: float = 10,
    connections: int = 64,
    threads: int = 2,
    timeout_s: float = 10,
    wrk: str = "wrk",
    log_path: Path | None = None,
) -> WrkResult:
    """Run ``wrk -t -c -d -s bench/wrk/<script> URL -- k=v ...`` and parse it.

    ``script`` is a file name in ``bench/wrk`` (or a path).  ``threads`` is
    also passed to the script (``threads=N``) so id-cycling scripts can split
    the ids among wrk threads.  Bounded: wrk is killed ``duration + 60`` s in.
    """
    threads = max(1, min(threads, connections))
    script_path = Path(script) if os.sep in script else WRK_DIR / script
    args = {"threads": threads}
    args.update({k: v for k, v in (script_args or {}).items() if v is not None})
    argv = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration_s))}s",
        f"--timeout={max(1, round(timeout_s))}s",
        "-s",
        str(script_path),
        url,
        "--",
    ] + [f"{k}={v}" for k, v in args.items()]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=duration_s + 60)
    except subprocess.TimeoutExpired:
        raise BenchError(f"wrk did not finish within {duration_s + 60:.0f}s: {argv}") from None
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text(
            "$ " + " ".join(argv) + "\n" + proc.stdout + ("\n[stderr]\n" + proc.stderr if proc.stderr else "")
        )
    if proc.returncode != 0:
        raise BenchError(f"wrk exited {proc.returncode}: {proc.stderr.strip()[-1000:]}")
    d = parse_wrk_output(proc.stdout)
    return WrkResult(
        url=url,
        script=script_path.name,
        connections=connections,
        threads=threads,
        duration_s=float(d["duration_s"]),
        requests=int(d["requests"]),
        rps=float(d["rps"]),
        p50_ms=float(d["p50_ms"]),
        p90_ms=float(d["p90_ms"]),
        p99_ms=float(d["p99_ms"]),
        mean_ms=float(d["mean_ms"]),
        max_ms=float(d["max_ms"]),
        non_2xx=int(d["non_2xx"]),
        non_2xx_exact=bool(d["non_2xx_exact"]),
        errors={k: int(v) for k, v in d["errors"].items()},
        distinct_ids=int(d.get("distinct_ids", 0)),
        wrapped=bool(d.get("wrapped", False)),
    )


# --------------------------------------------------------------------------
# processes and memory


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
        except OSError:
            continue
        # the command name is in parentheses and may hold spaces: split after it
        rest = stat[stat.rfind(")") + 2 :].split()
        if len(rest) >= 2:
            kids.setdefault(int(rest[1]), []).append(int(entry))
    return kids


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (from /proc/*/stat)."""
    kids = _children_map()
    out, todo = [], [pid]
    while todo and len(out) < 10_000:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def tree_cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU seconds so far of every process in the trees of ``pids`` (from /proc/*/stat; a
    process that already exited is not counted: measure long-lived servers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for root in pids:
        for pid in process_tree(root):
            try:
                with open(f"/proc/{pid}/stat", "rb") as f:
                    stat = f.read().decode(errors="replace")
            except OSError:
                continue
            rest = stat[stat.rfind(")") + 2 :].split()
            total += int(rest[11]) + int(rest[12])  # utime, stime (fields 14 and 15)
    return total / tick


def _status_kb(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


@dataclasses.dataclass
class Memory:
    rss_mb: float  # sum of VmRSS over the process tree, now
    hwm_mb: float  # sum of VmHWM (per-process peaks; an upper bound of the tree's peak)
    pids: int


def tree_memory(pid: int) -> Memory:
    pids = process_tree(pid)
    rss = sum(_status_kb(p, "VmRSS") for p in pids)
    hwm = sum(_status_kb(p, "VmHWM") for p in pids)
    return Memory(rss_mb=rss / 1024, hwm_mb=hwm / 1024, pids=len(pids))


class RssSampler:
    """Samples the summed VmRSS of a process tree in a background thread.

    ``peak_mb`` is the highest sum seen (a lower bound of the true peak,
    sampled every ``interval_s``); compare with :attr:`Memory.hwm_mb`.
    """

    def __init__(self, pid: int, interval_s: float = 0.1, max_samples: int = 100_000):
        self.pid, self.interval_s, self.max_samples = pid, interval_s, max_samples
        self.peak_mb = 0.0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set() and self.samples < self.max_samples:
            self.peak_mb = max(self.peak_mb, tree_memory(self.pid).rss_mb)
            self.samples += 1
            self._stop.wait(self.interval_s)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def http_get(url: str, timeout_s: float = 2.0, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """Tiny stdlib GET for probes (loopback only)."""
    return http_request("GET", url, timeout_s=timeout_s, headers=headers)


def http_request(
    method: str,
    url: str,
    body: bytes | None = None,
    *,
    timeout_s: float = 5.0,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    m = re.match(r"^http://([^/:]+):(\d+)(/.*)?$", url)
    if not m:
        raise BenchError(f"not a plain http URL: {url}")
    host, port, path = m.group(1), int(m.group(2)), m.group(3) or "/"
    conn = http.client.HTTPConnection(host, port, timeout=timeout_s)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


class Server:
    """A server subprocess (the ceiling, or the hub's ``serve``) on loopback.

    ``argv`` may contain ``{host}`` and ``{port}`` placeholders.  The process
    starts in its own session so :meth:`stop` can signal exactly its group.
    Output goes to ``log_path`` (never to a pipe that could fill up).
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        log_path: Path | None = None,
        ready_path: str = "/",
        ready_timeout_s: float = 60,
        port: int | None = None,
        name: str = "server",
    ):
        self.port = port or free_port()
        self.host = LOOPBACK
        self.argv = [a.format(host=self.host, port=self.port) for a in argv]
        self.env = dict(os.environ, **(env or {}))
        self.cwd = cwd or REPO_ROOT
        self.log_path = log_path
        self.ready_path = ready_path
        self.ready_timeout_s = ready_timeout_s
        self.name = name
        self.proc: subprocess.Popen[bytes] | None = None
        self._log = None
        self.startup_s: float | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None, "server not started"
        return self.proc.pid

    def start(self) -> Server:
        if self.log_path:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop())
        out = self._log if self._log else subprocess.DEVNULL
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=self.cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.wait_ready()
        self.startup_s = time.monotonic() - t0
        return self

    def log_tail(self, n: int = 20) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])

    def wait_ready(self) -> None:
        """Poll ``ready_path`` until any HTTP status < 500 (bounded)."""
        deadline = time.monotonic() + self.ready_timeout_s
        last = "no attempt"
        for _ in range(int(self.ready_timeout_s / 0.05) + 1):
            if self.proc is not None and self.proc.poll() is not None:
                raise BenchError(
                    f"{self.name} exited with {self.proc.returncode} before it was ready: {self.argv}\n{self.log_tail()}"
                )
            try:
                status, _ = http_get(self.base_url + self.ready_path, timeout_s=1)
                if status < 500:
                    return
                last = f"HTTP {status}"
            except OSError as exc:
                last = repr(exc)
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.stop()
        raise BenchError(
            f"{self.name} not ready after {self.ready_timeout_s:.0f}s ({last}): {self.argv}\n{self.log_tail()}"
        )

    def memory(self) -> Memory:
        return tree_memory(self.pid)

    def sampler(self, interval_s: float = 0.1) -> RssSampler:
        return RssSampler(self.pid, interval_s)

    def stop(self, timeout_s: float = 15) -> int | None:
        """SIGTERM the server's process group, SIGKILL it if still alive."""
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            for sig, wait in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 5)):
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if self._log:
            self._log.close()
            self._log = None
        return proc.returncode

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def run_cli(
    argv: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    timeout_s: float = 300,
    cwd: Path | None = None,
) -> str:
    """Run a command, fail with its output if it fails; return its stdout."""
    try:
        proc = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env=dict(os.environ, **(env or {})),
            cwd=cwd or REPO_ROOT,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise BenchError(f"{list(argv)} did not finish within {timeout_s:.0f}s") from None
    except OSError as exc:
        raise BenchError(f"cannot run {list(argv)}: {exc}") from None
    if proc.returncode != 0:
        raise BenchError(f"{list(argv)} exited {proc.returncode}:\n{(proc.stdout + proc.stderr)[-2000:]}")
    return proc.stdout


def last_line(stdout: str) -> str:
    lines = [ln.strip() for ln in stdout.splitlines() if ln.strip()]
    if not lines:
        raise BenchError("command printed nothing on stdout")
    return lines[-1]


# --------------------------------------------------------------------------
# fake ATS / vendor receivers and a paced open-loop client (delivery figure)


class _QuietHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return  # a client closing its keep-alive connection
        super().handle_error(request, client_address)


_TOKEN = re.compile(rb"[A-Za-z0-9_\-:.]{8,}")
_PART = re.compile(rb"[A-Za-z0-9_\-]{8,}")


def id_tokens(data: bytes) -> list[str]:
    """Candidate ids in ``data``: runs of 8+ ``[A-Za-z0-9_-:.]`` and their
    ``[A-Za-z0-9_-]`` parts (so both ``sandbox:abc...`` and ``abc...`` match)."""
    out: set[bytes] = set()
    for tok in _TOKEN.findall(data):
        out.add(tok)
        if b":" in tok or b"." in tok:
            out.update(_PART.findall(tok))
    return [t.decode() for t in out]


_SCAN_BYTES = 65536  # ids are looked for in the path and the first 64 KiB of the body


def receiver_server(port: int = 0, max_records: int = 2_000_000) -> ThreadingHTTPServer:
    """The fake ATS / vendor endpoint: answers 200 ``{}`` to every request and
    records ``(time.monotonic(), tokens)`` where tokens are the 8+ url-safe
    character runs of the path and body start (so any id format matches).

    ``GET /__bench/count`` and ``GET /__bench/records`` (JSON) read it back.
    CLOCK_MONOTONIC is system-wide on Linux, so times compare across processes.
    """
    records: list[tuple[float, list[str]]] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # headers and body go out as separate writes: without TCP_NODELAY,
        # Nagle + delayed ACK add ~40 ms per request and cap a keep-alive
        # client at ~25 req/s per connection
        disable_nagle_algorithm = True

        def _reply(self, payload: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _handle(self) -> None:
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else b""
            t = time.monotonic()
            if self.path == "/__bench/count":
                with lock:
                    return self._reply(str(len(records)).encode())
            if self.path == "/__bench/records":
                with lock:
                    return self._reply(json.dumps(records).encode())
            path = urllib.parse.unquote(self.path).encode(errors="replace")
            tokens = id_tokens(path + b" " + body[:_SCAN_BYTES])
            with lock:
                if len(records) < max_records:
                    records.append((t, tokens))
            self._reply(b"{}")

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        def log_message(self, *args: Any) -> None:  # quiet
            pass

    return _QuietHTTPServer((LOOPBACK, port), Handler)


class Receiver:
    """A fake ATS / vendor on loopback, in its own process (``python -m
    bench.harness receiver``) so that it never competes for the GIL with
    the load generator of the same run.  :meth:`first_arrivals` maps known
    ids to the first time a request mentioning them arrived.
    """

    def __init__(self, name: str, python: str = sys.executable, log_path: Path | None = None):
        self.name = name
        self.python = python
        self.log_path = log_path
        self.port = 0
        self.proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self, timeout_s: float = 30) -> Receiver:
        self.proc = subprocess.Popen(
            [self.python, "-m", "bench.harness", "receiver"],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()  # the child prints its port first
        if not line.isdigit():
            self.stop()
            raise BenchError(f"receiver {self.name} did not start (printed {line!r})")
        self.port = int(line)
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                http_get(self.url + "/__bench/count", timeout_s=1)
                return self
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise BenchError(f"receiver {self.name} not answering on {self.url}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if self.proc is not None and self.proc.stdout:
            self.proc.stdout.close()

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def count(self) -> int:
        _, body = http_get(self.url + "/__bench/count", timeout_s=10)
        return int(body)

    def first_arrivals(self, ids: Iterable[str]) -> dict[str, float]:
        wanted = set(ids)
        _, body = http_get(self.url + "/__bench/records", timeout_s=60)
        seen: dict[str, float] = {}
        for t, tokens in json.loads(body):
            for tok in tokens:
                if tok in wanted and tok not in seen:
                    seen[tok] = t
        return seen


@dataclasses.dataclass
class PacedRun:
    sent: int
    ok: int
    failed: int
    # id -> monotonic time the 2xx response arrived
    done_at: dict[str, float]
    # id -> monotonic time the request was started (client lag shows as done - sent)
    sent_at: dict[str, float]
    # (monotonic time, requests acknowledged so far) once per second
    acked_timeline: list[tuple[float, int]]
    late_starts: int  # requests that started > 100 ms behind schedule
    t0: float = 0.0  # monotonic time the schedule started
    unsent: int = 0  # due requests never started: the send window closed first (held by max_in_flight)
    unanswered: int = 0  # started, but no answer by ``finish_by_s``


@dataclasses.dataclass
class Answer:
    """A paced request's answer, read whole: what ``key_from_response`` hooks get."""

    status_code: int
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)


def paced_requests(
    make_request: Callable[[int], tuple[str, str, str, Any]],
    *,
    rate_per_s: float,
    duration_s: float,
    headers: dict[str, str] | None = None,
    max_in_flight: int = 256,
    timeout_s: float = 10,
    key_from_response: Callable[[Any], str] | None = None,
    send_until_s: float | None = None,
    finish_by_s: float | None = None,
) -> PacedRun:
    """Open-loop load: request ``i`` is due at ``t0 + i / rate``, whatever the
    server does (unlike wrk, which waits for answers).  ``make_request(i)``
    returns ``(key, method, url, json_body)``; ``key`` (e.g. the order id)
    indexes ``done_at``, unless ``key_from_response(response)`` gives it
    (e.g. the id of an order the request created).  Bounded: ``rate * duration`` requests; no request
    starts later than ``send_until_s`` after the schedule's start (default ``duration + timeout``: a hub
    slower than ``rate`` holds the client at ``max_in_flight`` and would otherwise stretch the run --
    the rest are counted in ``unsent``), and the run returns ``finish_by_s`` after the start (default
    ``duration + timeout + 10``) at the latest, requests still unanswered then counted in ``unanswered``.
    """
    import asyncio

    import aiohttp

    total = int(rate_per_s * duration_s)
    done_at: dict[str, float] = {}
    sent_at: dict[str, float] = {}
    counters = {"ok": 0, "failed": 0, "late": 0, "started": 0}
    send_until = duration_s + timeout_s if send_until_s is None else send_until_s
    finish_by = duration_s + timeout_s + 10 if finish_by_s is None else max(finish_by_s, send_until)
    start: list[float] = []
    timeline: list[tuple[float, int]] = []

    async def main() -> None:
        sem = asyncio.Semaphore(max_in_flight)
        connector = aiohttp.TCPConnector(limit=max_in_flight, force_close=False)
        timeout = aiohttp.ClientTimeout(total=timeout_s)
        base_headers = dict(headers or {}, **{"Content-Type": "application/json"})
        async with aiohttp.ClientSession(connector=connector, timeout=timeout, headers=base_headers) as client:

            async def one(i: int) -> None:
                key, method, url, body = make_request(i)
                data = None if body is None else json.dumps(body).encode()
                t_sent = time.monotonic()
                try:
                    async with client.request(method, url, data=data) as r:
                        answer = Answer(r.status, await r.read())
                    if 200 <= answer.status_code < 300:
                        t = time.monotonic()
                        if key_from_response is not None:
                            key = key_from_response(answer)
                        done_at[key] = t
                        sent_at[key] = t_sent
                        counters["ok"] += 1
                    else:
                        counters["failed"] += 1
                except (aiohttp.ClientError, TimeoutError, ValueError, KeyError, TypeError):
                    counters["failed"] += 1
                finally:
                    sem.release()

            async def ticker(t0: float) -> None:
                for _ in range(int(finish_by) + 1):
                    timeline.append((time.monotonic(), counters["ok"]))
                    await asyncio.sleep(1)

            t0 = time.monotonic()
            start.append(t0)
            tick = asyncio.create_task(ticker(t0))
            tasks = []
            for i in range(total):
                due = t0 + i / rate_per_s
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                elif delay < -0.1:
                    counters["late"] += 1
                left = t0 + send_until - time.monotonic()
                if left <= 0:
                    break
                try:
                    await asyncio.wait_for(sem.acquire(), timeout=left)
                except TimeoutError:
                    break
                counters["started"] += 1
                tasks.append(asyncio.create_task(one(i)))
            if tasks:
                await asyncio.wait(tasks, timeout=max(0.0, t0 + finish_by - time.monotonic()))
            tick.cancel()

    asyncio.run(main())
    return PacedRun(
        sent=total,
        ok=counters["ok"],
        failed=counters["failed"],
        done_at=done_at,
        sent_at=sent_at,
        acked_timeline=timeline,
        late_starts=counters["late"],
        t0=start[0] if start else 0.0,
        unsent=total - counters["started"],
        unanswered=counters["started"] - counters["ok"] - counters["failed"],
    )


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of ``values``; 0.0 if empty."""
    if not values:
        return 0.0
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100 * len(s) + 0.5)) - 1))
    return s[k]


def slope_per_s(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of (t, y) points (0.0 with fewer than 2 points)."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mt = sum(t for t, _ in points) / n
    my = sum(y for _, y in points) / n
    den = sum((t - mt) ** 2 for t, _ in points)
    return 0.0 if den == 0 else sum((t - mt) * (y - my) for t, y in points) / den


# --------------------------------------------------------------------------
# figures and reports


_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
}


@dataclasses.dataclass
class Figure:
    """One reported number.

    ``ratio`` is ``value / baseline`` (when there is a baseline).  ``goal``
    is e.g. ``">= 0.35"``; it applies to the ratio when ``goal_on ==
    "ratio"`` and to the value otherwise; ``met`` is None without a goal.
    ``produced`` is False when the figure could not be measured; ``note``
    then says why (and otherwise carries caveats such as non-2xx counts).
    """

    name: str
    value: float | None
    unit: str
    baseline: float | None = None
    baseline_name: str | None = None
    ratio: float | None = None
    goal: str | None = None
    goal_on: str = "ratio"
    met: bool | None = None
    produced: bool = True
    note: str = ""
    group: str = ""

    def __post_init__(self) -> None:
        self.evaluate()

    def evaluate(self) -> Figure:
        if self.value is None:
            self.produced = False
        if self.produced and self.baseline not in (None, 0) and self.value is not None:
            self.ratio = self.value / self.baseline
        if self.goal and self.produced:
            op, _, target = self.goal.partition(" ")
            subject = self.ratio if self.goal_on == "ratio" else self.value
            self.met = None if subject is None else _OPS[op](subject, float(target))
        return self

    @classmethod
    def missing(cls, name: str, unit: str, reason: str, **kw: Any) -> Figure:
        return cls(name=name, value=None, unit=unit, produced=False, note=reason, **kw)


def git_commit(cwd: Path = REPO_ROOT) -> str:
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return (sha or "unknown") + ("-dirty" if dirty else "")


def loadavg() -> str:
    """/proc/loadavg's 1/5/15-minute averages: other work on the machine skews every figure."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def machine_info() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "loadavg_at_start": loadavg(),
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": mem_gb,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


class Report:
    def __init__(self, mode: str, settings: dict[str, Any] | None = None):
        self.mode = mode
        self.settings = settings or {}
        self.figures: list[Figure] = []
        self.runs: dict[str, Any] = {}  # raw measurements, by name
        self.started = _dt.datetime.now(_dt.UTC)
        self.meta: dict[str, Any] = {
            "date": self.started.isoformat(timespec="seconds"),
            "git_commit": git_commit(),
            "machine": machine_info(),
        }

    def add(self, fig: Figure) -> Figure:
        self.figures = [f for f in self.figures if f.name != fig.name] + [fig]
        return fig

    def get(self, name: str) -> Figure | None:
        return next((f for f in self.figures if f.name == name), None)

    def value(self, name: str) -> float | None:
        f = self.get(name)
        return f.value if f and f.produced else None

    def missing(self) -> list[Figure]:
        return [f for f in self.figures if not f.produced]

    def to_json(self) -> dict[str, Any]:
        return {
            **self.meta,
            "loadavg_at_end": self.meta.get("loadavg_at_end") or loadavg(),
            "mode": self.mode,
            "elapsed_s": round((_dt.datetime.now(_dt.UTC) - self.started).total_seconds(), 1),
            "settings": self.settings,
            "figures": [dataclasses.asdict(f) for f in self.figures],
            "runs": self.runs,
        }

    def write_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2, default=str) + "\n")

    @staticmethod
    def _fmt(x: float | None) -> str:
        if x is None:
            return "—"
        if abs(x) >= 1000:
            return f"{x:,.0f}"
        if abs(x) >= 100:
            return f"{x:.0f}"
        if abs(x) >= 10:
            return f"{x:.1f}"
        return f"{x:.2f}" if abs(x) >= 1 else f"{x:.3f}"

    def markdown(self) -> str:
        m = self.meta["machine"]
        lines = [
            "# Benchmark results",
            "",
            f"- date: {self.meta['date']}",
            f"- git commit: {self.meta['git_commit']}",
            f"- machine: {m['cores']} cores, {m['cpu']}, {m['memory_gb']} GB, Linux {m['kernel']}, Python {m['python']}",
            f"- load average (1/5/15 min) at start: {m.get('loadavg_at_start')}, at end: "
            f"{self.meta.get('loadavg_at_end') or loadavg()} (other work on the machine skews every figure)",
            f"- wrk: {self.meta.get('wrk', 'not used')}",
            f"- process model: {self.meta.get('process_model', 'not recorded')}",
            f"- mode: {self.mode}; " + ", ".join(f"{k}={v}" for k, v in self.settings.items()),
            "",
            "Ratios are value / baseline, both measured in this run (see bench/README.md).",
            "",
            "| figure | value | baseline | ratio | goal | met |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for f in self.figures:
            value = f"{self._fmt(f.value)} {f.unit}" if f.produced else "not produced"
            base = "—"
            if f.baseline is not None:
                base = f"{self._fmt(f.baseline)} ({f.baseline_name})" if f.baseline_name else self._fmt(f.baseline)
            goal = "—"
            if f.goal:
                goal = f"{f.goal_on} {f.goal}" if f.goal_on != "ratio" else f"ratio {f.goal}"
            met = {True: "yes", False: "**no**", None: "—"}[f.met]
            lines.append(f"| {f.name} | {value} | {base} | {self._fmt(f.ratio)} | {goal} | {met} |")
        notes = [f for f in self.figures if f.note]
        if notes:
            lines += ["", "## Notes", ""]
            lines += [f"- **{f.name}**: {f.note}" for f in notes]
        return "\n".join(lines) + "\n"

    def write_markdown(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.markdown())


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _receiver_main() -> None:
    """``python -m bench.harness receiver``: serve a fake endpoint, print its port."""
    srv = receiver_server()
    print(srv.server_address[1], flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        srv.serve_forever(poll_interval=0.2)
    finally:
        srv.server_close()


if __name__ == "__main__":
    if sys.argv[1:2] == ["receiver"]:
        _receiver_main()
    else:
        print("usage: python -m bench.harness receiver", file=sys.stderr)
        sys.exit(2)
