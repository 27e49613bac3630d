"""Schemathesis against the live hub (SQLite, and PostgreSQL when configured): every operation of its own
/openapi.json, with generated requests (valid ones from the schemas, with the vendor's or operator's key
and a real integration), must answer no 5xx and only responses that match the documented schemas.

Run size (docs/api.md): at most ``MAX_EXAMPLES`` generated requests per operation, and as many again with
ids that exist for the operations that take an order or integration id (DELETEs left out), no shrinking, a
fixed seed; about 40 operations, i.e. under ~700 requests per database. Nothing generated may make the hub call out of
this machine: the operations that register outbound destinations (webhook endpoints, integrations with
URLs) are left out, and ``data_url`` attachments are replaced by inline ``data``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings

from tests.conftest import POSTGRES_URL
from tests.support import ADMIN_KEY, Hub, running_hub, temporary_postgres_database

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is in the test extra")
from schemathesis import checks  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.live]

MAX_EXAMPLES = 12
LEFT_OUT = {
    ("POST", "/admin/webhooks"): "registers a destination the worker would then send events to",
    ("POST", "/admin/integrations"): "an integration's settings may name URLs the hub calls (writeback_url)",
    ("POST", "/v1/connect/create-link"): "not needed: covered by tests/test_connect.py",
}
CHECKS = [checks.not_a_server_error, checks.response_schema_conformance]


@pytest.fixture(scope="module")
def fuzzed_hub(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    # its own hub process on a database of its own: generated calls share neither a hub nor rows with other
    # tests (in a full run, rows other tests left made responses this run did not expect)
    work = tmp_path_factory.mktemp("fuzzed")
    if database_url.startswith("sqlite"):
        with running_hub(f"sqlite:///{work / 'fuzzed.db'}", work, allow_private_network=False) as hub:
            yield hub
        return
    assert POSTGRES_URL
    with (
        temporary_postgres_database(POSTGRES_URL) as url,
        running_hub(url, work, allow_private_network=False) as hub,
    ):
        yield hub


def _offline(body: Any) -> Any:
    """``body`` with every attachment's ``data_url`` swapped for inline ``data`` (no download from anywhere)."""
    if isinstance(body, dict):
        attachments = body.get("attachments")
        if isinstance(attachments, list):
            for item in attachments:
                if isinstance(item, dict) and "data_url" in item:
                    item.pop("data_url")
                    item.setdefault("data", "aGVsbG8=")
                    item.setdefault("content_type", "text/plain")
    return body


def _fuzz(
    operation: Any,
    base_url: str,
    headers: dict[str, str],
    failures: list[str],
    path: dict[str, str] | None = None,
    calls: list[int] | None = None,
) -> None:
    """Up to ``MAX_EXAMPLES`` generated requests to ``operation`` (``path``: fixed path parameters), each
    response checked; failures recorded."""

    @seed(20261201)
    @settings(
        max_examples=MAX_EXAMPLES,
        phases=[Phase.explicit, Phase.generate],
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(path_parameters=path))
    def run(case: Any) -> None:
        case.body = _offline(case.body)
        if case.headers:
            case.headers.pop("X-Integration-Id", None)
            case.headers.pop("Authorization", None)
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        if calls is not None:
            calls.append(response.status_code)
        try:
            case.validate_response(response, checks=CHECKS)
        except Exception as exc:  # schemathesis' FailureGroup: record it, go on with the others
            failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {exc}"[:2000])

    run()


def test_generated_requests_get_no_server_error_and_match_the_schema(fuzzed_hub: Hub) -> None:
    tenant = fuzzed_hub.new_tenant()
    tenant.publish("1001")
    orders = [tenant.create_order("1001") for _ in range(3)]
    known = {"assessment_order_id": orders[0], "order_id": orders[1], "integration_id": tenant.integration_id}
    schema = schemathesis.openapi.from_url(f"{fuzzed_hub.base_url}/openapi.json")
    vendor = {"Authorization": f"Bearer {tenant.api_key}", "X-Integration-Id": tenant.integration_id}
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    failures: list[str] = []
    tried: list[str] = []
    calls: list[int] = []
    with httpx.Client(timeout=30) as probe:
        assert probe.get(f"{fuzzed_hub.base_url}/openapi.json").status_code == 200
    for result in schema.get_all_operations():
        operation = result.ok()
        key = (operation.method.upper(), operation.path)
        if key in LEFT_OUT:
            continue
        tried.append(f"{key[0]} {key[1]}")
        headers = admin if operation.path.startswith("/admin") else vendor
        _fuzz(operation, fuzzed_hub.base_url, headers, failures, calls=calls)
        names = {p.name for p in operation.path_parameters}
        if names and names <= known.keys() and key[0] != "DELETE":  # again with ids that exist: 200s checked too
            _fuzz(operation, fuzzed_hub.base_url, headers, failures, {n: known[n] for n in names}, calls)

    assert len(tried) >= 30, tried
    print(f"schemathesis: {len(calls)} requests to {len(tried)} operations, {calls.count(200)} answered 200")
    assert len(calls) >= 10 * len(tried) and calls.count(200) >= 50, (len(calls), calls.count(200))
    assert not failures, f"{len(failures)} failing responses:\n" + "\n\n".join(failures[:10])
