"""Fixtures: every test that takes ``hub`` runs against SQLite, and also against PostgreSQL when
``ASSESSMENT_HUB_TEST_POSTGRES_URL`` is set (an admin URL; a temporary database is created from it).

Tests are isolated by tenant: each creates its own API key and integration (``hub.new_tenant()``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import Hub, Tenant, running_hub, temporary_postgres_database

POSTGRES_URL = os.environ.get("ASSESSMENT_HUB_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgres"] if POSTGRES_URL else [])


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'hub.db'}"
    else:
        assert POSTGRES_URL
        with temporary_postgres_database(POSTGRES_URL) as url:
            yield url


@pytest.fixture(scope="session")
def hub(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    with running_hub(database_url, tmp_path_factory.mktemp("hub")) as running:
        yield running


@pytest.fixture
def tenant(hub: Hub) -> Tenant:
    """A fresh API key and sandbox integration with package 1001 published."""
    t = hub.new_tenant()
    t.publish("1001")
    return t


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    from tests.support import SHARED

    if not SHARED.is_dir():
        pytest.fail(f"../shared not found at {SHARED}; tests need the shared reference and cases")
    return SHARED
