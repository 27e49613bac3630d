"""Simulated Workable (assessment providers): ats-protocols.md §4 (auth and ``GET /tests`` OFFICIAL, the rest
SECONDARY: one third-party design doc), ats-protocols-2.md §2.

Client side (Workable -> hub), with the hub's set-up ``base_url`` and ``token`` (``Authorization: Bearer``):
- ``list_tests()``: ``GET {base_url}/tests``: 200 ``{"tests": [{"id", "name"}]}``, ids numbers or strings.
- ``create_assessment(test_id, ...)``: ``POST {base_url}/assessments`` with ``test_id``, ``job_shortcode``,
  ``job_title``, ``callback_url`` (this simulator's ``/assessments/{n}``) and ``candidate{first_name, last_name,
  email, phone}``: any 2xx with ``{"assessment_id": <non-empty>}``; the same body again must give the same id
  (or 409).

Server side (hub -> Workable), refusing what deviates:
- ``PUT /assessments/{n}`` (the ``callback_url``): ``Authorization: Bearer {api_token}`` (the token this simulator
  issued, else 401), ``Content-Type: application/json`` (else 415), a JSON object with only the documented keys
  (else 422): ``status`` in ``pending|completed|rejected|expired``; on ``completed`` an http(s) ``results_url``
  and an ``assessment`` object whose ``score`` is a numeric string, ``grade`` in ``failed|passed|excelled``,
  ``summary`` a string, ``details`` an object of strings/numbers, ``duration`` ``HH:MM:SS``; ``attachments``
  ``[{description, url}]``. Unknown assessment 404. A PUT replaces what Workable shows. Errors are
  ``{"status", "message"}``.
"""

from __future__ import annotations

import itertools
import re
import secrets
from typing import Any, ClassVar

import httpx

from assessment_hub.simulators.base import (
    ProtocolViolation,
    RecordedRequest,
    Reply,
    Simulator,
    bearer_of,
    expect_success,
    is_number,
    media_type,
    violation,
)

CALLBACK_PREFIX = "/assessments/"
STATUSES = ("pending", "completed", "rejected", "expired")
GRADES = ("failed", "passed", "excelled")
BODY_KEYS = {"status", "results_url", "assessment", "attachments"}
ASSESSMENT_KEYS = {"score", "grade", "summary", "details", "duration"}
_DURATION = re.compile(r"^\d{2,}:[0-5]\d:[0-5]\d$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_ids = itertools.count(8823119)


def error(status: int, message: str) -> dict[str, Any]:
    return {"status": status, "message": message}


def callback_problems(body: Any) -> list[str]:
    """Why ``body`` is not a valid callback ``PUT`` body (empty when it is)."""
    if not isinstance(body, dict):
        return ["the body must be a JSON object"]
    problems = [f"{k}: not a callback field" for k in sorted(set(body) - BODY_KEYS)]
    status = body.get("status")
    if status not in STATUSES:
        problems.append(f"status: one of {', '.join(STATUSES)}, got {status!r}")
    if status == "completed":
        url = body.get("results_url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            problems.append("results_url: an http(s) URL is mandatory on completed")
        if not isinstance(body.get("assessment"), dict):
            problems.append("assessment: an object is required on completed")
    assessment = body.get("assessment")
    if isinstance(assessment, dict):
        problems += [f"assessment.{k}: not an assessment field" for k in sorted(set(assessment) - ASSESSMENT_KEYS)]
        score = assessment.get("score")
        if score is not None and not (isinstance(score, str) and _NUMBER.match(score)):
            problems.append(f"assessment.score: must be a numeric string, got {score!r}")
        if assessment.get("grade") is not None and assessment["grade"] not in GRADES:
            problems.append(f"assessment.grade: one of {', '.join(GRADES)}")
        if assessment.get("summary") is not None and not isinstance(assessment["summary"], str):
            problems.append("assessment.summary: must be a string")
        details = assessment.get("details")
        if details is not None and (
            not isinstance(details, dict) or not all(isinstance(v, str) or is_number(v) for v in details.values())
        ):
            problems.append("assessment.details: an object of strings or numbers")
        duration = assessment.get("duration")
        if duration is not None and not (isinstance(duration, str) and _DURATION.match(duration)):
            problems.append("assessment.duration: HH:MM:SS")
    elif assessment is not None:
        problems.append("assessment: must be an object")
    attachments = body.get("attachments")
    if attachments is not None:
        if not isinstance(attachments, list):
            problems.append("attachments: must be an array")
        else:
            for i, a in enumerate(attachments):
                if not isinstance(a, dict) or set(a) != {"description", "url"}:
                    problems.append(f"attachments[{i}]: exactly description and url")
                elif not str(a["url"]).startswith(("http://", "https://")):
                    problems.append(f"attachments[{i}].url: an http(s) URL")
    return problems


class WorkableSimulator(Simulator):
    tool: ClassVar[str] = "workable"
    label: ClassVar[str] = "Workable"
    setup_keys: ClassVar[tuple[str, ...]] = ("base_url", "token")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.api_token = "wk-" + secrets.token_hex(16)
        """The token Workable issues when the integration is created: the hub's ``api_token`` setting."""
        self.assessments: dict[str, dict[str, Any]] = {}  # callback id -> {"request", "assessment_id", "shown", "puts"}

    def hub_settings(self) -> dict[str, str]:
        return {"api_token": self.api_token, "allowed_callback_hosts": self.netloc}

    def break_credentials(self) -> None:
        self.api_token = "wk-" + secrets.token_hex(16)

    # ================================================================== client side: Workable -> hub

    def request(self, method: str, path: str, *, token: str | None = None, **kwargs: Any) -> httpx.Response:
        self.require_setup()
        auth = {"Authorization": f"Bearer {self.setup['token'] if token is None else token}"}
        return self.call_hub(method, self.setup["base_url"].rstrip("/") + path, auth, **kwargs)

    def list_tests(self) -> list[dict[str, Any]]:
        response = self.request("GET", "/tests")
        violation(response.status_code == 200, f"GET /tests: expected 200, got {response.status_code}")
        body = response.json()
        violation(isinstance(body, dict) and isinstance(body.get("tests"), list), f"GET /tests: {body!r}")
        for test in body["tests"]:
            violation(
                isinstance(test, dict)
                and isinstance(test.get("id"), (str, int))
                and not isinstance(test.get("id"), bool)
                and isinstance(test.get("name"), str),
                f"GET /tests: each test needs an id and a name, got {test!r}",
            )
        return body["tests"]

    def packages_for_page(self) -> list[tuple[str, str]]:
        return [(str(t["id"]), t["name"]) for t in self.list_tests()]

    def assessment_body(
        self,
        test_id: str,
        *,
        email: str = "candidate@example.com",
        first_name: str = "Ada",
        last_name: str = "Lovelace",
        phone: str | None = "+30 210 000 0000",
        job_shortcode: str = "GROOV005",
        job_title: str = "AI Engineer",
    ) -> dict[str, Any]:
        """A ``POST /assessments`` body with a fresh ``callback_url``."""
        callback = str(next(_ids))
        return {
            "test_id": test_id,
            "job_shortcode": job_shortcode,
            "job_title": job_title,
            "callback_url": f"{self.url}{CALLBACK_PREFIX}{callback}",
            "candidate": {"first_name": first_name, "last_name": last_name, "email": email, "phone": phone},
        }

    def send_assessment(self, body: dict[str, Any], **kwargs: Any) -> httpx.Response:
        """``POST /assessments`` with ``body`` as it is; registers its callback so the hub can PUT to it."""
        callback = str(body.get("callback_url", "")).rsplit("/", 1)[-1]
        self.assessments.setdefault(callback, {"request": body, "assessment_id": None, "shown": {}, "puts": []})
        return self.request("POST", "/assessments", json=body, **kwargs)

    def create_assessment(self, test_id: str, email: str = "candidate@example.com", **kwargs: Any) -> str:
        """Order ``test_id`` for a candidate; returns the callback id (the key of the order at Workable)."""
        body = self.assessment_body(test_id, email=email, **kwargs)
        callback = body["callback_url"].rsplit("/", 1)[-1]
        response = self.send_assessment(body)
        if not response.is_success:
            self.assessments.pop(callback, None)
        expect_success(response, "POST /assessments")
        answer = response.json()
        violation(
            isinstance(answer, dict)
            and isinstance(answer.get("assessment_id"), (str, int))
            and answer["assessment_id"],
            f"POST /assessments: expected {{'assessment_id': ...}}, got {answer!r}",
        )
        self.assessments[callback]["assessment_id"] = str(answer["assessment_id"])
        self.note(f"assessment {callback} created: test {test_id} for {email} (vendor id {answer['assessment_id']})")
        return callback

    def order(self, package_id: str, email: str, first_name: str = "Ada", last_name: str = "Lovelace") -> str:
        return self.create_assessment(package_id, email, first_name=first_name, last_name=last_name)

    def writebacks(self, key: str) -> list[dict[str, Any]]:
        out = []
        for put in self.assessments.get(key, {}).get("puts", []):
            score = (put.get("assessment") or {}).get("score")
            out.append(
                {
                    "status": str(put.get("status", "")).upper(),
                    "score": float(score) if score is not None else None,
                    "max_score": 100.0 if score is not None else None,
                }
            )
        return out

    def orders_view(self) -> list[dict[str, Any]]:
        rows = []
        for callback, a in self.assessments.items():
            shown = a["shown"]
            assessment = shown.get("assessment") or {}
            rows.append(
                {
                    "assessment": callback,
                    "vendor id": a["assessment_id"] or "",
                    "test": a["request"].get("test_id"),
                    "candidate": (a["request"].get("candidate") or {}).get("email"),
                    "status": shown.get("status", "(nothing yet)"),
                    "score": f"{assessment['score']}%" if "score" in assessment else "",
                    "summary": assessment.get("summary", ""),
                    "details": "; ".join(f"{k}: {v}" for k, v in (assessment.get("details") or {}).items()),
                    "results_url": shown.get("results_url", ""),
                }
            )
        return rows

    def shown(self, key: str) -> dict[str, Any]:
        return self.assessments[key]["shown"]

    # ================================================================== server side: hub -> Workable

    def handle(self, rec: RecordedRequest) -> Reply:
        if not rec.path.startswith(CALLBACK_PREFIX):
            return Reply(404, error(404, f"No such endpoint {rec.path}"), reason=f"unknown path {rec.path}")
        if rec.method != "PUT":
            return Reply(405, error(405, "Method not allowed"), reason=f"callback: {rec.method}, not PUT")
        if bearer_of(rec.headers) != self.api_token:
            return Reply(401, error(401, "Invalid access token"), reason="callback: wrong or missing Bearer api_token")
        if media_type(rec.headers.get("content-type")) != "application/json":
            return Reply(415, error(415, "Content-Type must be application/json"), reason="callback: not JSON")
        if rec.json is None:
            return Reply(400, error(400, "The body is not JSON"), reason="callback: body not JSON")
        problems = callback_problems(rec.json)
        if problems:
            message = "; ".join(problems)
            return Reply(422, error(422, message), reason=message)
        callback = rec.path[len(CALLBACK_PREFIX) :]
        found = self.assessments.get(callback)
        if found is None:
            return Reply(404, error(404, "Unknown assessment"), reason=f"unknown assessment {callback}")
        found["shown"] = rec.json
        found["puts"].append(rec.json)
        self.note(f"assessment {callback}: {rec.json['status']} written by the hub")
        return Reply(200, {"status": 200, "message": "OK"})


SIMULATOR = WorkableSimulator

__all__ = ["ProtocolViolation", "WorkableSimulator", "callback_problems"]
