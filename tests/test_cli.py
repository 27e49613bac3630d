"""The CLI contract: command names, and the new value alone on the last line of stdout."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy.pool import NullPool

from tests.support import ADMIN_KEY, Hub, free_port, key_env

pytestmark = pytest.mark.subprocess

CLI = [sys.executable, "-m", "assessment_hub.cli"]


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(CLI + args, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def last_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_create_commands_and_serve(database_url: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "ASSESSMENT_HUB_DATABASE_URL": database_url,
        "ASSESSMENT_HUB_ATTACHMENTS_DIR": str(tmp_path / "att"),
        **key_env(database_url),
    }
    assert run(["migrate"], env, tmp_path).returncode == 0
    key = last_line(run(["api-keys", "create", "--name", "ci"], env, tmp_path))
    assert re.fullmatch(r"ahk_[A-Za-z0-9]{40}", key)
    integration = last_line(
        run(["integrations", "create", "--tool", "sandbox", "--organization", "Acme"], env, tmp_path)
    )
    assert re.fullmatch(r"sandbox:[A-Za-z0-9]{24}", integration)

    unknown_tool = run(["integrations", "create", "--tool", "nope", "--organization", "Acme"], env, tmp_path)
    assert (
        unknown_tool.returncode != 0 and "known tools" in unknown_tool.stderr and "Traceback" not in unknown_tool.stderr
    )
    unpublished = run(["sandbox", "create-order", "--integration", integration, "--package", "1001"], env, tmp_path)
    assert unpublished.returncode != 0 and "not published" in unpublished.stderr

    port = free_port()
    server = subprocess.Popen(
        CLI + ["serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}/v1"
        headers = {"Authorization": f"Bearer {key}", "X-Integration-Id": integration}
        for _ in range(200):
            try:
                httpx.get(f"{base}/check-api-key", headers=headers, timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read()
                time.sleep(0.1)
        put = httpx.put(
            f"{base}/assessment/packages",
            headers=headers,
            json={"packages": [{"id": "1001", "type": "SKILLS_TEST", "name": "T", "description": "d"}]},
        )
        assert put.status_code == 200
        order_id = last_line(
            run(
                [
                    "sandbox",
                    "create-order",
                    "--integration",
                    integration,
                    "--package",
                    "1001",
                    "--email",
                    "ada@example.com",
                ],
                env,
                tmp_path,
            )
        )
        listed = httpx.get(f"{base}/assessment/orders", headers=headers).json()["data"]["results"]
        assert [(o["id"], o["candidate"]["email"]) for o in listed] == [(order_id, "ada@example.com")]
        assert listed[0]["job"]["hiring_team"] and listed[0]["job"]["job_code"]
    finally:
        server.terminate()
        server.wait(timeout=20)


def session_processes(leader: subprocess.Popen) -> dict[int, str]:
    """Every process of the session ``leader`` started (``start_new_session``): pid -> command line."""
    listed = subprocess.run(["ps", "-o", "pid=,args=", "-s", str(leader.pid)], capture_output=True, text=True)
    return {int(pid): args for pid, _, args in (line.strip().partition(" ") for line in listed.stdout.splitlines())}


def postgres_application_names(database_url: str) -> list[str]:
    """``application_name`` of every connection to ``database_url``'s database but this one, sorted (PostgreSQL)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(database_url).set(drivername="postgresql+psycopg")
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            names = conn.scalars(
                text("SELECT application_name FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()"),
                {"db": url.database},
            )
            return sorted(names)
    finally:
        engine.dispose()


@dataclass
class Served:
    """What ``serve_and_write_back`` saw: serve (exited), its output, its processes while it served (pid ->
    command line), the pid of the process that delivered the write-back (from its attempt's ``worker_id``,
    host:pid:thread), and on PostgreSQL the ``application_name`` of each of its connections (else empty)."""

    server: subprocess.Popen
    output: str
    processes: dict[int, str]
    delivered_by: int
    application_names: list[str]


def serve_and_write_back(
    database_url: str, tmp_path: Path, *serve_args: str, extra_env: dict[str, str] | None = None
) -> Served:
    """``serve *serve_args`` (``extra_env`` added to its environment) in a session of its own: a result's
    write-back reaches the sandbox ATS, every request answered (several, so several API processes answer);
    then SIGTERM stops every process of the session (``Served``)."""
    env = {
        **os.environ,
        "ASSESSMENT_HUB_DATABASE_URL": database_url,
        "ASSESSMENT_HUB_ATTACHMENTS_DIR": str(tmp_path / "att"),
        **key_env(database_url),
        **(extra_env or {}),
    }
    assert run(["migrate"], env, tmp_path).returncode == 0
    key = last_line(run(["api-keys", "create", "--name", "ci"], env, tmp_path))
    integration = last_line(
        run(["integrations", "create", "--tool", "sandbox", "--organization", "Acme"], env, tmp_path)
    )
    port = free_port()
    server = subprocess.Popen(
        CLI + ["serve", "--port", str(port), *serve_args],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}/v1"
        headers = {"Authorization": f"Bearer {key}", "X-Integration-Id": integration}
        for _ in range(300):
            try:
                if httpx.get(f"{base}/check-api-key", headers=headers, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, server.stdout.read()
            time.sleep(0.1)
        put = httpx.put(
            f"{base}/assessment/packages",
            headers=headers,
            json={"packages": [{"id": "1001", "type": "SKILLS_TEST", "name": "T", "description": "d"}]},
        )
        assert put.status_code == 200, put.text
        order_id = last_line(
            run(["sandbox", "create-order", "--integration", integration, "--package", "1001"], env, tmp_path)
        )
        with httpx.Client(headers=headers, timeout=10) as client:  # several requests: every API process answers
            for _ in range(10):
                listed = client.get(f"{base}/assessment/orders").json()["data"]["results"]
                assert [o["id"] for o in listed] == [order_id]
        result = httpx.put(
            f"{base}/assessment/orders/{order_id}/result",
            headers=headers,
            json={"status": "COMPLETED", "result_url": "https://vendor.example/r/1", "score": 80, "max_score": 100},
        )
        assert result.status_code == 200, result.text
        deadline = time.monotonic() + 30
        while True:
            shown = json.loads(run(["sandbox", "show-order", order_id], env, tmp_path).stdout)
            if shown["writebacks"]:
                break
            assert time.monotonic() < deadline, f"no write-back delivered: {shown}"
            time.sleep(0.3)
        assert shown["status"] == "COMPLETED"
        processes = session_processes(server)
        names = [] if database_url.startswith("sqlite") else postgres_application_names(database_url)
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert "Traceback" not in output, output
    # every process of the session (API processes, delivery worker) is gone
    # (multiprocessing's resource tracker exits on its own just after its parent)
    deadline = time.monotonic() + 10
    while (leftover := session_processes(server)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not leftover, leftover
    listed = json.loads(run(["deliveries", "list", "--order", order_id, "--json"], env, tmp_path).stdout)
    (writeback,) = [d for d in listed if d["kind"] == "writeback"]
    attempts = json.loads(run(["deliveries", "show", str(writeback["id"])], env, tmp_path).stdout)["attempt_log"]
    assert [a["outcome"] for a in attempts] == ["succeeded"], attempts
    return Served(server, output, processes, int(attempts[0]["worker_id"].split(":")[1]), names)


def test_serve_with_several_api_processes_and_one_delivery_worker(database_url: str, tmp_path: Path) -> None:
    """``serve --workers 2``: two API processes answer, the one delivery worker process delivers a result's
    write-back to the sandbox ATS, and SIGTERM stops every process (API and worker) cleanly."""
    served = serve_and_write_back(database_url, tmp_path, "--workers", "2")
    output = served.output
    assert served.server.returncode == 0, output
    assert "2 API processes" in output and "delivery worker process" in output
    assert "delivery worker stopped" in output


def test_a_killed_serve_with_several_api_processes_leaves_none_serving(tmp_path: Path) -> None:
    """SIGKILL to ``serve --workers 2`` (its supervisor: no chance to stop anything): its API processes and
    its delivery worker stop by themselves (``supervise.stop_with_supervisor``, ``die_with_parent``) and the
    port is free for the next ``serve``. Before, the API processes kept serving, orphaned."""
    env = {**os.environ, "ASSESSMENT_HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'k.db'}"}
    port = free_port()
    server = subprocess.Popen(
        CLI + ["serve", "--port", str(port), "--workers", "2"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while len(session_processes(server)) < 4 or not _answers(f"http://127.0.0.1:{port}/health"):
            assert server.poll() is None and time.monotonic() < deadline, "serve --workers 2 did not come up"
            time.sleep(0.2)
        os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
        deadline = time.monotonic() + 20
        while (left := session_processes(server)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not left, left
        assert not _answers(f"http://127.0.0.1:{port}/health")
    finally:
        subprocess.run(["pkill", "-KILL", "-s", str(server.pid)], check=False)


def test_a_delivery_worker_that_dies_is_started_again(tmp_path: Path) -> None:
    """``serve --workers 2`` runs its delivery worker as a process of its own; SIGKILL to that worker
    (an OOM kill, a crash) is reported and a new worker process takes its place (``supervise.WorkerKeeper``),
    and SIGTERM still stops everything with status 0. Before, the API kept serving with no worker, silently:
    write-backs stopped while the unit looked healthy."""
    env = {**os.environ, "ASSESSMENT_HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}"}
    port = free_port()
    server = subprocess.Popen(
        CLI + ["serve", "--port", str(port), "--workers", "2"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )

    def workers() -> list[int]:
        return [pid for pid, args in session_processes(server).items() if args.endswith("-m assessment_hub.cli worker")]

    try:
        deadline = time.monotonic() + 60
        while not workers() or not _answers(f"http://127.0.0.1:{port}/health"):
            assert server.poll() is None and time.monotonic() < deadline, "serve --workers 2 did not come up"
            time.sleep(0.2)
        (first,) = workers()
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while not (now := workers()) or now == [first]:
            assert server.poll() is None and time.monotonic() < deadline, "no new delivery worker process"
            time.sleep(0.2)
        (second,) = now
        assert second != first
        assert _answers(f"http://127.0.0.1:{port}/health")
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert server.returncode == 0, output
    assert (
        f"the delivery worker process (pid {first}) was killed by SIGKILL (signal 9); starting a new one in 1 s"
        in output
    )
    assert f"delivery worker process started again (pid {second})" in output
    deadline = time.monotonic() + 10
    while (leftover := session_processes(server)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not leftover, leftover


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@pytest.mark.parametrize("args", [(), ("--worker-in-process",)], ids=["default", "worker-in-process"])
def test_serve_runs_the_worker_apart_on_postgres_and_inside_on_sqlite(
    own_database_url: str, tmp_path: Path, args: tuple[str, ...]
) -> None:
    """``serve`` (``--workers 1``): on PostgreSQL one API process and one delivery worker process, which
    delivers the write-back; on SQLite, or with ``--worker-in-process``, one process, whose worker delivers
    it (cli._one_process; on SQLite ``--worker-in-process`` is accepted and changes nothing). Either way
    SIGTERM is a graceful stop with exit status 0 (the single process exited 143 before), and the delivery
    worker prints the same start and stop lines as ``assessment-hub worker`` (the in-process one printed
    none). On PostgreSQL every connection names its process in ``application_name``. A
    ``WORKER_METRICS_PORT`` in the environment is for a ``worker`` started alone: ``serve``'s worker serves
    no metrics of its own (its counters are in the API's ``/metrics``; its start line names no metrics URL)."""
    metrics_port = free_port()
    served = serve_and_write_back(
        own_database_url, tmp_path, *args, extra_env={"ASSESSMENT_HUB_WORKER_METRICS_PORT": str(metrics_port)}
    )
    server, output, processes = served.server, served.output, served.processes
    assert server.returncode == 0, (server.returncode, output)
    assert output.count(" started (concurrency 8)") == 1 and output.count("delivery worker stopped") == 1, output
    assert "metrics at" not in output and not _answers(f"http://127.0.0.1:{metrics_port}/metrics"), output
    if own_database_url.startswith("postgresql") and not args:
        worker_pid = int(re.search(r"1 API process; one delivery worker process \(pid (\d+)\)", output).group(1))
        assert sorted(processes) == sorted([server.pid, worker_pid]), processes
        assert processes[worker_pid].endswith("-m assessment_hub.cli worker"), processes
        assert served.delivered_by == worker_pid
        assert re.search(rf"delivery worker [^ ]+:{worker_pid}:\d+ started \(concurrency 8\)", output), output
        # the API process: its main pool, the event loop's reads, the write slots; the worker: its pool, LISTEN
        assert set(served.application_names) == {
            f"assessment-hub-api:{server.pid}",
            f"assessment-hub-worker:{worker_pid}",
        }
        assert served.application_names.count(f"assessment-hub-worker:{worker_pid}") >= 2, served.application_names
    else:
        assert list(processes) == [server.pid], processes
        assert "with a delivery worker" in output and "delivery worker process" not in output, output
        assert served.delivered_by == server.pid
        assert re.search(rf"delivery worker [^ ]+:{server.pid}:\d+ started \(concurrency 8\)", output), output
        if own_database_url.startswith("postgresql"):
            assert set(served.application_names) == {f"assessment-hub-api+worker:{server.pid}"}


def test_first_start_prints_credentials_and_a_working_snippet(tmp_path: Path) -> None:
    env = {**os.environ, "ASSESSMENT_HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}"}
    port = free_port()
    server = subprocess.Popen(
        CLI + ["serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = []
        for line in server.stdout:
            lines.append(line)
            if "serving" in line:
                break
        output = "".join(lines)
        key = re.search(r"API key:\s+(\S+)", output).group(1)
        integration = re.search(r"Integration id:\s+(\S+)", output).group(1)
        snippet = output[output.index("from kombo import Kombo") : output.index("  Then place")]
        done = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert "1001" in done.stdout
        assert integration.startswith("sandbox:") and key.startswith("ahk_")
        # the admin key printed with them signs in to the console, whose URL is printed too
        admin_key = re.search(r"Admin key:\s+(\S+)", output).group(1)
        assert f"http://127.0.0.1:{port}/console" in output
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            refused = client.post("/console/login", data={"admin_key": key})  # a vendor key is not the admin key
            assert refused.status_code == 401
            signed_in = client.post("/console/login", data={"admin_key": admin_key})
            assert signed_in.status_code == 303 and "ahub_console=" in signed_in.headers["set-cookie"]
            overview = client.get("/console")
            assert overview.status_code == 200 and "Sandbox Org" in overview.text
            assert (
                client.get("/admin/integrations", headers={"Authorization": f"Bearer {admin_key}"}).status_code == 200
            )
    finally:
        server.terminate()
        server.wait(timeout=20)
    # A second start finds the database populated and prints no new credentials.
    again = subprocess.Popen(
        CLI + ["serve", "--port", str(free_port())],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        first = again.stdout.readline()
        assert "serving" in first and "API key" not in first
        assert "/console" in again.stdout.readline()
    finally:
        again.terminate()
        again.wait(timeout=20)


def test_bad_configuration_is_reported_not_traced(tmp_path: Path) -> None:
    env = {**os.environ, "ASSESSMENT_HUB_DATABASE_URL": "mysql://x"}
    result = run(["migrate"], env, tmp_path)
    assert result.returncode == 2
    assert "ASSESSMENT_HUB_DATABASE_URL" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("variable, value", [("DB_POOL_TIMEOUT_S", "nan"), ("RETRY_BASE_S", "inf")])
def test_a_duration_that_is_not_finite_is_refused_by_name(tmp_path: Path, variable: str, value: str) -> None:
    """Found in review: nan was refused as "should be less than or equal to 300", and inf was accepted
    where a setting had no upper bound (a retry waiting forever)."""
    env = {
        **os.environ,
        "ASSESSMENT_HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'f.db'}",
        f"ASSESSMENT_HUB_{variable}": value,
    }
    err = failed(run(["migrate"], env, tmp_path), 2)
    assert err.strip() == f"error: ASSESSMENT_HUB_{variable}: Input should be a finite number", err


def failed(result: subprocess.CompletedProcess, code: int | None = None) -> str:
    """stderr of a command that failed cleanly (no traceback, ``code`` if given)."""
    assert result.returncode != 0, result.stdout
    if code is not None:
        assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr
    return result.stderr


@pytest.mark.parametrize(
    "url, shown, reason",
    [
        (
            "postgresql://hub:s3cret@127.0.0.1:{closed}/hub",
            "postgresql+psycopg://hub:***@127.0.0.1:{closed}/hub",
            "refused",
        ),
        ("sqlite:////proc/nope/x.db", "sqlite:////proc/nope/x.db", "No such file or directory"),
    ],
)
def test_a_database_that_cannot_be_opened_is_one_line_exit_2(tmp_path: Path, url: str, shown: str, reason: str) -> None:
    closed = free_port()  # nothing listens there
    env = {**os.environ, "ASSESSMENT_HUB_DATABASE_URL": url.format(closed=closed)}
    for command in (["migrate"], ["api-keys", "list"], ["deliveries", "list"], ["worker"]):
        err = failed(run(command, env, tmp_path), 2)
        assert err.startswith(f"error: cannot open the database at {shown.format(closed=closed)}: "), err
        assert reason in err and "s3cret" not in err and len(err.strip().splitlines()) == 1, err


def test_a_missing_postgres_database_is_reported(database_url: str, tmp_path: Path) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    missing = database_url.rsplit("/", 1)[0] + "/assessment_hub_no_such_db"
    err = failed(run(["migrate"], {**os.environ, "ASSESSMENT_HUB_DATABASE_URL": missing}, tmp_path), 2)
    assert "cannot open the database at" in err and "assessment_hub_no_such_db" in err and "does not exist" in err


@pytest.mark.parametrize("url", ["sqlite:///:memory:", "sqlite://"])
def test_an_in_memory_database_is_refused(tmp_path: Path, url: str) -> None:
    err = failed(run(["migrate"], {**os.environ, "ASSESSMENT_HUB_DATABASE_URL": url}, tmp_path), 2)
    assert "ASSESSMENT_HUB_DATABASE_URL" in err and "in-memory" in err


def test_production_without_secret_key_names_the_variable_once(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "ASSESSMENT_HUB_ENVIRONMENT": "production",
        "ASSESSMENT_HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
    }
    env.pop("ASSESSMENT_HUB_SECRET_KEY", None)
    err = failed(run(["migrate"], env, tmp_path), 2)
    assert err.startswith("error: ASSESSMENT_HUB_SECRET_KEY is required in production"), err
    assert "ASSESSMENT_HUB_:" not in err and "Value error" not in err


def test_serve_refuses_a_bad_or_busy_port(tmp_path: Path) -> None:
    env = {**os.environ, "ASSESSMENT_HUB_DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}"}
    for bad in ("0", "99999"):
        result = run(["serve", "--port", bad], env, tmp_path)
        assert result.returncode == 2 and "--port" in result.stderr and "serving" not in result.stdout
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = subprocess.run(
            CLI + ["serve", "--port", str(port)], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
        )
    err = failed(result, 1)
    assert "serving" not in result.stdout and "already in use" in err and str(port) in err


def test_worker_in_process_help_says_sqlite_always_runs_it_there() -> None:
    shown = subprocess.run(
        CLI + ["serve", "--help"], capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "200"}
    )
    assert shown.returncode == 0, shown.stderr
    text = " ".join(shown.stdout.replace("│", " ").split())
    assert (
        "On SQLite `serve` (--workers 1) always runs it there, so the option is accepted and changes nothing." in text
    ), text


def test_serve_refuses_worker_in_process_beside_other_processes_or_no_worker(tmp_path: Path) -> None:
    env = {**os.environ, "ASSESSMENT_HUB_DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}"}
    for contradicting in (["--workers", "2"], ["--no-worker"]):
        result = run(["serve", "--worker-in-process", *contradicting], env, tmp_path)
        assert result.returncode == 2 and "--worker-in-process" in result.stderr, result.stderr
        assert "serving" not in result.stdout and not (tmp_path / "s.db").exists()


def cli_env(hub: Hub, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "ASSESSMENT_HUB_DATABASE_URL": hub.settings.database_url,
        "ASSESSMENT_HUB_ATTACHMENTS_DIR": str(tmp_path / "att"),
        **key_env(hub.settings.database_url),
        "ASSESSMENT_HUB_LOOKUP_CACHE_S": f"{hub.settings.lookup_cache_s:g}",
        **extra,
    }
    env.pop("ASSESSMENT_HUB_PUBLIC_BASE_URL", None)
    return env


def test_empty_and_malformed_values_are_refused(hub: Hub, tmp_path: Path) -> None:
    env = cli_env(hub, tmp_path)
    tenant = hub.new_tenant()
    tenant.publish("1001")
    cases = [
        (["api-keys", "create", "--name", ""], "--name"),
        (["api-keys", "create", "--name", "  "], "--name"),
        (["integrations", "create", "--tool", "sandbox", "--organization", ""], "--organization"),
        (["integrations", "create", "--tool", "sandbox", "--organization", " "], "--organization"),
        (
            ["sandbox", "create-order", "--integration", tenant.integration_id, "--package", "1001", "--email", ""],
            "--email",
        ),
        (["webhooks", "create", "--url", "http://"], "url"),
        (["webhooks", "create", "--url", "https:///path"], "url"),
        (["webhooks", "create", "--url", "ftp://example.com/x"], "url"),
        (["deliveries", "list", "--state", "bogus"], "pending"),
    ]
    for bad in ("ada", "ada@example", "a b@example.com", "a@b@example.com", "@example.com", "ada@.com"):
        cases.append(
            (
                [
                    "sandbox",
                    "create-order",
                    "--integration",
                    tenant.integration_id,
                    "--package",
                    "1001",
                    "--email",
                    bad,
                ],
                "--email",
            )
        )
    for args, mentions in cases:
        err = failed(run(args, env, tmp_path))
        assert mentions in err, (args, err)
    with hub.http(headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as admin:
        for url in ("http://", "https:///x", "http://:80/"):
            response = admin.post("/admin/webhooks", json={"url": url})
            assert response.status_code == 400 and "url" in response.json()["error"]["message"], response.text
        assert admin.get("/admin/webhooks").status_code == 200
    # The refused create-order commands created nothing.
    orders = tenant.client().get("/assessment/orders").json()["data"]["results"]
    assert orders == []


def test_seed_checks_status_and_package_and_prints_one_rate(hub: Hub, tmp_path: Path) -> None:
    env = cli_env(hub, tmp_path)
    tenant = hub.new_tenant()
    tenant.publish("1001")
    seed = ["sandbox", "seed", "--integration", tenant.integration_id, "--count", "3"]
    err = failed(run(seed + ["--package", "1001", "--status", "BOGUS"], env, tmp_path))
    assert "OPEN, COMPLETED, CANCELLED, REJECTED" in err
    err = failed(run(seed + ["--package", "nope"], env, tmp_path))
    assert "not published" in err
    done = run(seed + ["--package", "1001", "--status", "completed"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"\d+\n", done.stdout), done.stdout  # the rate alone, as the README promises
    assert re.fullmatch(r"seeded 3 orders at [\d,]+ orders/s\n", done.stderr)
    # The SDK lists what was seeded (an invalid status used to break its response parsing).
    page = tenant.sdk().assessment.get_assessment_orders(statuses=["COMPLETED"])
    assert [o.status for o in page.result.data.results] == ["COMPLETED"] * 3
    # More than one batch: progress on stderr, the one rate alone on stdout.
    many = run(
        ["sandbox", "seed", "--integration", tenant.integration_id, "--package", "1001", "--count", "5001"],
        env,
        tmp_path,
    )
    assert many.returncode == 0, many.stderr
    assert re.fullmatch(r"\d+\n", many.stdout)
    assert "5000/5001" in many.stderr and "5001/5001" not in many.stderr


def test_api_keys_list_and_revoke(hub: Hub, tmp_path: Path) -> None:
    env = cli_env(hub, tmp_path)
    key = last_line(run(["api-keys", "create", "--name", "to revoke"], env, tmp_path))
    tenant = hub.new_tenant()
    headers = {"Authorization": f"Bearer {key}", "X-Integration-Id": tenant.integration_id}
    api = hub.http("/v1")
    assert api.get("/check-api-key", headers=headers).status_code == 200

    listing = run(["api-keys", "list", "--json"], env, tmp_path)
    assert listing.returncode == 0, listing.stderr
    (mine,) = [k for k in json.loads(listing.stdout) if k["prefix"] == key[:10]]
    assert mine["name"] == "to revoke" and mine["revoked_at"] is None and mine["created_at"]
    table = run(["api-keys", "list"], env, tmp_path)
    assert mine["id"] in table.stdout and key not in table.stdout and key not in listing.stdout

    revoked = run(["api-keys", "revoke", mine["id"]], env, tmp_path)
    assert revoked.returncode == 0 and "revoked" in revoked.stdout, revoked.stderr
    assert f"within {hub.settings.lookup_cache_s:g} s" in revoked.stdout
    # The server cached the key when it was used above: it refuses it within lookup_cache_s (docs/configuration.md).
    deadline = time.monotonic() + hub.settings.lookup_cache_s + 5
    while api.get("/check-api-key", headers=headers).status_code != 401:
        assert time.monotonic() < deadline, "the revoked key was still accepted after LOOKUP_CACHE_S"
        time.sleep(0.1)
    assert api.get("/assessment/orders", headers=headers).status_code == 401
    (after,) = [
        k for k in json.loads(run(["api-keys", "list", "--json"], env, tmp_path).stdout) if k["id"] == mine["id"]
    ]
    assert after["revoked_at"]
    again = run(["api-keys", "revoke", mine["id"]], env, tmp_path)
    assert again.returncode == 0 and "already revoked" in again.stdout
    assert failed(run(["api-keys", "revoke", "nope"], env, tmp_path), 1).startswith("error: No API key")
    # Other keys keep working.
    assert api.get("/check-api-key", headers=tenant.headers).status_code == 200


def test_ats_integration_warns_when_public_base_url_is_unset(hub: Hub, tmp_path: Path) -> None:
    env = cli_env(hub, tmp_path)
    args = ["integrations", "create", "--tool", "greenhouse", "--organization", "Acme", "--json"]
    unset = run(args, env, tmp_path)
    assert unset.returncode == 0, unset.stderr
    assert "warning:" in unset.stderr and "ASSESSMENT_HUB_PUBLIC_BASE_URL" in unset.stderr
    assert unset.stdout.count("\n") == 1 and "http://127.0.0.1:8000" in unset.stdout  # stdout: the JSON alone
    quiet = run(args, {**env, "ASSESSMENT_HUB_PUBLIC_BASE_URL": "https://hub.example.com"}, tmp_path)
    assert quiet.returncode == 0 and quiet.stderr == "" and "https://hub.example.com" in quiet.stdout
    sandbox = run(["integrations", "create", "--tool", "sandbox", "--organization", "Acme"], env, tmp_path)
    assert sandbox.returncode == 0 and sandbox.stderr == ""
