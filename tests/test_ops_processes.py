"""Operating the hub as an operator runs it: ``assessment-hub serve`` as a subprocess on a database of its
own, its log stream (stderr) captured. Request ids in access lines, error envelopes and the delivery lines
they caused; no secret, key or candidate email in any log line; metrics added up over serve's processes."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.receiver import VendorReceiver
from tests.support import free_port, serve_in_thread, wait_until

pytestmark = pytest.mark.subprocess

CLI = [sys.executable, "-m", "assessment_hub.cli"]
RESULT_ROUTE = "/v1/assessment/orders/{assessment_order_id}/result"


def cli(args: list[str], env: dict[str, str], cwd: Path) -> str:
    """Run a CLI command; its last stdout line."""
    done = subprocess.run(CLI + args, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def hub_env(database_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    from assessment_hub.kit.crypto import generate_key

    env = {
        "ASSESSMENT_HUB_SECRET_KEY": generate_key(),  # every process of one hub shares it (required on PostgreSQL)
        **os.environ,
        "ASSESSMENT_HUB_DATABASE_URL": database_url,
        "ASSESSMENT_HUB_ATTACHMENTS_DIR": str(tmp_path / "att"),
        "ASSESSMENT_HUB_ALLOW_PRIVATE_NETWORK": "true",
        "ASSESSMENT_HUB_RETRY_BASE_S": "0.2",
        "ASSESSMENT_HUB_RETRY_CAP_S": "1",
        "ASSESSMENT_HUB_WORKER_POLL_S": "0.05",
        "ASSESSMENT_HUB_DELIVERY_TIMEOUT_S": "2",
        "ASSESSMENT_HUB_WORKER_LEASE_S": "5",
        "ASSESSMENT_HUB_WORKER_HEARTBEAT_S": "0.5",
        **extra,
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


@contextmanager
def served(env: dict[str, str], cwd: Path, *args: str) -> Iterator[tuple[str, dict[str, Path]]]:
    """``assessment-hub serve`` on a free port until the block ends (SIGTERM); yields its base URL and the
    files its stdout and stderr go to (read them after the block: the process has exited then)."""
    port = free_port()
    streams = {"stdout": cwd / "serve.out", "stderr": cwd / "serve.err"}
    with streams["stdout"].open("w") as out, streams["stderr"].open("w") as err:
        server = subprocess.Popen(
            CLI + ["serve", "--port", str(port), *args],
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                assert server.poll() is None, streams["stderr"].read_text()
                try:
                    if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "serve did not answer /health"
                time.sleep(0.1)
            yield base, streams
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def json_lines(path: Path) -> list[dict]:
    """Every line of the log stream, each one JSON object (LOG_FORMAT=json)."""
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"a log line is not JSON: {line!r}") from None
    return parsed


def test_request_ids_follow_a_request_and_no_secret_is_logged(own_database_url: str, tmp_path: Path) -> None:
    from assessment_hub.kit.crypto import generate_key

    admin_key = "adm-" + secrets.token_urlsafe(24)
    secret_key = generate_key()
    env = hub_env(
        own_database_url,
        tmp_path,
        ASSESSMENT_HUB_ENVIRONMENT="production",
        ASSESSMENT_HUB_SECRET_KEY=secret_key,
        ASSESSMENT_HUB_ADMIN_API_KEY=admin_key,
        ASSESSMENT_HUB_LOG_FORMAT="json",
        ASSESSMENT_HUB_LOG_LEVEL="DEBUG",
    )
    cli(["migrate"], env, tmp_path)
    api_key = cli(["api-keys", "create", "--name", "ops"], env, tmp_path)
    integration = cli(["integrations", "create", "--tool", "sandbox", "--organization", "Acme"], env, tmp_path)
    email = f"grace.hopper.{secrets.token_hex(4)}@example.org"
    receiver = VendorReceiver(answer=(503, json.dumps({"error": f"unknown candidate {email}"})))
    with serve_in_thread(receiver.app()) as receiver_base, served(env, tmp_path) as (base, streams):
        admin = {"Authorization": f"Bearer {admin_key}"}
        vendor = {"Authorization": f"Bearer {api_key}", "X-Integration-Id": integration}
        hook = httpx.post(f"{base}/admin/webhooks", headers=admin, json={"url": f"{receiver_base}/hooks"})
        assert hook.status_code == 200, hook.text
        webhook_secret = hook.json()["data"]["secret"]
        packages = {"packages": [{"id": "1001", "type": "SKILLS_TEST", "name": "T", "description": "d"}]}
        assert httpx.put(f"{base}/v1/assessment/packages", headers=vendor, json=packages).status_code == 200
        order = httpx.post(
            f"{base}/admin/sandbox/{integration}/orders",
            headers={**admin, "X-Request-Id": "order-req-1"},
            json={"package_id": "1001", "email": email},
        )
        assert order.status_code == 200, order.text
        order_id = order.json()["data"]["id"]
        wait_until(lambda: len(receiver.received) >= 1, what="the first (refused) webhook attempt")
        receiver.answer = (200, "{}")
        wait_until(lambda: len(receiver.received) >= 2, timeout=20, what="the webhook to be retried")

        result = httpx.put(
            f"{base}/v1/assessment/orders/{order_id}/result",
            headers={**vendor, "X-Request-Id": "result-req-1"},
            json={"status": "COMPLETED", "result_url": "https://vendor.example/r/1", "score": 1},
        )
        assert result.status_code == 200 and result.headers["x-request-id"] == "result-req-1", result.text
        bad = httpx.get(f"{base}/v1/assessment/orders?page_size=0", headers={**vendor, "X-Request-Id": "bad-req-1"})
        assert bad.status_code == 400 and bad.json()["error"]["log_url"] == "urn:assessment-hub:request:bad-req-1"
        wrong_key = httpx.get(f"{base}/v1/check-api-key", headers={"Authorization": "Bearer ahk_" + "x" * 40})
        assert wrong_key.status_code == 401

        def written_back() -> bool:
            shown = httpx.get(f"{base}/admin/sandbox/orders/{order_id}", headers=admin).json()["data"]
            return bool(shown["writebacks"])

        wait_until(written_back, what="the result's write-back")
        time.sleep(0.3)  # the delivery line is written just after the attempt is recorded
    lines = json_lines(streams["stderr"])
    access = [line for line in lines if line.get("event") == "request"]
    deliveries = [line for line in lines if line.get("event") == "delivery_attempt"]

    (put_line,) = [line for line in access if line.get("request_id") == "result-req-1"]
    assert put_line["route"] == RESULT_ROUTE and put_line["status"] == 200 and put_line["method"] == "PUT"
    assert put_line["path"] == f"/v1/assessment/orders/{order_id}/result" and put_line["duration_ms"] >= 0
    (bad_line,) = [line for line in access if line.get("request_id") == "bad-req-1"]
    assert bad_line["status"] == 400
    assert any(line["request_id"] == "order-req-1" and line["status"] == 200 for line in access)

    writebacks = [line for line in deliveries if line["kind"] == "writeback" and line["order_id"] == order_id]
    assert writebacks and all(line["request_id"] == "result-req-1" for line in writebacks), writebacks
    assert writebacks[-1]["outcome"] == "succeeded"
    hooks = [line for line in deliveries if line["kind"] == "webhook" and line["order_id"] == order_id]
    assert [line["outcome"] for line in hooks][:2] == ["retry", "succeeded"], hooks
    assert all(line["request_id"] == "order-req-1" for line in hooks)
    assert hooks[0]["level"] == "warning" and hooks[0]["http_status"] == 503

    everything = streams["stderr"].read_text() + streams["stdout"].read_text()
    for secret in (api_key, admin_key, secret_key, webhook_secret, email, "ahk_" + "x" * 40):
        assert secret not in everything, f"{secret[:6]}... was logged"
    assert email.lower() not in everything.lower()


def scrape(base: str) -> dict[tuple[str, tuple], float]:
    response = httpx.get(f"{base}/metrics", timeout=10)
    assert response.status_code == 200
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def sample(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.mark.parametrize("workers", ["2", "1"])
def test_metrics_add_up_over_the_processes_of_serve(own_database_url: str, tmp_path: Path, workers: str) -> None:
    """``serve --workers 2``: counters of both API processes and of the delivery worker process are in every
    scrape, whichever process answers it. ``--workers 1``: on PostgreSQL the delivery worker is a process of
    its own there too, and its counters are in the API process's scrape (on SQLite it is in the API process)."""
    env = hub_env(own_database_url, tmp_path)
    cli(["migrate"], env, tmp_path)
    api_key = cli(["api-keys", "create", "--name", "ops"], env, tmp_path)
    integration = cli(["integrations", "create", "--tool", "sandbox", "--organization", "Acme"], env, tmp_path)
    with served(env, tmp_path, "--workers", workers) as (base, streams):
        vendor = {"Authorization": f"Bearer {api_key}", "X-Integration-Id": integration}
        with httpx.Client(headers=vendor, timeout=10) as client:
            packages = {"packages": [{"id": "1001", "type": "SKILLS_TEST", "name": "T", "description": "d"}]}
            assert client.put(f"{base}/v1/assessment/packages", json=packages).status_code == 200
            for _ in range(20):  # new connections: both processes answer some
                assert httpx.get(f"{base}/v1/check-api-key", headers=vendor).status_code == 200
            order_id = cli(
                ["sandbox", "create-order", "--integration", integration, "--package", "1001"], env, tmp_path
            )
            result = client.put(
                f"{base}/v1/assessment/orders/{order_id}/result",
                json={"status": "COMPLETED", "result_url": "https://vendor.example/r/1", "score": 3},
            )
            assert result.status_code == 200, result.text
        wait_until(
            lambda: (
                sample(scrape(base), "assessment_hub_delivery_attempts_total", kind="writeback", outcome="succeeded")
                >= 1
            ),
            timeout=30,
            what="the worker process's write-back attempt in /metrics",
        )
        # the write-back attempt was counted by the delivery worker, another process than the one answering
        for _ in range(12):  # new connections: scrapes answered by both API processes
            with httpx.Client() as fresh:
                response = fresh.get(f"{base}/metrics")
            samples = {
                (s.name, tuple(sorted(s.labels.items()))): s.value
                for family in text_string_to_metric_families(response.text)
                for s in family.samples
            }
            assert (
                sample(
                    samples, "assessment_hub_http_requests_total", method="GET", route="/v1/check-api-key", status="200"
                )
                >= 20
            )
            assert (
                sample(samples, "assessment_hub_http_requests_total", method="PUT", route=RESULT_ROUTE, status="200")
                == 1
            )
            assert sample(samples, "assessment_hub_result_writes_total", tool="sandbox") == 1
            assert sample(samples, "assessment_hub_delivery_attempts_total", kind="writeback", outcome="succeeded") >= 1
            assert sample(samples, "assessment_hub_workers_alive") >= 1
            assert sample(samples, "assessment_hub_outbox_backlog", kind="writeback", state="pending") == 0
            assert sample(samples, "assessment_hub_database_up") == 1
    assert "Traceback" not in streams["stderr"].read_text()
