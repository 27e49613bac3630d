"""This process's Prometheus counters on a port of their own: ``assessment-hub worker --metrics-port PORT``.

A ``worker`` started on its own (beside ``serve --no-worker``, on another machine) has no HTTP server, so
its counters (``assessment_hub_delivery_attempts_total``: ``kit.metrics``) had nowhere to be scraped
unless it shared ``PROMETHEUS_MULTIPROC_DIR`` with an API process on the same machine. Here a threading
WSGI server of the standard library (``wsgiref``, in a daemon thread, silent: it logs no request) serves
prometheus-client's WSGI app (``make_wsgi_app``) on the default registry: this process's counters and
prometheus-client's ``process_*`` and ``python_*`` series, in the Prometheus text format (or OpenMetrics,
when the scraper asks for it; gzip when it accepts it).

Only ``GET /metrics`` and ``HEAD /metrics`` (the same headers, no body) are answered so; any other path is
``404 Not Found`` and another method on ``/metrics`` ``405 Method Not Allowed`` (``Allow: GET, HEAD``),
each with a one-line ``text/plain`` body (prometheus-client's own server answers the metrics on every
path, and ``OPTIONS``).

Not served here: the gauges read from the database (``ops.metrics.DatabaseCollector``: backlog, oldest
pending age, heartbeats, ``database_up``). They are one fact about the shared database, the same from
every process: served by each of K workers, ``sum()`` over the targets would count the backlog K (+1)
times, and each scrape of each worker would cost a read transaction on the database. The API's
``/metrics`` serves them (docs/operations.md, "Metrics"; docs/deployment.md, "What to watch").
"""

from __future__ import annotations

import errno
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import REGISTRY, make_wsgi_app

METRICS_PATH = "/metrics"
ALLOWED_METHODS = "GET, HEAD"

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class MetricsServerRefused(Exception):
    """The metrics server cannot listen where asked; ``str()`` is the one line that says why and what to change."""


@dataclass
class MetricsServer:
    """A running metrics server; ``url`` is where a scraper finds it (``http://127.0.0.1:9400/metrics``)."""

    url: str
    server: WSGIServer
    thread: threading.Thread

    def close(self) -> None:
        """Stop answering and free the port (a scrape in progress finishes)."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    """One thread per connection, daemon threads (a scrape in progress does not hold the process up)."""

    daemon_threads = True


class _SilentHandler(WSGIRequestHandler):
    """Logs no request (``wsgiref`` writes each one to stderr)."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _plain(start_response: StartResponse, status: str, text: str, *extra: tuple[str, str]) -> list[bytes]:
    body = f"{text}\n".encode()
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))), *extra])
    return [body]


def metrics_app(metrics: WsgiApp) -> WsgiApp:
    """``metrics`` (prometheus-client's WSGI app) at ``GET /metrics`` and ``HEAD /metrics`` alone.

    Another path (``/``, ``/metrics/``): ``404 Not Found``, ``not found; the metrics are at GET /metrics``;
    another method on ``/metrics``: ``405 Method Not Allowed``, ``Allow: GET, HEAD``, ``method not allowed;
    use GET or HEAD``; each one line of ``text/plain; charset=utf-8``. The query string is prometheus-client's
    (``?name[]=FAMILY`` narrows the answer).
    ``HEAD`` gives the headers a ``GET`` would (``Content-Type``, ``Content-Length``) and no body."""

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "")
        if path != METRICS_PATH:
            return _plain(start_response, "404 Not Found", "not found; the metrics are at GET /metrics")
        if method not in ("GET", "HEAD"):
            return _plain(
                start_response,
                "405 Method Not Allowed",
                "method not allowed; use GET or HEAD",
                ("Allow", ALLOWED_METHODS),
            )
        answer: list[Any] = []
        body = b"".join(metrics({**environ, "REQUEST_METHOD": "GET"}, lambda *args: answer.extend(args[:2])))
        status, headers = answer
        start_response(status, [*headers, ("Content-Length", str(len(body)))])
        return [body] if method == "GET" else []

    return app


def metrics_url(host: str, port: int) -> str:
    """``http://host:port/metrics``, an IPv6 address in brackets."""
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/metrics"


def serve_process_metrics(host: str, port: int) -> MetricsServer:
    """Serve this process's metrics (the default registry) on ``host:port`` until ``close()``.

    Raises ``MetricsServerRefused`` when the address cannot be listened on: the port in use (another
    worker on this machine with the same port?), a host name that does not resolve, an address that is
    not this machine's, a port below 1024 without the right to bind it."""
    where = f"{f'[{host}]' if ':' in host else host}:{port}"
    try:
        server, thread = _start(host, port)
    except socket.gaierror as exc:
        raise MetricsServerRefused(
            f"cannot serve metrics on {where}: unknown host ({exc.strerror or exc}); check --metrics-host "
            "(or ASSESSMENT_HUB_WORKER_METRICS_HOST)"
        ) from None
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise MetricsServerRefused(
                f"cannot serve metrics on {where}: the port is already in use (another worker or server is "
                "listening there?); choose another --metrics-port (or ASSESSMENT_HUB_WORKER_METRICS_PORT)"
            ) from None
        raise MetricsServerRefused(
            f"cannot serve metrics on {where}: {exc.strerror or exc}; check --metrics-host and --metrics-port "
            "(or ASSESSMENT_HUB_WORKER_METRICS_HOST and _PORT)"
        ) from None
    return MetricsServer(metrics_url(host, port), server, thread)


def _start(host: str, port: int) -> tuple[WSGIServer, threading.Thread]:
    """Listen on ``host:port`` (IPv4 or IPv6, as the host resolves) and serve in a daemon thread."""
    family, _, _, _, sockaddr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]

    class Server(_ThreadingServer):
        address_family = family

    server = make_server(
        str(sockaddr[0]), port, metrics_app(make_wsgi_app(REGISTRY)), Server, handler_class=_SilentHandler
    )
    thread = threading.Thread(target=server.serve_forever, name="metrics-server", daemon=True)
    thread.start()
    return server, thread
