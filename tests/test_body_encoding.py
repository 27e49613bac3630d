"""JSON bodies are UTF-8 (RFC 8259 §8.1), on every route that parses one (``kit.body.json_body``: the vendor
API, the admin API, Connect's create-link): another ``charset`` is a 415 naming it, a body that is not UTF-8
a 400 saying so, and a UTF-8 byte order mark is ignored. Found by a trial: ``charset=utf-16le`` was read as
UTF-8 and answered "key must be a string at line 1 column 2", a byte order mark "expected value"."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from assessment_hub.connectors.inbound import parse_body
from assessment_hub.kit.body import charset_problem
from tests.support import ADMIN_KEY, Tenant
from tests.test_errors import check

BOM = b"\xef\xbb\xbf"
RESULT = {"status": "COMPLETED", "result_url": "https://vendor.example/r/1", "score": 5, "remote_fields": {"é": 1}}


def _vendor(tenant: Tenant) -> tuple[httpx.Client, str, dict[str, Any]]:
    return tenant.client(), f"/assessment/orders/{tenant.create_order()}/result", RESULT


def _packages(tenant: Tenant) -> tuple[httpx.Client, str, dict[str, Any]]:
    body = {"packages": [{"id": "p1", "type": "SKILLS_TEST", "name": "Zoë's test", "description": "d"}]}
    return tenant.client(), "/assessment/packages", body


def _admin(tenant: Tenant) -> tuple[httpx.Client, str, dict[str, Any]]:
    client = tenant.hub.http("/admin", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    return client, "/integrations", {"tool": "sandbox", "organization_name": "Société"}


def _connect(tenant: Tenant) -> tuple[httpx.Client, str, dict[str, Any]]:
    client = tenant.hub.http("/v1", headers={"Authorization": f"Bearer {tenant.api_key}"})
    return client, "/connect/create-link", {"end_user_email": "a@b.example", "end_user_organization_name": "Société"}


ROUTES: dict[str, Callable[[Tenant], tuple[httpx.Client, str, dict[str, Any]]]] = {
    "result": _vendor,
    "packages": _packages,
    "admin": _admin,
    "connect": _connect,
}


def _send(client: httpx.Client, path: str, content: bytes, content_type: str) -> httpx.Response:
    method = "PUT" if path.startswith("/assessment/") else "POST"
    return client.request(method, path, content=content, headers={"Content-Type": content_type})


def _utf8(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    "charset,encoding",
    [("utf-16le", "utf-16-le"), ("UTF-16", "utf-16"), ("iso-8859-1", "latin-1"), ('"windows-1252"', "cp1252")],
)
def test_a_charset_other_than_utf8_is_a_415_naming_it(tenant: Tenant, route: str, charset: str, encoding: str) -> None:
    client, path, body = ROUTES[route](tenant)
    with client:
        text = json.dumps(body, ensure_ascii=False).encode(encoding)
        refused = _send(client, path, text, f"application/json; charset={charset}")
    check(refused, 415, mentions="must be UTF-8 JSON")
    assert charset.strip('"') in refused.json()["error"]["message"]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
        'application/json; charset="Utf-8"',
    ],
)
def test_utf8_and_no_charset_are_accepted(tenant: Tenant, route: str, content_type: str) -> None:
    client, path, body = ROUTES[route](tenant)
    with client:
        response = _send(client, path, _utf8(body), content_type)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("route", ROUTES)
def test_a_utf8_byte_order_mark_is_ignored(tenant: Tenant, route: str) -> None:
    client, path, body = ROUTES[route](tenant)
    with client:
        response = _send(client, path, BOM + _utf8(body), "application/json")
        assert response.status_code == 200, response.text
        check(_send(client, path, BOM, "application/json"), 400, mentions="empty")


def test_a_result_sent_with_a_byte_order_mark_is_stored_as_without(tenant: Tenant) -> None:
    """``remote_fields`` is kept as the text sent: the mark moves no offset of it."""
    order_id = tenant.create_order()
    remote_fields = '{"é" :  1.50}'
    body = '{"status": "COMPLETED", "result_url": "https://vendor.example/r/1", "remote_fields": ' + remote_fields + "}"
    with tenant.client() as client:
        sent = _send(client, f"/assessment/orders/{order_id}/result", BOM + body.encode(), "application/json")
        assert sent.status_code == 200, sent.text
        listed = client.get("/assessment/orders", params={"ids": order_id})
    assert '"remote_fields":' + remote_fields + ',"received_at":' in listed.text


@pytest.mark.parametrize(
    "content,mentions",
    [
        ('{"status": "COMPLETED", "label": "Zoë"}'.encode("latin-1"), "byte 0xEB at offset 36 is not valid UTF-8"),
        ('{"status": "COMPLETED"}'.encode("utf-16-le"), "looks like UTF-16"),
        ('{"status": "COMPLETED"}'.encode("utf-16"), "UTF-16 or UTF-32 byte order mark"),
        ('{"status": "COMPLETED"}'.encode("utf-32-be"), "looks like UTF-16 or UTF-32"),
    ],
    ids=["latin-1", "utf-16le", "utf-16-bom", "utf-32be"],
)
@pytest.mark.parametrize("route", ROUTES)
def test_a_body_that_is_not_utf8_is_a_400_saying_so(tenant: Tenant, route: str, content: bytes, mentions: str) -> None:
    client, path, _ = ROUTES[route](tenant)
    with client:
        check(_send(client, path, content, "application/json"), 400, mentions=mentions)


def test_invalid_json_in_utf8_keeps_its_parse_message(tenant: Tenant) -> None:
    client, path, _ = _vendor(tenant)
    with client:
        check(_send(client, path, b'{"status": \x00}', "application/json"), 400, mentions="is not valid JSON")
        check(_send(client, path, '{"a": "é",}'.encode(), "application/json"), 400, mentions="is not valid JSON")


def test_charset_problem() -> None:
    assert charset_problem("application/json") is None
    assert charset_problem("application/json; charset=utf8") is None
    assert charset_problem("application/json; boundary=x; CHARSET = UTF-8 ") is None
    assert "charset='utf-16'" in (charset_problem("application/json; charset=utf-16") or "")
    assert "charset=''" in (charset_problem("application/json; charset=") or "")
    assert len(charset_problem("application/json; charset=" + "x" * 10_000) or "") < 300


def test_the_ats_routes_ignore_a_byte_order_mark_too() -> None:
    """The connectors' inbound routes read their body with ``connectors.inbound.parse_body`` (or ``json.loads``
    of the bytes, which is what it does): a UTF-8 byte order mark is ignored there as well."""

    class Body(BaseModel):
        a: str

    parsed, data = parse_body(BOM + '{"a": "é"}'.encode(), Body)
    assert parsed.a == "é" and data == {"a": "é"}
