"""``assessment-hub worker --metrics-port``: a worker started on its own serves its own counters for Prometheus.

The real ``worker`` command as a subprocess on a database of this test alone (``own_database_url``: no
other hub's worker takes its rows), a vendor webhook receiver on loopback; orders created here queue an
``order-received`` webhook each, the worker delivers it, and its ``/metrics`` counts the attempt.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import sessionmaker

from assessment_hub.assessment.schemas import PackageIn
from assessment_hub.assessment.service import set_packages
from assessment_hub.config import Settings
from assessment_hub.connecting import create_integration
from assessment_hub.connectors.sandbox.orders import create_sandbox_order
from assessment_hub.db.engine import build_engine
from assessment_hub.db.migrate import upgrade
from assessment_hub.db.session import unit_of_work
from assessment_hub.webhooks.service import create_endpoint
from tests.receiver import VendorReceiver
from tests.support import free_port, key_env, key_settings, serve_in_thread, wait_until

pytestmark = pytest.mark.subprocess

CLI = [sys.executable, "-m", "assessment_hub.cli"]
ATTEMPTS = "assessment_hub_delivery_attempts_total"


def scrape(url: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """The metric families at ``url``: name -> {sorted label pairs -> value}, one entry per sample (a
    counter's ``_total`` samples under its name without ``_created``)."""
    response = httpx.get(url, timeout=5)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain"), response.headers
    families: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(response.text):
        samples = families.setdefault(family.name, {})
        for sample in family.samples:
            if not sample.name.endswith("_created"):
                samples[tuple(sorted(sample.labels.items()))] = sample.value
    return families


def attempts(url: str) -> dict[tuple[tuple[str, str], ...], float]:
    families = scrape(url)
    assert "assessment_hub_delivery_attempts" in families, sorted(families)  # the family, declared before any count
    return families["assessment_hub_delivery_attempts"]


def webhook_succeeded(count: float) -> dict[tuple[tuple[str, str], ...], float]:
    return {(("kind", "webhook"), ("outcome", "succeeded")): count}


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def assert_only_get_and_head_of_metrics(url: str) -> None:
    """``GET``/``HEAD /metrics`` answer the metrics (``HEAD``: the same headers, no body); another path is a
    404 and another method on ``/metrics`` a 405 (``Allow: GET, HEAD``), each one line of plain text."""
    base = url.removesuffix("/metrics")
    with httpx.Client(timeout=5) as client:
        get = client.get(url)
        head = client.head(url)
        assert head.status_code == 200 and head.content == b"", (head.status_code, head.content[:200])
        assert head.headers["content-type"] == get.headers["content-type"]
        assert int(head.headers["content-length"]) > 0
        assert client.get(f"{url}?name[]=process_resident_memory_bytes").text.count("# TYPE") == 1
        for path in ("/", "/metrics/", "/other", "/favicon.ico", "/metricsx"):
            for method in ("GET", "POST", "HEAD"):
                response = client.request(method, f"{base}{path}")
                assert response.status_code == 404, (method, path, response.status_code, response.text[:200])
                assert response.headers["content-type"] == "text/plain; charset=utf-8"
                if method != "HEAD":
                    assert response.text == "not found; the metrics are at GET /metrics\n"
        for method in ("POST", "PUT", "DELETE", "OPTIONS", "PATCH"):
            response = client.request(method, url)
            assert response.status_code == 405, (method, response.status_code, response.text[:200])
            assert response.headers["allow"] == "GET, HEAD"
            assert response.headers["content-type"] == "text/plain; charset=utf-8"
            assert response.text == "method not allowed; use GET or HEAD\n"


def worker_env(database_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "ASSESSMENT_HUB_DATABASE_URL": database_url,
        "ASSESSMENT_HUB_ATTACHMENTS_DIR": str(tmp_path / "att"),
        **key_env(database_url),
    }
    for name in (
        "PROMETHEUS_MULTIPROC_DIR",
        "ASSESSMENT_HUB_WORKER_METRICS_PORT",
        "ASSESSMENT_HUB_WORKER_METRICS_HOST",
    ):
        env.pop(name, None)
    env.update(extra)
    return env


def refused_worker(args: list[str], database: Path, tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    """``assessment-hub worker ARGS`` on the SQLite file ``database``, run to its end (these refuse to start)."""
    return subprocess.run(
        CLI + ["worker", *args],
        env=worker_env(f"sqlite:///{database}", tmp_path, **extra),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_worker_alone_serves_its_delivery_counters(own_database_url: str, tmp_path: Path) -> None:
    """Scraped before any delivery: the counter family with no sample (``GET``/``HEAD /metrics`` only: other
    paths 404, other methods 405); after one order's webhook is
    delivered: ``{kind="webhook",outcome="succeeded"} 1``, after a second one 2. The start line names the
    metrics URL; SIGTERM stops the worker (exit 0) and frees the port."""
    settings = Settings(
        database_url=own_database_url, attachments_dir=tmp_path / "att", **key_settings(own_database_url)
    )
    engine = build_engine(settings)
    upgrade(engine)
    sessions = sessionmaker(engine, expire_on_commit=False)
    receiver = VendorReceiver()
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    with serve_in_thread(receiver.app()) as base:
        receiver.url = f"{base}/hooks"
        with unit_of_work(sessions) as session:
            integration = create_integration(session, "sandbox", "Metrics Org")
            set_packages(session, integration.id, [PackageIn(id="1001", name="T", description="d", type="SKILLS_TEST")])
            _, receiver.secret = create_endpoint(session, settings.cipher, receiver.url)
        worker = subprocess.Popen(
            CLI + ["worker", "--metrics-port", str(port)],
            env=worker_env(own_database_url, tmp_path),
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:

            def up() -> bool:
                assert worker.poll() is None, worker.communicate()[0]
                return answers(url)

            wait_until(up, timeout=60, what="the worker's metrics server")
            families = scrape(url)
            assert attempts(url) == {}, families
            assert "process_resident_memory_bytes" in families  # the process's own series come along
            assert "assessment_hub_outbox_backlog" not in families  # the database's gauges stay on the API's /metrics
            assert_only_get_and_head_of_metrics(url)

            for count in (1, 2):
                with unit_of_work(sessions) as session:
                    create_sandbox_order(session, integration.id, "1001", seed=count)
                wait_until(lambda n=count: attempts(url) == webhook_succeeded(n), timeout=30, what=f"{count} attempts")
            assert len(receiver.received) == 2 and receiver.all_verified()
        finally:
            worker.send_signal(signal.SIGTERM)
            output = worker.communicate(timeout=30)[0]
    engine.dispose()
    assert worker.returncode == 0, output
    assert "Traceback" not in output, output
    assert re.search(rf"delivery worker \S+ started \(concurrency 8; metrics at {re.escape(url)}\)", output), output
    assert "delivery worker stopped" in output, output
    assert not answers(url)
    with socket.socket() as again:  # nothing listens there once the worker has stopped: a server may take the port
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # the scrapes' connections linger in TIME_WAIT
        again.bind(("127.0.0.1", port))
        again.listen()


@pytest.mark.parametrize("how", ["option", "setting"])
def test_a_metrics_port_in_use_is_one_line_and_exit_2(tmp_path: Path, how: str) -> None:
    """Refused before the database is touched (no SQLite file is created), one line on stderr, no traceback,
    no start line; the same for the option and for ``ASSESSMENT_HUB_WORKER_METRICS_PORT``."""
    database = tmp_path / "w.db"
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        extra = {"ASSESSMENT_HUB_WORKER_METRICS_PORT": str(port)} if how == "setting" else {}
        args = ["--metrics-port", str(port)] if how == "option" else []
        result = refused_worker(args, database, tmp_path, **extra)
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert result.stderr.strip() == (
        f"error: cannot serve metrics on 127.0.0.1:{port}: the port is already in use (another worker or server "
        "is listening there?); choose another --metrics-port (or ASSESSMENT_HUB_WORKER_METRICS_PORT)"
    ), result.stderr
    assert "started" not in result.stdout and not database.exists()


def test_an_address_not_on_this_machine_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """192.0.2.1 (TEST-NET-1) is no interface of this machine: the one line names the options to check."""
    database = tmp_path / "w.db"
    result = refused_worker(["--metrics-port", str(free_port()), "--metrics-host", "192.0.2.1"], database, tmp_path)
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    err = result.stderr.strip()
    assert err.startswith("error: cannot serve metrics on 192.0.2.1:") and "--metrics-host" in err, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err and not database.exists()


@pytest.mark.parametrize(
    "args, variable, value, message",
    [
        (["--metrics-port", "0"], None, None, "--metrics-port"),
        (["--metrics-port", "65536"], None, None, "--metrics-port"),
        ([], "ASSESSMENT_HUB_WORKER_METRICS_PORT", "0", "ASSESSMENT_HUB_WORKER_METRICS_PORT"),
        ([], "ASSESSMENT_HUB_WORKER_METRICS_HOST", " ", "ASSESSMENT_HUB_WORKER_METRICS_HOST: must not be empty"),
    ],
)
def test_bad_metrics_values_are_refused_by_name(
    tmp_path: Path, args: list[str], variable: str | None, value: str | None, message: str
) -> None:
    extra = {variable: value} if variable and value is not None else {}
    result = refused_worker(args, tmp_path / "w.db", tmp_path, **extra)
    assert result.returncode == 2 and message in result.stderr, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr and "started" not in result.stdout
