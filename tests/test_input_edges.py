"""Inputs at the edges (found by a user trial): each gets a clear 400, never a 500, on both databases."""

from __future__ import annotations

import base64
import decimal
import json
import time

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import Response

from assessment_hub.kit.body import NUMBER_RULE
from tests.support import Hub, Tenant, serve_in_thread
from tests.test_errors import check

BASE = {"status": "COMPLETED", "result_url": "https://vendor.example/r/1", "completed_at": "2024-01-01T00:00:00Z"}


@pytest.mark.parametrize(
    "body,mentions",
    [
        ({**BASE, "score": int("1" + "0" * 309)}, "score"),
        ({**BASE, "completed_at": "9999-12-31T23:59:59-01:00"}, "completed_at"),
        ({**BASE, "completed_at": "0001-01-01T00:00:00+01:00"}, "completed_at"),
        ({**BASE, "result_url": "javascript:alert(1)"}, "result_url"),
        ({**BASE, "result_url": "data:text/html,hi"}, "result_url"),
        ({**BASE, "attributes": [{"type": "TEXT", "label": "a", "value": "nul\u0000here"}]}, "NUL"),
        ({**BASE, "remote_fields": {"x": "\u0000"}}, "NUL"),
    ],
)
def test_result_body_edges(tenant: Tenant, body: dict, mentions: str) -> None:
    order_id = tenant.create_order()
    check(tenant.put_result(order_id, body), 400, mentions=mentions)
    assert tenant.order(order_id)["result"] is None


@pytest.mark.parametrize(
    "fragment",
    [
        '"remote_fields": {"x": NaN}',
        '"remote_fields": {"x": [1, -Infinity]}',
        '"remote_fields": {"x": {"y": 1e400}}',
        '"score": Infinity',
    ],
)
def test_non_finite_numbers_are_refused(tenant: Tenant, fragment: str) -> None:
    """Found by a trial: NaN in remote_fields was stored on SQLite and then made every listing page holding the
    order answer 500 (PostgreSQL refused it with a 500)."""
    order_id = tenant.create_order()
    body = '{"status": "COMPLETED", "result_url": "https://vendor.example/r/1", ' + fragment + "}"
    with tenant.client() as client:
        check(
            client.put(
                f"/assessment/orders/{order_id}/result", content=body, headers={"Content-Type": "application/json"}
            ),
            400,
            mentions="finite",
        )
        assert client.get("/assessment/orders").status_code == 200
    assert tenant.order(order_id)["result"] is None
    text_only = '{"status": "COMPLETED", "result_url": "https://v.example/1", "remote_fields": {"x": "NaN e999"}}'
    with tenant.client() as client:
        assert (
            client.put(
                f"/assessment/orders/{order_id}/result", content=text_only, headers={"Content-Type": "application/json"}
            ).status_code
            == 200
        )


def test_nul_in_urls_and_created_after_out_of_range(tenant: Tenant) -> None:
    with tenant.client() as client:
        check(client.get("/assessment/orders?ids=a%00b"), 400, mentions="NUL")
        check(client.put("/assessment/orders/a%00b/result", json=BASE), 400, mentions="NUL")
        check(
            client.get("/assessment/orders", params={"created_after": "9999-12-31T23:59:59-01:00"}),
            400,
            mentions="created_after",
        )
        check(
            client.put("/assessment/packages", json={"packages": [{"id": "a\u0000", "name": "n", "description": "d"}]}),
            400,
            mentions="NUL",
        )


def test_repeated_query_parameters_mean_all_their_values(tenant: Tenant) -> None:
    open_id, done_id = tenant.create_order(), tenant.create_order()
    tenant.put_result(done_id, BASE)
    with tenant.client() as client:
        both = client.get("/assessment/orders?statuses=OPEN&statuses=COMPLETED").json()["data"]["results"]
        assert [o["id"] for o in both] == [open_id, done_id]
        by_id = client.get(f"/assessment/orders?ids={open_id}&ids={done_id}").json()["data"]["results"]
        assert len(by_id) == 2


def test_a_correction_without_completed_at_keeps_the_earlier_time(tenant: Tenant) -> None:
    order_id = tenant.create_order()
    tenant.put_result(order_id, {**BASE, "completed_at": "2026-01-02T01:04:05.123Z"})
    response = tenant.put_result(order_id, {"status": "COMPLETED", "result_url": "https://vendor.example/r/2"})
    assert response.status_code == 200
    assert tenant.order(order_id)["result"]["completed_at"] == "2026-01-02T01:04:05.123Z"
    assert any("kept 2026-01-02T01:04:05.123Z" in w["message"] for w in response.json()["warnings"])


def test_years_before_1000_come_back_with_four_digits(tenant: Tenant) -> None:
    """docs/api.md: ``YYYY-MM-DDTHH:mm:ss.sssZ`` for years 1-9999, in the answer and the listing."""
    order_id = tenant.create_order()
    response = tenant.put_result(order_id, {**BASE, "completed_at": "0099-01-02T03:04:05.5Z"})
    assert response.status_code == 200, response.text
    assert tenant.order(order_id)["result"]["completed_at"] == "0099-01-02T03:04:05.500Z"
    with tenant.client() as client:
        listed = client.get(f"/assessment/orders?ids={order_id}").json()["data"]["results"]
    assert listed[0]["result"]["completed_at"] == "0099-01-02T03:04:05.500Z"


def crafted_cursor(parts: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).rstrip(b"=").decode()


CRAFTED_CURSORS = [
    ["2026-12-03T11:21:00", "a\u0000"],
    ["2026-12-03T11:21:00\u0000", "a"],
    ["2026-12-03T11:21:00", 7],
    ["2026-12-03T11:21:00", {"x": "y"}],
    [20261203, "a"],
    ["0001-01-01T00:00:00+01:00", "a"],
]


@pytest.mark.parametrize("parts", CRAFTED_CURSORS)
def test_a_crafted_cursor_is_not_a_cursor(tenant: Tenant, parts: list) -> None:
    """docs/api.md: no string may hold NUL (400); a cursor not returned by the API is 400 too, never a
    database error (PostgreSQL refuses NUL in text parameters)."""
    with tenant.client() as client:
        response = client.get("/assessment/orders", params={"cursor": crafted_cursor(parts)})
    check(response, 400, mentions="cursor")


def test_base64_without_padding_is_accepted(tenant: Tenant) -> None:
    order_id = tenant.create_order()
    response = tenant.put_result(
        order_id, {**BASE, "attachments": [{"name": "a.txt", "content_type": "text/plain", "data": "SGk"}]}
    )
    assert response.status_code == 200, response.text
    assert tenant.order(order_id)["result"]["attachments"][0]["size_bytes"] == 2


slow_files = FastAPI()


@slow_files.get("/slow/{n}")
def slow(n: int) -> Response:
    time.sleep(1.5)
    return Response(f"file {n}".encode(), media_type="text/plain")


def test_data_urls_download_together_within_one_deadline(hub: Hub, tenant: Tenant) -> None:
    # Three 1.5 s downloads one after another (4.5 s) would pass the 4 s limit and the Python SDK's 5 s timeout.
    assert hub.settings.data_url_timeout_s == 4.0
    order_id = tenant.create_order()
    with serve_in_thread(slow_files) as url:
        response = tenant.put_result(
            order_id, {**BASE, "attachments": [{"name": f"f{n}.txt", "data_url": f"{url}/slow/{n}"} for n in range(3)]}
        )
    assert response.status_code == 200, response.text
    assert [a["size_bytes"] for a in tenant.order(order_id)["result"]["attachments"]] == [6, 6, 6]


@pytest.mark.parametrize("expires", ["\u00b2", "\u0663", "9" * 5000])
def test_an_attachment_link_with_an_absurd_expiry_is_refused_not_a_500(hub: Hub, expires: str) -> None:
    """``expires`` passed ``str.isdigit`` (true of "²" and Arabic-Indic digits) and then ``int()``, which
    raised: the link is refused as any invalid link (403)."""
    with hub.http() as client:
        response = client.get(
            f"/attachments/{'a' * 64}", params={"name": "a.txt", "expires": expires, "signature": "x"}
        )
    assert response.status_code == 403, response.text


def nested(levels: int) -> str:
    """JSON text of arrays and objects nested ``levels`` deep (the outermost is level 1), alternating."""
    text = "1"
    for level in range(levels):
        text = '{"a": ' + text + "}" if level % 2 else "[" + text + "]"
    return text


def put_remote_fields(tenant: Tenant, order_id: str, remote_fields: str) -> httpx.Response:
    body = '{"status": "COMPLETED", "result_url": "https://vendor.example/r/1", "remote_fields": ' + remote_fields + "}"
    with tenant.client() as client:
        return client.put(
            f"/assessment/orders/{order_id}/result", content=body, headers={"Content-Type": "application/json"}
        )


@pytest.mark.parametrize(
    "remote_fields",
    [
        '{"x": ' + nested(64) + "}",  # 65 levels with remote_fields' own object
        '{"deep": ' + nested(70) + ', "deep": 1}',  # in the pair a parser drops: its text is stored all the same
        '{"x": ' + nested(195) + "}",  # ~200 in all with the body: pydantic's parser still takes it
    ],
    ids=["65", "in-a-repeated-key", "196"],
)
def test_remote_fields_nested_too_deep_are_refused(tenant: Tenant, remote_fields: str) -> None:
    """Found by a trial: remote_fields nested ~196 levels deep was stored, and the listing's 5 levels around it
    made every page holding it unreadable to the official SDK (its parser stops at about 200 levels)."""
    order_id = tenant.create_order()
    response = put_remote_fields(tenant, order_id, remote_fields)
    check(response, 400, mentions="remote_fields")
    assert "at most 64" in response.json()["error"]["message"]
    assert tenant.order(order_id)["result"] is None


def test_remote_fields_nested_64_deep_are_listed_to_the_sdk(tenant: Tenant) -> None:
    order_id = tenant.create_order()
    remote_fields = '{"x": ' + nested(63) + "}"
    assert put_remote_fields(tenant, order_id, remote_fields).status_code == 200
    page = tenant.sdk().assessment.get_assessment_orders(ids=[order_id])  # the page parses: 69 levels in all
    assert [order.id for order in page.result.data.results] == [order_id]
    assert tenant.order(order_id)["result"]["remote_fields"] == json.loads(remote_fields)


def test_a_body_nested_past_the_parsers_limit_is_not_called_invalid_json(tenant: Tenant) -> None:
    order_id = tenant.create_order()
    response = put_remote_fields(tenant, order_id, '{"x": ' + nested(300) + "}")
    check(response, 400, mentions="nest too deep")
    assert "not valid JSON" not in response.json()["error"]["message"]


MAX_DOUBLE_INT = str(int(1.7976931348623157e308))  # the largest double's 309 digits
EXACT_TINIEST = format(decimal.Decimal(5e-324), "f")  # the smallest double's exact value: "0." and 1,074 decimals
OUT_OF_RULE = [
    ("remote_fields", '{"a": 1e-99999999999}'),  # stored, then the downgrade 0007 -> 0006 failed
    ("remote_fields", '{"a": 1e-20000}'),
    ("remote_fields", '{"a": 0.' + "1" * 16384 + "}"),  # beyond numeric's 16,383 decimals
    ("remote_fields", '{"a": 1.' + "0" * 1100 + "}"),  # 1,101 digits
    ("remote_fields", '{"a": 0e-20000}'),  # 0, but numeric cannot hold its scale
    ("remote_fields", '{"a": 1' + "0" * 309 + "}"),  # 1e309 as an integer was accepted, 1e309 not
    ("remote_fields", '{"a": ' + "9" * 4300 + "}"),
    ("remote_fields", '{"a": [1.8e308]}'),
    ("remote_fields", '{"a": {"b": -1e-400}}'),  # reads as 0
    ("remote_fields", '{"a": 2.4e-324}'),  # below half the smallest double: reads as 0
    ("remote_fields", '{"a": 1e-400, "a": 1}'),  # in the pair a parser drops, which the stored text keeps
    ("remote_fields", '{"a": NaN, "a": 1}'),  # was stored on SQLite, a 500 on PostgreSQL
    ("remote_fields", '{"a": 1e400, "a": 1}'),
    ("body", '{"a": ' + "9" * 4301 + "}"),  # pydantic's parser refuses it: the same rule, no member known
    ("score", "1e-400"),
    ("score", "0.5" + "0" * 1100),  # a plain 0.5 to the parsed body: only its text shows the 1,101 digits
    ("max_score", "1" + "0" * 309),
    (
        "attributes",
        '[{"type": "SUB_RESULT", "id": "s", "label": "S", "score": {"value": 1e-330, "max": 1},'
        ' "status": "COMPLETED"}]',
    ),
    ("sub_results", '[{"id": "s", "title": "S", "score": 0.5, "max_score": 1e999}]'),
    ("unknown", "[0e99999999999]"),  # ignored members keep the rule too
]


@pytest.mark.parametrize("member,value", OUT_OF_RULE, ids=[f"{m}-{v[:24]}" for m, v in OUT_OF_RULE])
def test_numbers_beyond_a_double_are_refused_with_one_rule(tenant: Tenant, member: str, value: str) -> None:
    """Found by a trial: integers beyond 1.8e308 were taken where floats were not, numbers that read as 0 or
    that numeric cannot hold (1e-20000, 16,384 decimals) were stored in remote_fields, and then PostgreSQL's
    downgrade of 0007 failed. One rule now, one message (docs/api.md, "Numbers")."""
    order_id = tenant.create_order()
    name = "remote_fields" if member == "body" else member
    body = '{"status": "COMPLETED", "result_url": "https://vendor.example/r/1", "' + name + '": ' + value + "}"
    with tenant.client() as client:
        response = client.put(
            f"/assessment/orders/{order_id}/result", content=body, headers={"Content-Type": "application/json"}
        )
    check(response, 400, mentions=NUMBER_RULE)
    message = response.json()["error"]["message"]
    where = "" if member == "body" else member  # a typed member's message names the field within it
    assert message.startswith(f"Invalid request body: {where}") and "a number is out of range" in message, message
    assert "are not JSON," not in message and "not valid JSON" not in message
    assert tenant.order(order_id)["result"] is None


def test_numbers_at_the_edges_of_the_rule_are_taken_and_listed_as_written(tenant: Tenant) -> None:
    remote_fields = (
        '{"max": 1.7976931348623157e308, "min": -1.7976931348623157e308, "int": ' + MAX_DOUBLE_INT + ","
        ' "tiniest": 4.9e-324, "rounds up": 2.5e-324, "exact": ' + EXACT_TINIEST + ","
        ' "zeros": [0e-1100, -0.0, 0E+1100, -0], "long": 1.' + "0" * 1099 + ', "shifted": 0.001e-300}'
    )
    order_id = tenant.create_order()
    body = (
        '{"status": "COMPLETED", "result_url": "https://vendor.example/r/1", "score": 4.9e-324,'
        ' "max_score": 1.7976931348623157e308, "remote_fields": ' + remote_fields + "}"
    )
    with tenant.client() as client:
        response = client.put(
            f"/assessment/orders/{order_id}/result", content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 200, response.text
        listed = client.get("/assessment/orders", params={"ids": order_id})
    assert '"remote_fields":' + remote_fields + "," in listed.text
    result = listed.json()["data"]["results"][0]["result"]
    assert result["score"] == 5e-324 and result["max_score"] == 1.7976931348623157e308
    assert result["remote_fields"]["exact"] == 5e-324 and result["remote_fields"]["int"] == int(MAX_DOUBLE_INT)


def test_the_number_check_reads_a_big_attachment_body_only_when_it_must() -> None:
    """A 7 MB base64 attachment holds "NaN", "e999" and digit runs: the check walks the parsed body, and reads
    the text again only when a float 0 is there, or a float and more text than its long strings
    (kit.body._Walk)."""
    from assessment_hub.assessment.schemas import ResultIn
    from assessment_hub.kit import body as kit_body

    data = base64.b64encode(bytes(range(256)) * 20_000).decode()
    for score, reads in ((81.5, False), (0.0, True)):
        raw = json.dumps(
            {
                "status": "COMPLETED",
                "result_url": "https://vendor.example/r/1",
                "score": score,
                "attachments": [{"name": "report.pdf", "content_type": "application/pdf", "data": data}],
            }
        ).encode()
        walk = kit_body._Walk()
        parsed = ResultIn.model_validate_json(raw)
        assert not any(walk.out_of_rule(v) for v in parsed.__dict__.values())
        assert walk.needs_text(raw) is reads


@pytest.mark.parametrize(
    "member", ['"remote_fields": {"a": "\\u0000", "a": "x"}', '"remote_fields": {"a": {"\\u0000": 1}, "a": {}}']
)
def test_nul_in_a_pair_a_parser_drops_is_refused(tenant: Tenant, member: str) -> None:
    """remote_fields' text is stored as sent: a NUL in the first value of a key given twice was stored
    (PostgreSQL's json takes \\u0000; jsonb, the downgrade of 0007, does not) and listed."""
    order_id = tenant.create_order()
    body = '{"status": "COMPLETED", "result_url": "https://vendor.example/r/1", ' + member + "}"
    with tenant.client() as client:
        response = client.put(
            f"/assessment/orders/{order_id}/result", content=body, headers={"Content-Type": "application/json"}
        )
    check(response, 400, mentions="NUL")
    assert tenant.order(order_id)["result"] is None
