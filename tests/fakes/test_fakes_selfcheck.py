"""Self-tests for the fake ATS servers. They run without the hub.

Server sides are exercised with plain httpx requests (playing "the hub").
Client sides are exercised against tiny stub vendor apps served by LiveServer.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.fakes._base import ProtocolViolation, basic_auth_value, wait_until
from tests.fakes.ashby import AshbyRefusal, FakeAshby
from tests.fakes.greenhouse import FakeGreenhouse
from tests.fakes.server import LiveServer
from tests.fakes.teamtailor import API_VERSION, JSONAPI, FakeTeamtailor

pytestmark = pytest.mark.fakes


def stub_app(handlers: dict[tuple[str, str], Callable[[Request], Any]]) -> Starlette:
    """A stub 'hub': maps (method, path) to an async handler."""

    async def endpoint(request: Request) -> Response:
        h = handlers.get((request.method, request.url.path))
        if h is None:
            return PlainTextResponse("no stub", status_code=404)
        return await h(request)

    return Starlette(routes=[Route("/{p:path}", endpoint, methods=["GET", "POST", "PUT", "PATCH"])])


def ms() -> int:
    return int(time.time() * 1000)


# ---------------------------------------------------------------------------
# LiveServer
# ---------------------------------------------------------------------------


def test_live_server_runs_on_loopback_and_stops():
    app = stub_app({("GET", "/ping"): lambda r: _const(PlainTextResponse("pong"))})
    srv = LiveServer(app)
    with srv as url:
        assert url.startswith("http://127.0.0.1:")
        assert httpx.get(url + "/ping").text == "pong"
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/ping", timeout=1)


async def _const(resp: Response) -> Response:
    return resp


# ---------------------------------------------------------------------------
# Greenhouse
# ---------------------------------------------------------------------------
GH_KEY = "0d031d8227eafa61dc375a6c2e067e24"


def gh_hub(state: dict[str, Any]) -> Starlette:
    """Stub vendor for Greenhouse; `state` steers its answers."""

    def authed(request: Request) -> bool:
        return request.headers.get("authorization") == basic_auth_value(GH_KEY)

    async def list_tests(request: Request) -> Response:
        if not authed(request):
            return JSONResponse({"error": "unauthorized"}, 401)
        return JSONResponse(state.get("tests", [{"partner_test_id": "t1", "partner_test_name": "Test 1"}]))

    async def send_test(request: Request) -> Response:
        state["send_test_body"] = await request.json()
        return JSONResponse({"partner_interview_id": "pi-1"})

    async def test_status(request: Request) -> Response:
        if request.query_params.get("partner_interview_id") != "pi-1":
            return JSONResponse({"error": "not found"}, 404)
        return JSONResponse(
            state.get(
                "status",
                {
                    "partner_status": "complete",
                    "partner_profile_url": "https://v.example/r/1",
                    "partner_score": 88,
                    "metadata": {"Notes": "ok"},
                },
            )
        )

    async def response_error(request: Request) -> Response:
        state.setdefault("errors", []).append(await request.json())
        return JSONResponse({"status": 200})

    return stub_app(
        {
            ("GET", "/gh/list_tests"): list_tests,
            ("POST", "/gh/send_test"): send_test,
            ("GET", "/gh/test_status"): test_status,
            ("POST", "/gh/request_errors"): response_error,
        }
    )


@pytest.fixture
def greenhouse():
    state: dict[str, Any] = {}
    with LiveServer(gh_hub(state)) as hub:
        setup = {
            "list_tests_url": hub + "/gh/list_tests",
            "send_test_url": hub + "/gh/send_test",
            "test_status_url": hub + "/gh/test_status",
            "response_error_url": hub + "/gh/request_errors",
            "api_key": GH_KEY,
        }
        with FakeGreenhouse.from_setup(setup, timeout=5) as gh:
            gh.stub_state = state
            yield gh


def test_greenhouse_client_and_patch_pull(greenhouse):
    gh = greenhouse
    assert gh.list_tests() == [{"partner_test_id": "t1", "partner_test_name": "Test 1"}]
    pid = gh.send_test("t1", email="c@example.com")
    assert pid == "pi-1"
    body = gh.stub_state["send_test_body"]
    assert body["candidate"]["email"] == "c@example.com" and body["candidate"]["preferred_name"] is None
    assert body["url"].startswith(gh.server_url) and "application_id=" in body["candidate"]["greenhouse_profile_url"]
    r = httpx.patch(body["url"], headers={"Authorization": basic_auth_value(GH_KEY)})
    assert r.status_code == 200 and r.content == b""
    assert len(gh.received) == 1 and gh.rejected == []
    assert gh.wait_for_pull(pid)["partner_status"] == "complete"


def test_greenhouse_client_flags_bad_hub_answers(greenhouse):
    gh = greenhouse
    gh.stub_state["tests"] = {"partner_test_ids": []}  # the api-evangelist shape, not Greenhouse's
    with pytest.raises(ProtocolViolation):
        gh.list_tests()
    assert gh.stub_state["errors"][0]["api_call"] == "list_tests"
    gh.stub_state["status"] = {"partner_status": "complete", "partner_score": "88"}
    with pytest.raises(ProtocolViolation, match="partner_profile_url is missing"):
        gh.test_status("pi-1")
    gh.stub_state["status"] = {
        "partner_status": "complete",
        "partner_profile_url": "https://x.example",
        "metadata": {"a": {"b": 1}},
    }
    with pytest.raises(ProtocolViolation, match="flat"):
        gh.test_status("pi-1")
    gh.expect_error(gh.raw_request("GET", gh.list_tests_url, api_key="wrong"), 401)
    gh.expect_error(gh.raw_request("GET", gh.test_status_url, params={"partner_interview_id": "nope"}), 404)


@pytest.mark.parametrize(
    "method,kwargs,status",
    [
        ("POST", {}, 405),
        ("PUT", {}, 405),
        ("PATCH", {"auth": None}, 401),
        ("PATCH", {"auth": basic_auth_value("wrong")}, 401),
        ("PATCH", {"auth": basic_auth_value(GH_KEY, "pw")}, 401),
        ("PATCH", {"auth": f"Bearer {GH_KEY}"}, 401),
        ("PATCH", {"content": b'{"status": "complete"}'}, 400),
        ("PATCH", {"params": {"x": "1"}}, 400),
        ("PATCH", {"path": "/integrations/testing_partners/take_home_tests/999"}, 404),
        ("PATCH", {"path": "/take_home_tests/1"}, 404),
    ],
)
def test_greenhouse_patch_rejects_deviations(greenhouse, method, kwargs, status):
    gh = greenhouse
    url = gh.new_take_home_test_url()
    if "path" in kwargs:
        url = gh.server_url + kwargs.pop("path")
    auth = kwargs.pop("auth", basic_auth_value(GH_KEY))
    headers = {"Authorization": auth} if auth else {}
    r = httpx.request(method, url, headers=headers, **kwargs)
    assert r.status_code == status
    assert gh.received == [] and len(gh.rejected) == 1 and gh.rejected[0].reason


def test_greenhouse_patch_for_inactive_candidate_does_not_pull(greenhouse):
    gh = greenhouse
    gh.send_test("t1")
    url = gh.last_send_test_body["url"]
    gh.set_inactive(url)
    assert httpx.patch(url, headers={"Authorization": basic_auth_value(GH_KEY)}).status_code == 200
    time.sleep(0.2)
    assert gh.pulled == {}


@pytest.mark.parametrize("fake_name", ["greenhouse", "teamtailor", "ashby"])
def test_outage_modes(fake_name, greenhouse, teamtailor_fake, ashby_fake):
    fake = {"greenhouse": greenhouse, "teamtailor": teamtailor_fake, "ashby": ashby_fake}[fake_name]
    url = fake.server_url + "/anything"
    fake.set_mode("503")
    assert httpx.post(url).status_code == 503
    fake.set_mode("401")
    assert httpx.post(url).status_code == 401
    fake.set_mode("timeout", hold_seconds=0.8)
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(url, timeout=0.2)
    fake.set_mode("timeout", hold_seconds=0.1)
    assert httpx.post(url, timeout=5).status_code == 504
    wait_until(lambda: len(fake.rejected) == 4, 5, "4 rejections")
    assert [r.reason for r in fake.rejected] == ["mode:503", "mode:401", "mode:timeout", "mode:timeout"]
    assert fake.received == []


def test_timeout_hold_is_released_on_stop():
    ab = FakeAshby(api_key="k", mode="timeout", hold_seconds=60)
    ab.start_server()
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(ab.server_url + "/assessment.update", timeout=0.2)
    t0 = time.monotonic()
    ab.stop_server()
    assert time.monotonic() - t0 < 5
    assert ab.rejected[0].reason == "mode:timeout"


# ---------------------------------------------------------------------------
# Teamtailor
# ---------------------------------------------------------------------------
TT_KEY = "tt-partner-api-key"


@pytest.fixture
def teamtailor_fake():
    with FakeTeamtailor(provider_key="pk", partner_api_key=TT_KEY) as tt:
        yield tt


def _tt_request(tt, rid=None, *, attributes=None, data=None, headers=None, method="PUT", url=None):
    import json as _json

    if rid is None:
        rid, _ = tt.new_partner_result(candidate_id=102)
    doc = {
        "data": data
        if data is not None
        else {
            "type": "partner-results",
            "id": rid,
            "attributes": attributes if attributes is not None else {"status": "completed"},
        }
    }
    h = {"Authorization": f"Bearer {TT_KEY}", "X-Api-Version": API_VERSION, "Content-Type": JSONAPI}
    h.update(headers or {})
    h = {k: v for k, v in h.items() if v is not None}
    return rid, httpx.request(
        method, url or f"{tt.server_url}/partner/v1/partner-results/{rid}", headers=h, content=_json.dumps(doc).encode()
    )


def test_teamtailor_put_accepts_documented_update(teamtailor_fake):
    tt = teamtailor_fake
    attrs = {
        "status": "completed",
        "summary": "Passed",
        "url": "https://vendor.example/r/1",
        "assessment": {"score": 82, "grade": "top_fit", "duration": "0:32:14"},
        "details": {"rating": "10", "awesomeness": {"good": "good"}},
        "attachments": [{"url": "https://vendor.example/r/1.pdf", "description": "Report"}],
        "assessment-criteria": [{"id": "crit-1", "score": 70}],
    }
    rid, r = _tt_request(tt, attributes=attrs)
    assert r.status_code == 200, r.text
    assert r.headers["x-api-version"] == API_VERSION and r.headers["content-type"].startswith(JSONAPI)
    doc = r.json()
    assert doc["data"]["id"] == rid and doc["data"]["attributes"]["assessment"]["duration"] == 1934
    assert tt.results[rid]["status"] == "completed" and tt.results[rid]["candidate-id"] == 102
    # "Token" scheme is documented too
    _, r2 = _tt_request(tt, rid, headers={"Authorization": f"Token {TT_KEY}"})
    assert r2.status_code == 200
    assert len(tt.received) == 2 and tt.rejected == []


@pytest.mark.parametrize(
    "change,status",
    [
        ({"headers": {"Authorization": None}}, 401),
        ({"headers": {"Authorization": "Bearer wrong"}}, 401),
        ({"headers": {"Authorization": basic_auth_value(TT_KEY)}}, 401),
        ({"headers": {"X-Api-Version": None}}, 406),
        ({"headers": {"X-Api-Version": "20240101"}}, 406),
        ({"headers": {"Content-Type": "application/json"}}, 415),
        ({"headers": {"Content-Type": JSONAPI + "; charset=utf-8"}}, 415),
        ({"method": "PATCH"}, 405),
        ({"method": "POST"}, 405),
        ({"url_suffix": "/partner/v1/partner-results/00000000-0000-0000-0000-000000000000"}, 404),
        ({"url_suffix": "/partner/v1/partner_results/x"}, 404),
        ({"data": {"type": "partner-result", "attributes": {"status": "completed"}}, "keep_id": True}, 409),
        ({"data": {"type": "partner-results", "id": "other", "attributes": {}}}, 409),
        ({"data": {"type": "partner-results", "attributes": {}}}, 400),
        ({"attributes": {"status": "done"}}, 422),
        ({"attributes": {"assessment": {"score": 101}}}, 422),
        ({"attributes": {"assessment": {"score": -1}}}, 422),
        ({"attributes": {"assessment": {"score": 82.5}}}, 422),
        ({"attributes": {"assessment": {"grade": "passed"}}}, 422),
        ({"attributes": {"assessment": {"duration": "32 minutes"}}}, 422),
        ({"attributes": {"candidate-id": 102}}, 422),
        ({"attributes": {"details": {"a": {"b": {"c": 1}}}}}, 422),
        ({"attributes": {"attachments": [{"url": "https://x.example/a", "description": "d", "name": "n"}]}}, 422),
        ({"attributes": {"url": "not a url"}}, 422),
        ({"attributes": {"result_url": "https://x.example"}}, 422),
        ({"attributes": {"assessment-criteria": [{"id": "c", "score": 150}]}}, 422),
    ],
)
def test_teamtailor_put_rejects_deviations(teamtailor_fake, change, status):
    tt = teamtailor_fake
    rid, _ = tt.new_partner_result(candidate_id=1)
    url = tt.server_url + change["url_suffix"] if "url_suffix" in change else None
    data = change.get("data")
    if data is not None and change.get("keep_id"):
        data = {**data, "id": rid}
    _, r = _tt_request(
        tt,
        rid,
        attributes=change.get("attributes"),
        data=data,
        headers=change.get("headers"),
        method=change.get("method", "PUT"),
        url=url,
    )
    assert r.status_code == status, r.text
    if status not in (401,):
        assert r.json()["errors"][0]["status"] == str(status)
    assert tt.received == [] and len(tt.rejected) == 1 and tt.rejected[0].reason
    assert tt.results[rid]["status"] == "sending"


def tt_hub(state: dict[str, Any], secret: str | None) -> Starlette:
    async def config(request: Request) -> Response:
        state["config_request"] = (dict(request.query_params), request.headers.get("authorization"))
        return JSONResponse(
            state.get(
                "config",
                {
                    "config": {
                        "fields": [
                            {
                                "id": "test",
                                "label": "Test",
                                "type": "select",
                                "options": [{"id": "t1", "label": "Test 1"}],
                            }
                        ]
                    }
                },
            )
        )

    async def webhook(request: Request) -> Response:
        body = await request.json()
        state["webhook"] = body
        state["webhook_headers"] = dict(request.headers)
        if secret is not None:
            sig = dict(p.split("=", 1) for p in request.headers["teamtailor-signature"].split(","))
            want = hmac.new(
                secret.encode(), f"{sig['t']}.{body['partner-event']['id']}".encode(), hashlib.sha256
            ).hexdigest()
            if not hmac.compare_digest(want, sig["v1"]):
                return PlainTextResponse("bad signature", 401)
        if "reply" in state:
            return state["reply"]
        return PlainTextResponse("", 200)

    return stub_app({("GET", "/tt/config"): config, ("POST", "/tt/webhook"): webhook})


def test_teamtailor_client_config_and_signed_webhook():
    state: dict[str, Any] = {}
    with (
        LiveServer(tt_hub(state, "s3cret")) as hub,
        FakeTeamtailor.from_setup(
            {"base_url": hub + "/tt", "provider_key": "pk-1"}, webhook_secret="s3cret", timeout=5
        ) as tt,
    ):
        cfg = tt.get_config()
        assert cfg["config"]["fields"][0]["id"] == "test"
        assert state["config_request"] == ({"job_id": "12345", "stage_id": "1", "user_id": "31"}, "Bearer pk-1")
        d = tt.send_webhook(selection={"test": "t1", "pass_mark": "75"})
        assert d.delivered and d.status_code == 200
        ev = state["webhook"]["partner-event"]
        assert ev["webhook-data"] == {"test": "t1", "pass-mark": "75"}
        assert ev["partner-result"]["update-url"] == d.update_url and d.update_url.startswith(tt.server_url)
        assert "company" in state["webhook"] and state["webhook_headers"]["authorization"] == "Bearer pk-1"
        # a forged signature is caught by a correct verifier
        assert not tt.send_webhook(signature_secret="other").delivered
        # plain-string error shown on the partner result
        state["reply"] = PlainTextResponse("Unknown test", 422)
        d = tt.send_webhook(selection={"test": "zz"})
        assert (
            not d.delivered
            and d.error_message == "Unknown test"
            and tt.results[d.partner_result_id]["status"] == "failed"
        )
        # inline result in the webhook response must be valid
        state["reply"] = JSONResponse({"partner_result_attributes": {"status": "pending", "assessment": {"score": 55}}})
        d = tt.send_webhook(selection={"test": "t1"})
        assert tt.results[d.partner_result_id]["assessment"] == {"score": 55}
        state["reply"] = JSONResponse({"partner_result_attributes": {"assessment": {"score": 555}}})
        with pytest.raises(ProtocolViolation):
            tt.send_webhook(selection={"test": "t1"})
        state["config"] = {"fields": []}
        with pytest.raises(ProtocolViolation):
            tt.get_config()


# ---------------------------------------------------------------------------
# Ashby
# ---------------------------------------------------------------------------
ASHBY_KEY = "ashby-api-key"


@pytest.fixture
def ashby_fake():
    with FakeAshby(api_key="hub-key", ashby_api_key=ASHBY_KEY) as ab:
        ab.register_assessment("a-1")
        yield ab


def blob(identifier="status", type_="string", value="Started", label="Status"):
    return {"identifier": identifier, "label": label, "type": type_, "value": value}


def ab_post(
    ab: FakeAshby, body: Any, *, headers: dict[str, Any] | None = None, path="/assessment.update", method="POST"
):
    import json as _json

    h = {
        "Authorization": basic_auth_value(ASHBY_KEY),
        "Content-Type": "application/json",
        "Accept": "application/json; version=1",
        "User-Agent": "assessment-hub/test",
    }
    h.update(headers or {})
    h = {k: v for k, v in h.items() if v is not None}
    return httpx.request(method, ab.server_url + path, headers=h, content=_json.dumps(body).encode())


def test_ashby_update_accepts_documented_flow(ashby_fake):
    ab = ashby_fake
    t0 = ms()
    r = ab_post(ab, {"assessment_id": "a-1", "timestamp": t0, "assessment_status": blob(value="Started")})
    assert r.status_code == 200 and r.json()["success"] is True
    r = ab_post(
        ab,
        {
            "assessment_id": "a-1",
            "timestamp": t0 + 1,
            "assessment_status": blob(value="Completed"),
            "assessment_result": blob("score", "numeric_score", 88, "Score"),
            "assessment_profile_url": blob("profile", "url", "https://vendor.example/r/1", "Report"),
            "metadata": [
                blob("max", "numeric_score", 100, "Max Score"),
                blob("pass", "boolean_success", True, "Passed"),
            ],
        },
    )
    assert r.json() == {"success": True, "results": {}}
    st = ab.assessments["a-1"]
    assert st["result"]["value"] == 88 and set(st["metadata"]) == {"max", "pass"} and st["last_timestamp"] == t0 + 1
    r = ab_post(
        ab,
        {"assessment_id": "a-1", "timestamp": t0 + 2, "cancelled_reason": blob("why", "string", "Withdrawn", "Reason")},
    )
    assert r.json()["success"] is True
    assert len(ab.received) == 3 and ab.rejected == []


T = 1_700_000_000_000


@pytest.mark.parametrize(
    "body,kw,status,success",
    [
        (
            {"assessment_id": "a-1", "timestamp": T, "assessment_status": blob()},
            {"headers": {"Authorization": None}},
            401,
            False,
        ),
        (
            {"assessment_id": "a-1", "timestamp": T, "assessment_status": blob()},
            {"headers": {"Authorization": basic_auth_value("nope")}},
            401,
            False,
        ),
        (
            {"assessment_id": "a-1", "timestamp": T, "assessment_status": blob()},
            {"headers": {"Authorization": f"Bearer {ASHBY_KEY}"}},
            401,
            False,
        ),
        (
            {"assessment_id": "a-1", "timestamp": T, "assessment_status": blob()},
            {"headers": {"User-Agent": ""}},
            403,
            None,
        ),
        ({"assessment_id": "a-1", "timestamp": T, "assessment_status": blob()}, {"method": "PUT"}, 405, False),
        (
            {"assessment_id": "a-1", "timestamp": T, "assessment_status": blob()},
            {"path": "/assessments.update"},
            404,
            False,
        ),
        (
            {"assessment_id": "a-1", "timestamp": T, "assessment_status": blob()},
            {"headers": {"Content-Type": "text/plain"}},
            200,
            False,
        ),
        ({"assessment_id": "zzz", "timestamp": T, "assessment_status": blob()}, {}, 200, False),
        ({"assessmentId": "a-1", "timestamp": T, "assessment_status": blob()}, {}, 200, False),
        ({"assessment_id": "a-1", "timestamp": T // 1000, "assessment_status": blob()}, {}, 200, False),
        ({"assessment_id": "a-1", "timestamp": T + 0.5, "assessment_status": blob()}, {}, 200, False),
        ({"assessment_id": "a-1", "timestamp": str(T), "assessment_status": blob()}, {}, 200, False),
        ({"assessment_id": "a-1", "timestamp": "2024-01-01T00:00:00Z", "assessment_status": blob()}, {}, 200, False),
        ({"assessment_id": "a-1", "timestamp": T}, {}, 200, False),
        (
            {
                "assessment_id": "a-1",
                "timestamp": T,
                "assessment_status": blob(),
                "assessment_result": blob("score", "numeric_score", 5, "Score"),
            },
            {},
            200,
            False,
        ),
        (
            {
                "assessment_id": "a-1",
                "timestamp": T,
                "assessment_status": blob(),
                "assessment_result": blob("score", "numeric_score", 5, "Score"),
                "assessment_profile_url": blob("p", "string", "https://v.example", "Report"),
            },
            {},
            200,
            False,
        ),
        ({"assessment_id": "a-1", "timestamp": T, "assessment_status": blob(type_="text")}, {}, 200, False),
        ({"assessment_id": "a-1", "timestamp": T, "assessment_status": "Started"}, {}, 200, False),
        (
            {
                "assessment_id": "a-1",
                "timestamp": T,
                "assessment_status": {"identifier": "s", "type": "string", "value": "x"},
            },
            {},
            200,
            False,
        ),
        (
            {
                "assessment_id": "a-1",
                "timestamp": T,
                "assessment_status": blob(),
                "assessment_result": blob("score", "numeric_score", "88", "Score"),
                "assessment_profile_url": blob("p", "url", "https://v.example", "Report"),
            },
            {},
            200,
            False,
        ),
        (
            {
                "assessment_id": "a-1",
                "timestamp": T,
                "assessment_status": blob(),
                "assessment_result": blob("score", "numeric_score", 88, "Score"),
                "assessment_profile_url": blob("p", "url", "localhost/report", "Report"),
            },
            {},
            200,
            False,
        ),
        (
            {
                "assessment_id": "a-1",
                "timestamp": T,
                "assessment_status": blob(),
                "metadata": [blob("m", "string", "a"), blob("m", "string", "b")],
            },
            {},
            200,
            False,
        ),
        ({"assessment_id": "a-1", "timestamp": T, "assessment_status": blob(), "metadata": blob()}, {}, 200, False),
        (
            {"assessment_id": "a-1", "timestamp": T, "assessment_status": blob(type_="boolean_success", value="yes")},
            {},
            200,
            False,
        ),
    ],
)
def test_ashby_update_rejects_deviations(ashby_fake, body, kw, status, success):
    ab = ashby_fake
    r = ab_post(ab, body, **kw)
    assert r.status_code == status, r.text
    if success is not None:
        data = r.json()
        assert data["success"] is success
        if status == 200:
            assert data["errorInfo"]["code"] and data["errorInfo"]["message"]
    assert ab.received == [] and len(ab.rejected) == 1 and ab.rejected[0].reason


def test_ashby_timestamps_must_strictly_increase(ashby_fake):
    ab = ashby_fake
    assert ab_post(ab, {"assessment_id": "a-1", "timestamp": T, "assessment_status": blob()}).json()["success"]
    assert not ab_post(ab, {"assessment_id": "a-1", "timestamp": T, "assessment_status": blob()}).json()["success"]
    assert not ab_post(ab, {"assessment_id": "a-1", "timestamp": T - 1, "assessment_status": blob()}).json()["success"]
    assert ab_post(ab, {"assessment_id": "a-1", "timestamp": T + 1, "assessment_status": blob()}).json()["success"]


def ab_hub(state: dict[str, Any]) -> Starlette:
    async def handler(request: Request) -> Response:
        state.setdefault("calls", []).append(
            (request.url.path, request.headers.get("authorization"), await request.json())
        )
        if request.headers.get("authorization") != basic_auth_value("hub-key"):
            return JSONResponse({"success": False, "errors": ["unauthorized"]}, 401)
        action = request.url.path.rsplit(".", 1)[-1]
        return state["replies"][action]

    return stub_app({("POST", f"/ab/assessment.{a}"): handler for a in ("list", "start", "cancel")})


def test_ashby_client_side():
    state: dict[str, Any] = {"replies": {}}
    with (
        LiveServer(ab_hub(state)) as hub,
        FakeAshby.from_setup({"base_url": hub + "/ab", "api_key": "hub-key"}, timeout=5) as ab,
    ):
        state["replies"]["list"] = JSONResponse(
            {"success": True, "results": [{"assessment_type_id": "t1", "name": "Test 1", "description": "d"}]}
        )
        assert ab.list_assessments()[0]["assessment_type_id"] == "t1"
        assert state["calls"][0][2] == {}
        state["replies"]["start"] = JSONResponse(
            {
                "success": True,
                "results": {
                    "assessment_id": "a-9",
                    "update_request": {
                        "assessment_id": "a-9",
                        "timestamp": ms(),
                        "assessment_status": blob(value="Invited"),
                    },
                },
            }
        )
        res = ab.start_assessment("t1")
        assert res["assessment_id"] == "a-9" and ab.assessments["a-9"]["status"]["value"] == "Invited"
        sent = state["calls"][-1][2]
        assert set(sent) == {"assessment_type_id", "candidate", "application", "job"}
        state["replies"]["start"] = JSONResponse({"success": True, "results": {"id": "a-9"}})
        with pytest.raises(ProtocolViolation):
            ab.start_assessment("t1")
        state["replies"]["start"] = Response(status_code=409)
        with pytest.raises(AshbyRefusal) as exc:
            ab.start_assessment("t1")
        assert exc.value.status == 409
        state["replies"]["start"] = JSONResponse({"message": "Unknown test"}, 422)
        with pytest.raises(AshbyRefusal, match="Unknown test"):
            ab.start_assessment("t1")
        state["replies"]["start"] = JSONResponse({"error": "x"}, 422)
        with pytest.raises(ProtocolViolation):
            ab.start_assessment("t1")
        state["replies"]["cancel"] = JSONResponse({"success": True, "results": {"assessment_id": "a-9"}})
        assert ab.cancel_assessment("a-9") == {"assessment_id": "a-9"}
        state["replies"]["cancel"] = JSONResponse(
            {"success": False, "errorInfo": {"code": "not_found", "message": "gone"}}
        )
        with pytest.raises(AshbyRefusal, match="gone"):
            ab.cancel_assessment("a-9")
        assert ab.raw_call("assessment.list", {}, api_key="wrong").status_code == 401
