"""The Recruitee and Lever simulators check themselves (as ``tests/test_simulators_selfcheck.py`` does for the
others): each refuses the write-backs that deviate from its ATS's protocol (server side) and raises
``ProtocolViolation`` for a hub answer that deviates (client side). No hub here: raw requests on loopback, and a
deliberately wrong "hub" for the client side."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from assessment_hub.simulators.base import ProtocolViolation, simulator_class
from assessment_hub.simulators.lever import LeverSimulator
from assessment_hub.simulators.recruitee import RecruiteeSimulator
from tests.support import serve_in_thread

pytestmark = pytest.mark.fakes  # self-checks of the ATS doubles, run with the live connector tests they serve


@pytest.fixture
def rt() -> Iterator[RecruiteeSimulator]:
    with RecruiteeSimulator(timeout=5) as simulator:
        yield simulator


@pytest.fixture
def lv() -> Iterator[LeverSimulator]:
    with LeverSimulator(timeout=5) as simulator:
        yield simulator


def _report(rt: RecruiteeSimulator) -> str:
    report_id = "bb83dc83-91b2-46a5-8a21-824067f29c68"
    rt.reports[report_id] = {"request": {}, "shown": {"status": "sent"}, "patches": []}
    return report_id


def _patch(rt: RecruiteeSimulator, path: str, body: Any, **headers: str) -> httpx.Response:
    sent = {"RT-PARTNER-SECRET": rt.partner_secret, "Content-Type": "application/json", **headers}
    return httpx.patch(rt.url + path, json=body, headers={k: v for k, v in sent.items() if v})


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        ({"status": "cancelled"}, "status"),
        ({"score": 41}, "score"),
        ({"completed_at": "2024-05-01"}, "completed_at"),
        ({"status": "completed", "result_url": "https://x"}, "result_url"),
        ({}, "changes nothing"),
        ([{"status": "completed"}], "JSON object"),
    ],
)
def test_recruitee_reports_refuse_bodies_off_the_protocol(rt: RecruiteeSimulator, body: Any, mentions: str) -> None:
    answer = _patch(rt, f"/api/p/{rt.codename}/reports/{_report(rt)}", body)
    assert answer.status_code == 422 and mentions in answer.json()["error"]
    assert rt.rejected[-1].reason and not rt.reports[_report(rt)]["patches"]


def test_recruitee_reports_check_secret_media_type_codename_report_and_merge(rt: RecruiteeSimulator) -> None:
    report_id = _report(rt)
    path = f"/api/p/{rt.codename}/reports/{report_id}"
    assert _patch(rt, path, {"status": "completed"}, **{"RT-PARTNER-SECRET": "wrong"}).status_code == 401
    assert _patch(rt, path, {"status": "completed"}, **{"RT-PARTNER-SECRET": ""}).status_code == 401
    assert (
        _patch(rt, path, {"status": "completed"}, Authorization="Bearer x", **{"RT-PARTNER-SECRET": ""}).status_code
        == 401
    )
    assert _patch(rt, path, {"status": "completed"}, **{"Content-Type": "text/plain"}).status_code == 415
    assert _patch(rt, f"/api/p/other/reports/{report_id}", {"status": "completed"}).status_code == 404
    assert _patch(rt, f"/api/p/{rt.codename}/reports/nope", {"status": "completed"}).status_code == 404
    assert httpx.get(rt.url + path).status_code == 405
    assert _patch(rt, path, {"score": "12/15", "completed_at": "2022-10-06T18:22:26.927622Z"}).status_code == 200
    assert _patch(rt, path, {"status": "completed"}).status_code == 200  # a partial update keeps the score
    assert rt.shown(report_id) == {
        "status": "completed",
        "score": "12/15",
        "completed_at": "2022-10-06T18:22:26.927622Z",
    }
    assert rt.writebacks(report_id)[-1] == {"status": "COMPLETED", "score": 12, "max_score": 15}


def _basic(user: str, password: str = "") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_lever_opportunities_and_notes_refuse_what_deviates(lv: LeverSimulator) -> None:
    opportunity = lv.new_opportunity("ada@example.com", "Ada Lovelace")
    good = {"Authorization": _basic(lv.api_key)}
    path = f"{lv.url}/v1/opportunities/{opportunity}"
    for auth in ({}, {"Authorization": f"Bearer {lv.api_key}"}, {"Authorization": _basic(lv.api_key, "pw")}):
        assert httpx.get(path, headers=auth).status_code == 401
    assert httpx.get(f"{lv.url}/v1/opportunities/nope", headers=good).status_code == 404
    shown = httpx.get(path, headers=good)
    assert shown.status_code == 200 and shown.json()["data"]["emails"] == ["ada@example.com"]
    assert (
        httpx.post(
            path + "/notes", content=b'{"value": "x"}', headers={**good, "Content-Type": "text/plain"}
        ).status_code
        == 415
    )
    for body in ({"text": "x"}, {"value": ""}, {"value": "x", "score": 7}, ["x"]):
        refused = httpx.post(path + "/notes", json=body, headers=good)
        assert refused.status_code == 400 and refused.json()["code"] == "BadRequest"
    assert httpx.post(f"{lv.url}/v1/opportunities/nope/notes", json={"value": "x"}, headers=good).status_code == 404
    assert httpx.put(path + "/notes", json={"value": "x"}, headers=good).status_code == 405
    taken = httpx.post(path + "/notes", json={"value": "Assessment completed (package p)\nScore: 3/4"}, headers=good)
    assert taken.status_code == 200 and taken.json()["data"]["noteId"]
    assert lv.writebacks(opportunity) == [{"status": "COMPLETED", "score": 3, "max_score": 4}]
    assert not lv.notes[opportunity][1:] and len(lv.rejected) == 11  # every refusal recorded


def _wrong_hub(routes: list[Route]) -> Iterator[str]:
    with serve_in_thread(Starlette(routes=routes)) as url:
        yield url


def test_recruitee_client_side_refuses_wrong_hub_answers(rt: RecruiteeSimulator) -> None:
    async def tests(request: Request) -> Response:
        return JSONResponse({"tests": [{"id": 1, "name": "x"}]})  # not a bare array

    async def send(request: Request) -> Response:
        return JSONResponse({"error": "nope"}, status_code=500)

    for url in _wrong_hub([Route("/tests", tests), Route("/send", send, methods=["POST"])]):
        rt.configure({"tests_url": f"{url}/tests", "send_candidate_url": f"{url}/send", "token": "t"})
        with pytest.raises(ProtocolViolation, match="JSON array"):
            rt.list_tests()
        with pytest.raises(ProtocolViolation, match="expected 2xx"):
            rt.send_candidate("1")
        assert rt.reports == {}  # a refused send leaves no report behind


def test_lever_client_side_signs_and_refuses_wrong_hub_answers(lv: LeverSimulator) -> None:
    received: list[dict[str, Any]] = []

    async def webhook(request: Request) -> Response:
        received.append(await request.json())
        return JSONResponse({"code": "Unauthorized", "message": "x"}, status_code=401)

    for url in _wrong_hub([Route("/webhook", webhook, methods=["POST"])]):
        lv.configure({"webhook_url": f"{url}/webhook"})
        opportunity = lv.new_opportunity()
        with pytest.raises(ProtocolViolation, match="expected 2xx"):
            lv.move(opportunity, next(iter(lv.stage_packages)))
    (body,) = received
    from assessment_hub.connectors.lever.signature import valid

    assert valid(lv.signature_token, body["token"], body["triggeredAt"], body["signature"])
    assert body["event"] == "candidateStageChange" and body["data"]["opportunityId"] == opportunity
    assert isinstance(body["triggeredAt"], int) and body["triggeredAt"] > 10**12  # Unix milliseconds


def test_recruitee_and_lever_simulators_are_found_by_tool() -> None:
    assert simulator_class("recruitee") is RecruiteeSimulator
    assert simulator_class("lever") is LeverSimulator
