"""This process's Prometheus counters on a port of their own: ``assessment-hub worker --metrics-port PORT``.

A ``worker`` started on its own (beside ``serve --no-worker``, on another machine) has no HTTP server, so
its counters (``assessment_hub_delivery_attempts_total``: ``kit.metrics``) had nowhere to be scraped
unless it shared ``PROMETHEUS_MULTIPROC_DIR`` with an API process on the same machine. Here
prometheus-client's own server (``start_http_server``: a threading WSGI server in a daemon thread, silent,
answering ``GET /metrics``, any other path alike) serves the default registry: this process's counters and
prometheus-client's ``process_*`` and ``python_*`` series, in the Prometheus text format (or
OpenMetrics, when the scraper asks for it).

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
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import REGISTRY, start_http_server


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
        server, thread = start_http_server(port, addr=host, registry=REGISTRY)
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
