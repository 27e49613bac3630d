"""The hub's own OpenAPI document describes the API as it is: bodies, envelopes, errors, security, headers;
/docs and /redoc work offline; and a client generated from /openapi.json by a standard generator
(openapi-python-client) does the vendor's round trip."""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import Hub, Tenant

INTERNAL = re.compile(r"§|kombo-contract|app\.state|``")


@pytest.fixture(scope="module")
def spec(app_hub: Hub) -> dict[str, Any]:
    with app_hub.http() as client:
        response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, ops in spec["paths"].items() for method, op in ops.items()]


def test_no_validation_error_the_api_never_returns(spec: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in str(spec)
    for method, path, op in _operations(spec):
        assert op.get("summary"), (method, path)
        assert not INTERNAL.search(op.get("description", "")), (method, path, op["description"])


def test_bodies_envelopes_and_errors_are_schemas(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    for method, path, op in _operations(spec):
        takes_body = method in ("put", "post") and path.startswith(("/v1/assessment", "/admin"))
        if takes_body and "{delivery_id}" not in path and not path.endswith(("/deactivate", "/activate", "/reset")):
            body = op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
            assert body in schemas, (method, path)
        if path.startswith(("/v1/", "/admin")):
            ok = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
            assert set(schemas[ok]["required"]) == {"status", "data", "warnings"}, (method, path)
            for status in ("401", "414", "500"):
                error = op["responses"][status]["content"]["application/json"]["schema"]["$ref"]
                assert error == "#/components/schemas/ErrorEnvelope", (method, path, status)
    envelope = schemas["ErrorDetail"]
    assert set(envelope["required"]) == {"code", "title", "message", "log_url"}
    assert "PLATFORM.CONCURRENCY_LIMIT_EXCEEDED" in envelope["properties"]["code"]["enum"]
    result = spec["paths"]["/v1/assessment/orders/{assessment_order_id}/result"]["put"]
    assert {"400", "401", "404", "413", "415", "429", "500"} <= set(result["responses"])
    assert "Retry-After" in result["responses"]["429"]["headers"]
    assert "Concurrency-Remaining" in result["responses"]["200"]["headers"]
    page = schemas["OrderPage"]["properties"]["results"]["items"]["$ref"].rsplit("/", 1)[1]
    assert {"id", "package_id", "status", "candidate", "application", "job"} <= set(schemas[page]["required"])


def test_security_and_integration_header_are_declared(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}
    assert schemes["adminAuth"]["scheme"] == "bearer"
    for method, path, op in _operations(spec):
        names = [p["name"].lower() for p in op.get("parameters", [])]
        assert "authorization" not in names, (method, path)
        if path.startswith("/v1/"):
            assert op["security"] == [{"bearerAuth": []}], (method, path)
        if path.startswith("/admin"):
            assert op["security"] == [{"adminAuth": []}], (method, path)
        if path.startswith("/v1/assessment"):
            (header,) = [p for p in op["parameters"] if p["name"] == "X-Integration-Id"]
            assert header["in"] == "header" and header["required"] is True


def test_inbound_routes_are_tagged_per_ats(spec: dict[str, Any]) -> None:
    tags = {path: op["tags"] for _, path, op in _operations(spec) if path.startswith("/connectors/")}
    from assessment_hub.connectors.registry import CONNECTORS

    assert tags and all(t == [f"{CONNECTORS[path.split('/')[2]].label} (inbound)"] for path, t in tags.items())
    start = spec["paths"]["/connectors/ashby/{connection}/assessment.start"]["post"]
    assert "requestBody" in start and "409" in start["responses"]


INBOUND_BODIES = {
    ("ashby", "/assessment.start"): "assessment_hub.connectors.ashby.schemas:StartIn",
    ("greenhouse", "/send_test"): "assessment_hub.connectors.greenhouse.schemas:SendTestIn",
    ("teamtailor", "/webhook"): "assessment_hub.connectors.teamtailor.schemas:WebhookBody",
    ("smartrecruiters", "/packages/orders"): "assessment_hub.connectors.smartrecruiters.schemas:OrderIn",
    ("workable", "/assessments"): "assessment_hub.connectors.workable.schemas:AssessmentIn",
    ("recruitee", "/send_candidate"): "assessment_hub.connectors.recruitee.schemas:SendCandidate",
    ("lever", "/webhook"): "assessment_hub.connectors.lever.schemas:Delivery",
}


def _inline(schema: Any, defs: dict[str, Any]) -> Any:
    """``schema`` with every ``$ref`` replaced by the definition it names in ``defs``."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            return _inline(defs[schema["$ref"].rsplit("/", 1)[1]], defs)
        return {k: _inline(v, defs) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_inline(v, defs) for v in schema]
    return schema


def test_every_inbound_route_is_described_and_takes_its_own_ats_body(spec: dict[str, Any]) -> None:
    """Each connector's inbound routes carry a summary and a description (``inbound_documented``), and each
    ATS's request body is that ATS's model: models that share a name (Lever's ``Delivery`` and the admin API's,
    every ATS's ``CandidateIn``) never point at one another's schema."""
    from pydantic import TypeAdapter

    for _, path, op in _operations(spec):
        if path.startswith("/connectors/"):
            assert op.get("summary") and op.get("description"), path
    schemas = spec["components"]["schemas"]
    for (tool, route), target in INBOUND_BODIES.items():
        op = spec["paths"][f"/connectors/{tool}/{{connection}}{route}"]["post"]
        documented = _inline(op["requestBody"]["content"]["application/json"]["schema"], schemas)
        module, name = target.split(":")
        own = TypeAdapter(getattr(importlib.import_module(module), name)).json_schema(mode="validation")
        assert documented == _inline({k: v for k, v in own.items() if k != "$defs"}, own.get("$defs", {})), tool
    for tool, status in (("workable", "201"), ("smartrecruiters", "202")):  # the success status each ATS expects
        route = "/assessments" if tool == "workable" else "/packages/orders"
        assert status in spec["paths"][f"/connectors/{tool}/{{connection}}{route}"]["post"]["responses"]


def test_docs_and_redoc_load_their_assets_from_the_hub(hub: Hub) -> None:
    client = hub.http()
    for page, assets in (("/docs", ("swagger-ui-bundle.js", "swagger-ui.css")), ("/redoc", ("redoc.standalone.js",))):
        html = client.get(page)
        assert html.status_code == 200 and "text/html" in html.headers["content-type"]
        sources = re.findall(r'(?:src|href)="([^"]+)"', html.text)
        assert sources and all(s.startswith("/") for s in sources), sources  # nothing from a CDN
        for asset in assets:
            assert f"/docs/assets/{asset}" in sources
            served = client.get(f"/docs/assets/{asset}")
            assert served.status_code == 200 and len(served.content) > 10_000
    assert client.get("/docs/assets/..%2Fapp.py").status_code == 404
    client.close()


# ------------------------------------------------------------------------------ a generated client


def _generator() -> str | None:
    beside = Path(sys.executable).parent / "openapi-python-client"
    return str(beside) if beside.exists() else shutil.which("openapi-python-client")


@pytest.mark.live
@pytest.mark.subprocess
def test_client_generated_from_openapi_json_does_the_round_trip(
    hub: Hub, tenant: Tenant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generator = _generator()
    if generator is None:
        pytest.skip("openapi-python-client is not installed (pip install -e '.[test]')")
    (tmp_path / "openapi.json").write_bytes(httpx.get(f"{hub.base_url}/openapi.json", timeout=30).content)
    (tmp_path / "config.yaml").write_text("post_hooks: []\n")
    generated = subprocess.run(
        [generator, "generate", "--path", "openapi.json", "--meta", "none", "--output-path", "hubclient"]
        + ["--config", "config.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    monkeypatch.syspath_prepend(str(tmp_path))
    client_module = importlib.import_module("hubclient")
    models = importlib.import_module("hubclient.models")
    publish = importlib.import_module("hubclient.api.assessment.publish_packages")
    list_orders = importlib.import_module("hubclient.api.assessment.list_orders")
    report = importlib.import_module("hubclient.api.assessment.report_a_result")

    client = client_module.AuthenticatedClient(base_url=hub.api_url.removesuffix("/v1"), token=tenant.api_key)
    package = models.PackageIn(id="2001", name="Generated", description="from the generated client")
    package.type_ = models.PackageInTypeType0.SKILLS_TEST
    published = publish.sync(
        client=client, body=models.PackagesIn(packages=[package]), x_integration_id=tenant.integration_id
    )
    assert isinstance(published, models.SuccessEmpty), published

    order_id = tenant.create_order("2001")
    page = list_orders.sync(client=client, x_integration_id=tenant.integration_id, ids=order_id)
    assert isinstance(page, models.SuccessOrderPage), page
    (order,) = page.data.results
    assert (order.id, order.package_id, order.status.value) == (order_id, "2001", "OPEN")
    assert order.candidate.email

    body = models.ResultIn(status=models.ResultInStatus.COMPLETED, result_url="https://vendor.example/r/1")
    body.score, body.max_score = 9, 10
    stored = report.sync_detailed(order_id, client=client, body=body, x_integration_id=tenant.integration_id)
    assert stored.status_code == 200 and isinstance(stored.parsed, models.SuccessEmpty), stored.content
    assert int(stored.headers["Concurrency-Remaining"]) >= 0

    again = list_orders.sync(client=client, x_integration_id=tenant.integration_id, ids=order_id)
    (done,) = again.data.results
    assert done.status.value == "COMPLETED" and done.result.score == 9 and done.result.revision == 1

    refused = report.sync(order_id + "x", client=client, body=body, x_integration_id=tenant.integration_id)
    assert isinstance(refused, models.ErrorEnvelope) and refused.error.code.value == "PLATFORM.INPUT_INVALID"
