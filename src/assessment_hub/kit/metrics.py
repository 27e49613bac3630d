"""The hub's Prometheus counters (prometheus-client), counted by the process that does the work.

The series and what they mean: docs/operations.md ("Metrics"); ``ops.metrics`` adds the ones read from the
database at scrape time and renders ``/metrics``. In multi-process mode (``PROMETHEUS_MULTIPROC_DIR``, set
before this module is imported) each process writes its counts to files there.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter("assessment_hub_http_requests_total", "HTTP requests answered.", ["method", "route", "status"])
REQUEST_SECONDS = Histogram(
    "assessment_hub_http_request_duration_seconds",
    "Time to answer an HTTP request, seconds.",
    ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
RESULT_WRITES = Counter("assessment_hub_result_writes_total", "Results stored (PUT .../result).", ["tool"])
DELIVERY_ATTEMPTS = Counter(
    "assessment_hub_delivery_attempts_total", "Delivery attempts recorded.", ["kind", "outcome"]
)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(method, route, str(status)).inc()
    REQUEST_SECONDS.labels(method, route).observe(seconds)


def count_result_write(tool: str) -> None:
    RESULT_WRITES.labels(tool).inc()


def count_delivery_attempt(kind: str, outcome: str) -> None:
    DELIVERY_ATTEMPTS.labels(kind, outcome).inc()
