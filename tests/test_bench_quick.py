"""The benchmark harness produces every figure (values, not goals, are checked).

Runs ``bench/run.py --quick`` for real against loopback servers.  No
wall-clock assertion: only that each figure was produced and is positive.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.harness import Figure, Report, WrkUnavailable, ensure_wrk  # noqa: E402

CEILING_FIGURES = {
    f"ceiling_{kind}_{what}" for kind in ("get", "put", "attachment") for what in ("rps", "p50_ms", "p99_ms")
} | {"ceiling_attachment_peak_rss_mb", "ceiling_rss_after_mb"}


@pytest.fixture(scope="module")
def wrk() -> str:
    try:
        return ensure_wrk(install=True)
    except WrkUnavailable as exc:
        pytest.skip(f"wrk is not available and could not be installed: {exc}")


def run_bench(out: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run.py"), "--quick", "--out", str(out), *args],
        capture_output=True,
        text=True,
        timeout=400,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
    )
    results = out / "results.json"
    assert results.exists(), f"no results.json; exit {proc.returncode}\n{proc.stderr[-3000:]}"
    return proc, json.loads(results.read_text())


def assert_all_produced(data: dict, names: set[str] | None = None) -> dict[str, dict]:
    figures = {f["name"]: f for f in data["figures"]}
    if names is not None:
        assert names <= set(figures), f"missing figures: {sorted(names - set(figures))}"
    not_produced = {n: f["note"] for n, f in figures.items() if not f["produced"]}
    assert not not_produced, f"figures not produced: {not_produced}"
    for name, f in figures.items():
        assert f["value"] is not None, name
        # throughputs, memory and seeding rates are positive; a delivery latency
        # or a backlog slope may legitimately be 0
        if name.endswith(("_rps", "_mb", "_rate")) or name.startswith("ceiling_"):
            assert f["value"] > 0, f"{name} = {f['value']!r}"
        elif not name.endswith("_backlog_slope"):
            assert f["value"] >= 0, f"{name} = {f['value']!r}"
    return figures


@pytest.mark.bench
def test_quick_ceiling_produces_every_figure(tmp_path: Path, wrk: str) -> None:
    proc, data = run_bench(tmp_path, "--only", "ceiling")
    assert proc.returncode == 0, proc.stderr[-3000:]
    figures = assert_all_produced(data, CEILING_FIGURES)
    assert set(figures) == CEILING_FIGURES
    md = (tmp_path / "RESULTS.md").read_text()
    assert "| figure | value | baseline | ratio | goal |" in md
    for key in ("date:", "git commit:", "cores"):
        assert key in md
    assert data["machine"]["cores"] >= 1 and data["git_commit"]


@pytest.mark.timeout(420)
@pytest.mark.bench
def test_quick_hub_produces_every_figure(tmp_path: Path, wrk: str) -> None:
    """``make bench-quick``: every figure of every group, against the real hub (`serve` from this
    checkout, via ``python -m assessment_hub.cli``), on SQLite -- and on PostgreSQL when
    ASSESSMENT_HUB_TEST_POSTGRES_URL is set. Values are checked to exist, never against goals."""
    dbs = "sqlite,postgres" if os.environ.get("ASSESSMENT_HUB_TEST_POSTGRES_URL") else "sqlite"
    proc, data = run_bench(tmp_path, "--databases", dbs)
    assert proc.returncode == 0, proc.stderr[-3000:]
    figures = assert_all_produced(data)
    for db in dbs.split(","):
        for prefix in ("writes", "listing", "depth", "delivery", "memory", "attachment") + (
            ("scaleout",) if db == "postgres" else ()
        ):
            assert any(n.startswith(f"{prefix}_{db}_") for n in figures), (prefix, db)
        assert figures[f"writes_{db}_cpu_ms_per_result"]["value"] > 0
    assert figures["writes_sqlite_rps"]["baseline_name"] == "ceiling_put_rps"
    assert figures["writes_sqlite_rps"]["ratio"] is not None


@pytest.mark.bench
def test_missing_hub_is_reported_not_hidden(tmp_path: Path, wrk: str) -> None:
    proc, data = run_bench(
        tmp_path, "--only", "ceiling,listing", "--databases", "sqlite", "--hub-cli", "/nonexistent/assessment-hub"
    )
    assert proc.returncode == 2
    figures = {f["name"]: f for f in data["figures"]}
    assert figures["ceiling_get_rps"]["produced"]
    assert not figures["listing_sqlite_rps"]["produced"] and figures["listing_sqlite_rps"]["note"]
    assert "not produced" in (tmp_path / "RESULTS.md").read_text()


def test_figure_ratio_and_goal() -> None:
    f = Figure("writes_x_rps", 400.0, "req/s", baseline=1000.0, goal=">= 0.35")
    assert f.ratio == pytest.approx(0.4) and f.met is True
    g = Figure("memory_x_rss_mb", 350.0, "MB", goal="<= 300", goal_on="value")
    assert g.ratio is None and g.met is False
    m = Figure.missing("depth_x_deep_p50_ms", "ms", "hub not ready", goal="<= 1.5")
    assert not m.produced and m.met is None
    r = Report("quick")
    for fig in (f, g, m):
        r.add(fig)
    md = r.markdown()
    assert "not produced" in md and "hub not ready" in md
    assert [x.name for x in r.missing()] == ["depth_x_deep_p50_ms"]
