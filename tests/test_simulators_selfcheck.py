"""The simulators check themselves: each refuses the write-backs that deviate from its ATS's protocol (server
side) and raises ``ProtocolViolation`` for a hub answer that deviates (client side), so a connector test that
passes against a simulator means the hub spoke the protocol. No hub here: raw requests on loopback, and a
deliberately wrong "hub" for the client side."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from assessment_hub.simulators.base import ProtocolViolation, simulator_class
from assessment_hub.simulators.smartrecruiters import RESULTS_PREFIX, TOKEN_PATH, SmartRecruitersSimulator, merge_patch
from assessment_hub.simulators.workable import CALLBACK_PREFIX, WorkableSimulator
from tests.support import serve_in_thread

pytestmark = pytest.mark.fakes  # self-checks of the ATS doubles, run with the live connector tests they serve


@pytest.fixture
def sr() -> Iterator[SmartRecruitersSimulator]:
    with SmartRecruitersSimulator(timeout=5) as simulator:
        yield simulator


@pytest.fixture
def wk() -> Iterator[WorkableSimulator]:
    with WorkableSimulator(timeout=5) as simulator:
        yield simulator


def _sr_token(sr: SmartRecruitersSimulator) -> str:
    answer = httpx.post(
        sr.url + TOKEN_PATH,
        data={"grant_type": "client_credentials", "client_id": sr.api_client_id, "client_secret": sr.api_client_secret},
    )
    assert answer.status_code == 200 and answer.json()["expires_in"] > 0
    return answer.json()["access_token"]


def _sr_order(sr: SmartRecruitersSimulator) -> str:
    order_id = "6f0c2a3e-0000-4000-8000-000000000001"
    sr.orders[order_id] = {"request": {}, "shown": {}, "patches": []}
    return order_id


def test_smartrecruiters_token_endpoint_refuses_what_deviates(sr: SmartRecruitersSimulator) -> None:
    good = {"grant_type": "client_credentials", "client_id": sr.api_client_id, "client_secret": sr.api_client_secret}
    assert (
        httpx.post(
            sr.url + TOKEN_PATH,
            auth=(sr.api_client_id, sr.api_client_secret),
            data={"grant_type": "client_credentials"},
        ).status_code
        == 200
    )
    for data, status, error in (
        ({**good, "client_secret": "x"}, 401, "invalid_client"),
        ({**good, "grant_type": "password"}, 400, "unsupported_grant_type"),
    ):
        answer = httpx.post(sr.url + TOKEN_PATH, data=data)
        assert (answer.status_code, answer.json()["error"]) == (status, error)
    as_json = httpx.post(sr.url + TOKEN_PATH, json=good)
    assert as_json.status_code == 400 and sr.rejected[-1].reason == "token: not a form body"
    assert httpx.get(sr.url + TOKEN_PATH).status_code == 405


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        ({"status": "DONE"}, "status"),
        ({"score": {"raw": 5, "max": 10}}, "score.min"),
        ({"score": {"raw": 5.5, "min": 0, "max": 10}}, "score.raw"),
        ({"score": {"raw": 11, "min": 0, "max": 10}}, "outside"),
        ({"attachments": [{"type": "FILE", "url": "https://x.example/r"}]}, "attachments[0].type"),
        ({"assessmentResults": [{"assessmentName": "Java"}]}, "assessmentId"),
        ({"passed": True}, "passed"),
        ([1, 2], "JSON object"),
    ],
)
def test_smartrecruiters_results_refuse_bodies_off_the_schema(
    sr: SmartRecruitersSimulator, body: Any, mentions: str
) -> None:
    order_id, token = _sr_order(sr), _sr_token(sr)
    answer = httpx.patch(
        f"{sr.url}{RESULTS_PREFIX}{order_id}/results", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 400 and mentions in answer.json()["message"], answer.text
    assert answer.json()["errors"][0]["code"] and sr.orders[order_id]["patches"] == []


def test_smartrecruiters_results_check_token_media_type_order_and_merge(sr: SmartRecruitersSimulator) -> None:
    order_id, token = _sr_order(sr), _sr_token(sr)
    url = f"{sr.url}{RESULTS_PREFIX}{order_id}/results"
    auth = {"Authorization": f"Bearer {token}"}
    assert httpx.patch(url, json={"status": "COMPLETED"}, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert (
        httpx.patch(url, content=b'{"status": "COMPLETED"}', headers={**auth, "Content-Type": "text/plain"}).status_code
        == 415
    )
    assert httpx.put(url, json={"status": "COMPLETED"}, headers=auth).status_code == 405
    unknown = f"{sr.url}{RESULTS_PREFIX}00000000-0000-4000-8000-000000000000/results"
    assert httpx.patch(unknown, json={"status": "COMPLETED"}, headers=auth).status_code == 404
    first = {"status": "COMPLETED", "score": {"raw": 8, "min": 0, "max": 10}, "scoreLabel": "Pass"}
    assert httpx.patch(url, json=first, headers=auth).status_code == 200
    merged = httpx.patch(
        url, content=b'{"scoreLabel": null}', headers={**auth, "Content-Type": "application/merge-patch+json"}
    )
    assert merged.status_code == 200 and merged.json() == {
        "status": "COMPLETED",
        "score": {"raw": 8, "min": 0, "max": 10},
    }
    sr.break_credentials()
    assert httpx.patch(url, json=first, headers=auth).status_code == 401  # revoked with the credentials
    assert merge_patch({"a": {"b": 1, "c": 2}}, {"a": {"b": None}, "d": [1]}) == {"a": {"c": 2}, "d": [1]}


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        ({"status": "done"}, "status"),
        ({"status": "completed", "assessment": {"score": "82"}}, "results_url"),
        ({"status": "completed", "results_url": "https://v.example/r"}, "assessment"),
        ({"status": "completed", "results_url": "https://v.example/r", "assessment": {"score": 82}}, "numeric string"),
        ({"status": "completed", "results_url": "https://v.example/r", "assessment": {"grade": "A"}}, "grade"),
        ({"status": "pending", "attachments": [{"url": "https://x.example"}]}, "description and url"),
        ({"status": "pending", "score": "1"}, "score: not a callback field"),
    ],
)
def test_workable_callback_refuses_bodies_off_the_protocol(wk: WorkableSimulator, body: Any, mentions: str) -> None:
    wk.assessments["1"] = {"request": {}, "assessment_id": "a", "shown": {}, "puts": []}
    answer = httpx.put(f"{wk.url}{CALLBACK_PREFIX}1", json=body, headers={"Authorization": f"Bearer {wk.api_token}"})
    assert answer.status_code == 422 and mentions in answer.json()["message"], answer.text
    assert wk.assessments["1"]["puts"] == []


def test_workable_callback_checks_token_media_type_method_and_assessment(wk: WorkableSimulator) -> None:
    wk.assessments["1"] = {"request": {}, "assessment_id": "a", "shown": {}, "puts": []}
    url, auth = f"{wk.url}{CALLBACK_PREFIX}1", {"Authorization": f"Bearer {wk.api_token}"}
    assert httpx.put(url, json={"status": "pending"}, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert (
        httpx.put(url, content=b'{"status": "pending"}', headers={**auth, "Content-Type": "text/plain"}).status_code
        == 415
    )
    assert httpx.patch(url, json={"status": "pending"}, headers=auth).status_code == 405
    assert httpx.put(f"{wk.url}{CALLBACK_PREFIX}2", json={"status": "pending"}, headers=auth).status_code == 404
    done = {
        "status": "completed",
        "results_url": "https://v.example/r",
        "assessment": {"score": "82", "details": {"Logic": "9/10 (90%)"}},
    }
    assert httpx.put(url, json=done, headers=auth).status_code == 200 and wk.shown("1") == done


def _wrong_hub(routes: list[Route]) -> Iterator[str]:
    with serve_in_thread(Starlette(routes=routes)) as url:
        yield url


def test_smartrecruiters_client_side_refuses_wrong_hub_answers(sr: SmartRecruitersSimulator) -> None:
    async def token(request: Request) -> Response:
        return JSONResponse({"access_token": "t"})  # no expires_in

    async def packages(request: Request) -> Response:
        return JSONResponse({"packages": []})  # not a bare array

    for url in _wrong_hub([Route("/oauth/token", token, methods=["POST"]), Route("/packages", packages)]):
        sr.configure({"base_url": url, "client_id": "c", "client_secret": "s"})
        with pytest.raises(ProtocolViolation, match="expires_in"):
            sr.fetch_token()
        sr._hub_token = ("t", 1e12)
        with pytest.raises(ProtocolViolation, match="bare JSON array"):
            sr.list_packages()


def test_workable_client_side_refuses_wrong_hub_answers(wk: WorkableSimulator) -> None:
    async def tests(request: Request) -> Response:
        return JSONResponse([{"id": 1, "name": "x"}])  # not {"tests": [...]}

    async def assessments(request: Request) -> Response:
        return JSONResponse({"id": "x"}, status_code=201)  # no assessment_id

    for url in _wrong_hub([Route("/tests", tests), Route("/assessments", assessments, methods=["POST"])]):
        wk.configure({"base_url": url, "token": "t"})
        with pytest.raises(ProtocolViolation, match="GET /tests"):
            wk.list_tests()
        with pytest.raises(ProtocolViolation, match="assessment_id"):
            wk.create_assessment("1")


def test_simulators_are_found_by_tool() -> None:
    assert simulator_class("smartrecruiters") is SmartRecruitersSimulator
    assert simulator_class("workable") is WorkableSimulator
    for missing in ("nope", "base", "../x"):
        with pytest.raises(KeyError):
            simulator_class(missing)
