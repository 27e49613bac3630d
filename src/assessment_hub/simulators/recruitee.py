"""Simulated Recruitee (Partners API, assessment partner kind): ats-protocols.md §6, ats-protocols-2.md §3
(OFFICIAL-PARTIAL).

Client side (Recruitee -> hub), with the hub's set-up ``tests_url``, ``send_candidate_url``, ``token`` (what the
vendor registers as the partner's ``urls.tests``/``urls.send_candidate`` and the customer pastes as its token):
- ``list_tests()``: ``GET {tests_url}`` with ``Authorization: Bearer {token}``; expects 200 and a bare JSON array
  of ``{"id", "name"}`` (id an integer or a string, name a string).
- ``send_candidate(test_id, ...)``: ``POST {send_candidate_url}``, JSON ``{first_name, last_name, email,
  candidate_id, company_id, report_id, test_id, test_name}`` (ids integers except ``test_id``, a string;
  ``report_id`` a UUID Recruitee mints; extra inputs such as ``phone`` as their own keys); expects 2xx.
  ``send_body`` sends any body as it is (for tests of the hub's refusals).

Server side (hub -> Recruitee), refusing what deviates:
- ``PATCH /api/p/{codename}/reports/{report_id}`` (the hub's ``api_base_url`` is ``{simulator}/api``): header
  ``RT-PARTNER-SECRET`` equal to the partner's secret (else 401), ``Content-Type: application/json`` (else 415),
  a JSON object of report keys only (``status`` in ``sent|completed|failed|canceled``, ``score`` text,
  ``completed_at`` an ISO 8601 instant, ``subtitle`` text, ``properties``, ``urls``; else 422), the partner's
  codename and a report Recruitee created (else 404). Each PATCH is a partial update of the report; 200 answers
  the report. Errors are ``{"error": message}`` (Recruitee's own error body is UNCONFIRMED).
"""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import datetime
from typing import Any, ClassVar

import httpx

from assessment_hub.simulators.base import (
    ProtocolViolation,
    RecordedRequest,
    Reply,
    Simulator,
    expect_success,
    media_type,
    violation,
)

REPORTS = re.compile(r"^/api/p/(?P<codename>[^/]+)/reports/(?P<report_id>[^/]+)$")
STATUSES = ("sent", "completed", "failed", "canceled")
REPORT_KEYS = {"status", "score", "completed_at", "subtitle", "properties", "urls"}
SHOWN_STATUS = {"sent": "OPEN", "completed": "COMPLETED", "failed": "COMPLETED", "canceled": "CANCELLED"}
_FRACTION = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(?:/\s*(-?\d+(?:\.\d+)?))?\s*$")


def score_of(text: Any) -> tuple[float | None, float | None]:
    """``"41/50"`` -> (41, 50); ``"10"`` -> (10, None); anything else -> (None, None)."""
    found = _FRACTION.match(text) if isinstance(text, str) else None
    if not found:
        return None, None
    return float(found.group(1)), float(found.group(2)) if found.group(2) is not None else None


def report_problems(body: Any) -> list[str]:
    """Why ``body`` is not a report partial update (empty when it is)."""
    if not isinstance(body, dict):
        return ["the body must be a JSON object (a report)"]
    problems = [f"{k}: not a report field" for k in sorted(set(body) - REPORT_KEYS)]
    if not body:
        problems.append("the body changes nothing")
    if "status" in body and body["status"] not in STATUSES:
        problems.append(f"status: one of {', '.join(STATUSES)}, got {body['status']!r}")
    for key in ("score", "subtitle"):
        if key in body and not isinstance(body[key], str):
            problems.append(f"{key}: must be text, got {body[key]!r}")
    if "completed_at" in body:
        value = body["completed_at"]
        try:
            assert isinstance(value, str) and "T" in value
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            assert parsed.tzinfo is not None
        except (AssertionError, ValueError):
            problems.append(f"completed_at: an ISO 8601 instant with its offset, got {value!r}")
    if "properties" in body and not isinstance(body["properties"], (list, dict)):
        problems.append("properties: an array or an object")
    if "urls" in body and not isinstance(body["urls"], dict):
        problems.append("urls: an object")
    return problems


class RecruiteeSimulator(Simulator):
    tool: ClassVar[str] = "recruitee"
    label: ClassVar[str] = "Recruitee"
    setup_keys: ClassVar[tuple[str, ...]] = ("tests_url", "send_candidate_url", "token")

    def __init__(self, *, company_id: int = 4242, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.company_id = company_id
        self.codename = "acme-assessments"
        self.partner_secret = secrets.token_urlsafe(24)
        """The partner's ``secret`` (``GET /partner``): the hub's ``partner_secret`` setting."""
        self.reports: dict[str, dict[str, Any]] = {}  # report_id -> {"request", "shown", "patches"}
        self._next_candidate = 1000

    def hub_settings(self) -> dict[str, str]:
        """The ``integrations create --setting`` values for an integration against this simulator."""
        return {"codename": self.codename, "partner_secret": self.partner_secret, "api_base_url": f"{self.url}/api"}

    def break_credentials(self) -> None:
        """Regenerate the partner secret (``POST /partner/regenerate-secret``): the hub's one stops working."""
        self.partner_secret = secrets.token_urlsafe(24)

    # ================================================================== client side: Recruitee -> hub

    def _call(self, method: str, key: str, *, token: str | None = None, **kwargs: Any) -> httpx.Response:
        self.require_setup()
        token = self.setup["token"] if token is None else token
        auth = {"Authorization": f"Bearer {token}"} if token else {}  # "": no Authorization header at all
        return self.call_hub(method, self.setup[key], auth, **kwargs)

    def list_tests(self, *, token: str | None = None) -> list[dict[str, Any]]:
        """``GET {tests_url}``: the tests Recruitee offers its users (checked against the protocol)."""
        response = self._call("GET", "tests_url", token=token)
        violation(response.status_code == 200, f"GET tests_url: expected 200, got {response.status_code}")
        violation(media_type(response.headers.get("content-type")) == "application/json", "GET tests_url: not JSON")
        tests = response.json()
        violation(isinstance(tests, list), f"GET tests_url: expected a JSON array, got {tests!r}")
        for i, t in enumerate(tests):
            violation(
                isinstance(t, dict)
                and isinstance(t.get("name"), str)
                and (isinstance(t.get("id"), str) or (isinstance(t.get("id"), int) and not isinstance(t["id"], bool))),
                f"GET tests_url: [{i}] must be {{id, name}}, got {t!r}",
            )
        return tests

    def packages_for_page(self) -> list[tuple[str, str]]:
        return [(str(t["id"]), t["name"]) for t in self.list_tests()]

    def candidate_body(
        self,
        test_id: str,
        *,
        email: str = "jon@example.com",
        first_name: str = "Jon",
        last_name: str = "Snow",
        report_id: str | None = None,
        candidate_id: int | None = None,
        test_name: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """A send-candidate body (ats-protocols-2.md §3.3); a fresh ``report_id`` unless given."""
        if candidate_id is None:
            self._next_candidate += 1
            candidate_id = self._next_candidate
        body: dict[str, Any] = {
            "first_name": first_name,
            "last_name": last_name,
            "email": email,
            "candidate_id": candidate_id,
            "company_id": self.company_id,
            "report_id": report_id or str(uuid.uuid4()),
            "test_id": str(test_id),
            "test_name": test_name or f"Test {test_id}",
        }
        body.update(extra)
        return body

    def send_body(self, body: Any, *, token: str | None = None, **kwargs: Any) -> httpx.Response:
        """``POST {send_candidate_url}`` with ``body`` as it is."""
        return self._call("POST", "send_candidate_url", token=token, json=body, **kwargs)

    def send_candidate(self, test_id: str, email: str = "jon@example.com", **kwargs: Any) -> str:
        """The user clicks Send: Recruitee creates the report (status ``sent``) and posts the candidate; returns
        the ``report_id``."""
        body = self.candidate_body(test_id, email=email, **kwargs)
        report_id = body["report_id"]
        self.reports.setdefault(report_id, {"request": body, "shown": {"status": "sent"}, "patches": []})
        response = self.send_body(body)
        if not response.is_success:
            self.reports.pop(report_id, None)
        expect_success(response, "POST send_candidate_url")
        self.note(f"report {report_id} sent: test {test_id} for {email}")
        return report_id

    def order(self, package_id: str, email: str, first_name: str = "Ada", last_name: str = "Lovelace") -> str:
        return self.send_candidate(package_id, email, first_name=first_name, last_name=last_name)

    def writebacks(self, key: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        shown: dict[str, Any] = {}
        for patch in self.reports.get(key, {}).get("patches", []):
            shown = {**shown, **patch}
            score, maximum = score_of(shown.get("score"))
            out.append({"status": SHOWN_STATUS.get(shown.get("status", "")), "score": score, "max_score": maximum})
        return out

    def orders_view(self) -> list[dict[str, Any]]:
        return [
            {
                "report": report_id,
                "test": report["request"]["test_id"],
                "candidate": report["request"]["email"],
                "status": report["shown"].get("status", ""),
                "score": report["shown"].get("score", ""),
                "subtitle": report["shown"].get("subtitle", ""),
                "completed_at": report["shown"].get("completed_at", ""),
            }
            for report_id, report in self.reports.items()
        ]

    def shown(self, report_id: str) -> dict[str, Any]:
        """What Recruitee shows on the report now."""
        return self.reports[report_id]["shown"]

    # ================================================================== server side: hub -> Recruitee

    def handle(self, rec: RecordedRequest) -> Reply:
        found = REPORTS.match(rec.path)
        if found is None:
            return Reply(404, {"error": f"No such endpoint {rec.path}"}, reason=f"unknown path {rec.path}")
        if rec.method != "PATCH":
            return Reply(405, {"error": "Method not allowed"}, reason=f"reports: {rec.method}")
        if rec.headers.get("rt-partner-secret") != self.partner_secret:
            return Reply(401, {"error": "Unauthorized"}, reason="reports: wrong or missing RT-PARTNER-SECRET")
        if media_type(rec.headers.get("content-type")) != "application/json":
            return Reply(
                415,
                {"error": "Unsupported media type"},
                reason=f"reports: content-type {rec.headers.get('content-type')!r}",
            )
        if rec.json is None:
            return Reply(422, {"error": "The body is not JSON"}, reason="reports: not JSON")
        problems = report_problems(rec.json)
        if problems:
            message = "; ".join(problems)
            return Reply(422, {"error": message}, reason=message)
        report = self.reports.get(found["report_id"])
        if found["codename"] != self.codename or report is None:
            return Reply(404, {"error": "Report not found"}, reason="reports: unknown codename or report")
        report["shown"] = {**report["shown"], **rec.json}
        report["patches"].append(rec.json)
        self.note(f"report {found['report_id']}: {report['shown'].get('status')} written by the hub")
        return Reply(200, {"report": {"id": found["report_id"], **report["shown"]}})


SIMULATOR = RecruiteeSimulator

__all__ = ["ProtocolViolation", "RecruiteeSimulator", "report_problems", "score_of"]
