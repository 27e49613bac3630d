"""Fixtures and test tiers.

Every test that takes ``hub`` (or ``tenant``) runs against SQLite, and also against PostgreSQL when
``ASSESSMENT_HUB_TEST_POSTGRES_URL`` is set (an admin URL; a temporary database is created from it).
``hub`` is the hub in this process (``tests.support.in_process_hub``: no socket, the delivery worker
running); a test marked ``live`` gets the hub served by uvicorn on loopback instead (``live_hub``, on a
database of its own), for what only a real socket shows: other processes or servers calling the hub,
concurrent connections, client time-outs.

Markers (registered in pyproject.toml, ``--strict-markers``), applied here where they follow from the
fixtures a test takes, else in the test module:
- ``live``: a hub served by uvicorn (taking ``live_hub`` marks it; ``@pytest.mark.live`` asks for it);
- ``subprocess``: runs the CLI or another program as a child process;
- ``bench``: the benchmark smoke (``bench/`` run for real);
- ``browser``: drives Debian's chromium through playwright (taking ``browser`` marks it, and ``live``);
- ``postgres``: the PostgreSQL run of a test (the ``postgres`` backend parameter, or PostgreSQL-only);
- ``fakes``: the fake ATSs' self-checks (``tests/fakes``), run with the (live) connector tests they serve.
``make test-fast`` runs the rest; ``make test`` runs everything.

Tests are isolated by tenant: each creates its own API key and integration (``hub.new_tenant()``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from assessment_hub.config import Settings
from assessment_hub.db.engine import build_engine
from tests.support import Hub, Tenant, in_process_hub, key_settings, running_hub, temporary_postgres_database

POSTGRES_URL = os.environ.get("ASSESSMENT_HUB_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgres"] if POSTGRES_URL else [])


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "browser" in fixtures:  # tests/browser.py: the page loads the hub over a socket
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.live)
        if "live_hub" in fixtures:
            item.add_marker(pytest.mark.live)
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("backend") == "postgres":
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """``sqlite`` or ``postgres``: the database every hub fixture of this run uses."""
    return request.param


def _database(backend: str, tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp(name) / 'hub.db'}"
    else:
        assert POSTGRES_URL
        with temporary_postgres_database(POSTGRES_URL) as url:
            yield url


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The database of the in-process ``hub`` (empty until a hub migrates it)."""
    yield from _database(backend, tmp_path_factory, "sqlite")


@pytest.fixture(params=BACKENDS)
def own_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database for this test alone, on each backend (a subprocess's worker must not deliver other tests'
    rows, nor another hub's worker this test's)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'own.db'}"
    else:
        assert POSTGRES_URL
        with temporary_postgres_database(POSTGRES_URL) as url:
            yield url


@pytest.fixture
def engine(own_database_url: str, tmp_path: Path) -> Iterator[Engine]:
    """An engine on ``own_database_url`` (not migrated: the test migrates it to the revision it needs)."""
    built = build_engine(
        Settings(database_url=own_database_url, attachments_dir=tmp_path / "att", **key_settings(own_database_url))
    )
    try:
        yield built
    finally:
        built.dispose()


@pytest.fixture(scope="session")
def app_hub(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """The hub in this process: API and delivery worker, requests through ``Hub.http()``."""
    with in_process_hub(database_url, tmp_path_factory.mktemp("hub")) as hub:
        yield hub


@pytest.fixture(scope="session")
def live_hub(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """The hub served by uvicorn on a loopback port, on a database of its own (one delivery worker per
    database, as in production)."""
    for url in _database(backend, tmp_path_factory, "live-sqlite"):
        with running_hub(url, tmp_path_factory.mktemp("live-hub")) as hub:
            yield hub


@pytest.fixture
def hub(request: pytest.FixtureRequest, backend: str) -> Hub:
    """The in-process hub, or the live one for a test marked ``live``."""
    return request.getfixturevalue("live_hub" if request.node.get_closest_marker("live") else "app_hub")


@pytest.fixture
def tenant(hub: Hub) -> Tenant:
    """A fresh API key and sandbox integration with package 1001 published."""
    t = hub.new_tenant()
    t.publish("1001")
    return t
