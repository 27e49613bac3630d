"""Simulated SmartRecruiters (Assessment API 2021): ats-protocols-2.md §1 (SPEC-DERIVED from SmartRecruiters'
readme registries ``assessment-partner-api.json``/``assessment-partner-app.json``), part 1 §3.

Client side (SmartRecruiters -> hub), with the hub's set-up ``base_url``, ``client_id``, ``client_secret``:
- ``fetch_token()``: ``POST {base_url}/oauth/token``, form ``grant_type=client_credentials&client_id&client_secret``;
  expects 200 JSON with a string ``access_token`` and an integer ``expires_in`` (§1.1); a refusal is 400 with
  ``{"error"}`` (RFC 6749 §5.2). The token is reused until it expires, as SmartRecruiters would.
- ``list_packages()``: ``GET {base_url}/packages`` (Bearer): 200 with a bare array of ``AssessmentPackage``
  (``id``, ``name``, ``description``, ``type`` in SmartRecruiters' ``AssessmentType`` enum, ``assessments[]`` each
  with ``id``, ``description``, ``type``), or 204 without a body (§1.3).
- ``get_package(id)``: ``GET {base_url}/packages/{id}``: 200 one package or 404.
- ``place_order(...)``: ``POST {base_url}/packages/orders`` with an ``AssessmentPackageOrderRequest`` (§1.4): 202
  expected (the body an empty object); its ``resultCallbackURL`` is this simulator's
  ``/assessment-api/v202010/orders/{orderId}/results``. ``order(..., send_twice=True)`` re-sends the same body.

Server side (hub -> SmartRecruiters), refusing what deviates:
- ``POST /identity/oauth/token`` (``{api_base_url}/identity/oauth/token``): form, ``grant_type=client_credentials``
  and the credentials SmartRecruiters issued to the vendor (``api_client_id``/``api_client_secret``, as form fields or
  HTTP Basic); 200 ``{access_token, token_type, expires_in}``; wrong credentials 401 ``{"error": "invalid_client"}``.
- ``PATCH /assessment-api/v202010/orders/{orderId}/results`` (§1.6): Bearer with a token this simulator issued
  (else 401), ``Content-Type`` ``application/json`` or ``application/merge-patch+json`` (else 415), a JSON object
  of ``PackageResult`` keys only (else 400): ``status`` in the enum, ``score`` ``{raw, min, max}`` integers with
  ``min <= raw <= max`` (UNCONFIRMED: the fake is strict), ``attachments[]`` ``{type: VIDEO_URL|PDF_URL|OTHER_URL,
  url}``, ``assessmentResults[]`` each with ``assessmentId``; unknown order 404. The body is applied as an RFC 7396
  merge patch to what the order shows; 200 echoes the merged result. Errors use ``ErrorResponse``
  ``{"message", "errors": [{"code", "message"}]}``.
"""

from __future__ import annotations

import base64
import secrets
import time
import uuid
from typing import Any, ClassVar

import httpx

from assessment_hub.simulators.base import (
    ProtocolViolation,
    RecordedRequest,
    Reply,
    Simulator,
    bearer_of,
    is_number,
    media_type,
    violation,
)

RESULTS_PREFIX = "/assessment-api/v202010/orders/"
TOKEN_PATH = "/identity/oauth/token"
ASSESSMENT_TYPES = (
    "VIDEO_INTERVIEW",
    "BEHAVIORAL_ASSESSMENT",
    "BACKGROUND_CHECK",
    "REFERENCE_CHECK",
    "SKILL_TEST",
    "INLINE_ASSESSMENT",
)
STATUSES = ("IN_PROGRESS", "PENDING", "COMPLETED", "REJECTED", "EXPIRED")
ATTACHMENT_TYPES = ("VIDEO_URL", "PDF_URL", "OTHER_URL")
RESULT_KEYS = {
    "status",
    "score",
    "scoreLabel",
    "summary",
    "description",
    "assessmentPackageDate",
    "submissionDate",
    "name",
    "attachments",
    "assessmentResults",
}
SUB_RESULT_KEYS = {
    "assessmentId",
    "assessmentName",
    "name",
    "summary",
    "assessmentDate",
    "submissionDate",
    "score",
    "scoreLabel",
    "status",
    "attachments",
}
TOKEN_TTL_S = 3600


def error_body(message: str, code: str) -> dict[str, Any]:
    """SmartRecruiters' ``ErrorResponse``."""
    return {"message": message, "errors": [{"code": code, "message": message}]}


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396: objects merge key by key, ``null`` removes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def score_problems(score: Any, where: str) -> list[str]:
    if score is None:
        return []
    if not isinstance(score, dict) or set(score) - {"raw", "min", "max"}:
        return [f"{where}: must be an object {{raw, min, max}}"]
    problems = [f"{where}.{k}: required integer" for k in ("raw", "min", "max") if not isinstance(score.get(k), int)]
    problems += [f"{where}.{k}: must be an integer, got {score[k]!r}" for k in score if isinstance(score[k], bool)]
    if not problems and not score["min"] <= score["raw"] <= score["max"]:
        problems.append(f"{where}: raw {score['raw']} is outside [{score['min']}, {score['max']}]")
    return problems


def attachment_problems(attachments: Any, where: str) -> list[str]:
    if attachments is None:
        return []
    if not isinstance(attachments, list):
        return [f"{where}: must be an array"]
    problems = []
    for i, a in enumerate(attachments):
        if not isinstance(a, dict) or a.get("type") not in ATTACHMENT_TYPES:
            problems.append(f"{where}[{i}].type: one of {', '.join(ATTACHMENT_TYPES)}")
        elif not isinstance(a.get("url"), str) or not a["url"].startswith(("http://", "https://")):
            problems.append(f"{where}[{i}].url: must be an http(s) URL")
    return problems


def result_problems(body: Any) -> list[str]:
    """Why ``body`` is not a ``PackageResult`` merge patch (empty when it is)."""
    if not isinstance(body, dict):
        return ["the body must be a JSON object (PackageResult)"]
    problems = [f"{k}: not a PackageResult field" for k in sorted(set(body) - RESULT_KEYS)]
    if body.get("status") is not None and body["status"] not in STATUSES:
        problems.append(f"status: one of {', '.join(STATUSES)}, got {body['status']!r}")
    problems += score_problems(body.get("score"), "score")
    for key in ("scoreLabel", "summary", "name", "submissionDate", "assessmentPackageDate"):
        if body.get(key) is not None and not isinstance(body[key], str):
            problems.append(f"{key}: must be a string")
    problems += attachment_problems(body.get("attachments"), "attachments")
    subs = body.get("assessmentResults")
    if subs is not None:
        if not isinstance(subs, list):
            problems.append("assessmentResults: must be an array")
        else:
            for i, sub in enumerate(subs):
                where = f"assessmentResults[{i}]"
                if not isinstance(sub, dict):
                    problems.append(f"{where}: must be an object")
                    continue
                problems += [f"{where}.{k}: not an AssessmentResult field" for k in sorted(set(sub) - SUB_RESULT_KEYS)]
                if not isinstance(sub.get("assessmentId"), str) or not sub["assessmentId"]:
                    problems.append(f"{where}.assessmentId: required")
                if sub.get("status") is not None and sub["status"] not in STATUSES:
                    problems.append(f"{where}.status: one of {', '.join(STATUSES)}")
                problems += score_problems(sub.get("score"), f"{where}.score")
                problems += attachment_problems(sub.get("attachments"), f"{where}.attachments")
    return problems


def package_problems(package: Any, where: str) -> list[str]:
    if not isinstance(package, dict):
        return [f"{where}: must be an AssessmentPackage object"]
    problems = [
        f"{where}.{k}: required string" for k in ("id", "name", "description") if not isinstance(package.get(k), str)
    ]
    if package.get("type") not in ASSESSMENT_TYPES:
        problems.append(f"{where}.type: one of {', '.join(ASSESSMENT_TYPES)}, got {package.get('type')!r}")
    assessments = package.get("assessments")
    if not isinstance(assessments, list):
        problems.append(f"{where}.assessments: required array")
    else:
        for i, a in enumerate(assessments):
            if not isinstance(a, dict) or not isinstance(a.get("id"), str) or not isinstance(a.get("description"), str):
                problems.append(f"{where}.assessments[{i}]: id and description required")
            elif a.get("type") not in ASSESSMENT_TYPES:
                problems.append(f"{where}.assessments[{i}].type: not an AssessmentType")
    return problems


class SmartRecruitersSimulator(Simulator):
    tool: ClassVar[str] = "smartrecruiters"
    label: ClassVar[str] = "SmartRecruiters"
    setup_keys: ClassVar[tuple[str, ...]] = ("base_url", "client_id", "client_secret")

    def __init__(self, *, company_id: str = "AcmeInc", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.company_id = company_id
        self.api_client_id = "sr-" + secrets.token_hex(8)
        self.api_client_secret = secrets.token_urlsafe(24)
        """What SmartRecruiters returns to the vendor at the credential exchange: the hub's ``api_client_id`` and
        ``api_client_secret`` settings."""
        self.issued: dict[str, float] = {}  # access token -> expiry (time.time())
        self.orders: dict[str, dict[str, Any]] = {}  # orderId -> {"request", "shown", "patches"}
        self.token_requests = 0
        self._hub_token: tuple[str, float] | None = None

    def hub_settings(self) -> dict[str, str]:
        """The ``integrations create --setting`` values for an integration against this simulator."""
        return {
            "api_client_id": self.api_client_id,
            "api_client_secret": self.api_client_secret,
            "api_base_url": self.url,
            "allowed_callback_hosts": self.netloc,
        }

    def break_credentials(self) -> None:
        """Revoke the credentials the hub holds (and every token issued with them)."""
        self.api_client_secret = secrets.token_urlsafe(24)
        self.issued.clear()

    # ================================================================== client side: SmartRecruiters -> hub

    def _base(self) -> str:
        self.require_setup()
        return self.setup["base_url"].rstrip("/")

    def request(self, method: str, path: str, *, token: str | None = None, **kwargs: Any) -> httpx.Response:
        """A raw call to the hub at ``{base_url}{path}`` with ``Authorization: Bearer`` (a fresh token unless given)."""
        auth = {"Authorization": f"Bearer {token if token is not None else self.fetch_token()}"}
        return self.call_hub(method, self._base() + path, auth, **kwargs)

    def token_response(
        self, client_id: str, client_secret: str, grant_type: str = "client_credentials"
    ) -> httpx.Response:
        return self.call_hub(
            "POST",
            self._base() + "/oauth/token",
            {},
            data={"grant_type": grant_type, "client_id": client_id, "client_secret": client_secret},
        )

    def fetch_token(self, *, fresh: bool = False) -> str:
        """An access token from the hub's ``/oauth/token`` (reused until 30 s before it expires)."""
        if not fresh and self._hub_token and self._hub_token[1] > time.time() + 30:
            return self._hub_token[0]
        self.token_requests += 1
        response = self.token_response(self.setup.get("client_id", ""), self.setup.get("client_secret", ""))
        violation(
            response.status_code == 200,
            f"/oauth/token: expected 200, got {response.status_code}: {response.text[:200]}",
        )
        violation(media_type(response.headers.get("content-type")) == "application/json", "/oauth/token: not JSON")
        body = response.json()
        violation(
            isinstance(body, dict) and isinstance(body.get("access_token"), str) and body["access_token"] != "",
            f"/oauth/token: no access_token in {body!r}",
        )
        violation(
            isinstance(body.get("expires_in"), int)
            and not isinstance(body["expires_in"], bool)
            and body["expires_in"] > 0,
            f"/oauth/token: expires_in must be a positive integer, got {body.get('expires_in')!r}",
        )
        self._hub_token = (body["access_token"], time.time() + body["expires_in"])
        return body["access_token"]

    def list_packages(self) -> list[dict[str, Any]]:
        """``GET /packages``: the packages SmartRecruiters offers recruiters (checked against the schema)."""
        response = self.request("GET", "/packages", headers={"requester": '{"email": "recruiter@acme.example"}'})
        if response.status_code == 204:
            violation(response.content == b"", "GET /packages: a 204 answer has no body")
            return []
        violation(response.status_code == 200, f"GET /packages: expected 200/204, got {response.status_code}")
        packages = response.json()
        violation(isinstance(packages, list), f"GET /packages: expected a bare JSON array, got {packages!r}")
        problems = [p for i, pkg in enumerate(packages) for p in package_problems(pkg, f"[{i}]")]
        violation(not problems, "GET /packages: " + "; ".join(problems))
        return packages

    def packages_for_page(self) -> list[tuple[str, str]]:
        return [(p["id"], p["name"]) for p in self.list_packages()]

    def get_package(self, package_id: str) -> dict[str, Any] | None:
        """``GET /packages/{id}``: the package, or None when the hub answers 404."""
        response = self.request("GET", f"/packages/{package_id}")
        if response.status_code == 404:
            return None
        violation(response.status_code == 200, f"GET /packages/{{id}}: expected 200/404, got {response.status_code}")
        package = response.json()
        problems = package_problems(package, "package")
        violation(not problems, "GET /packages/{id}: " + "; ".join(problems))
        return package

    def order_body(
        self,
        package_id: str,
        *,
        email: str = "jane@example.com",
        first_name: str = "Jane",
        last_name: str = "Doe",
        candidate_id: str | None = None,
        job_id: str | None = None,
        job_title: str = "Backend Engineer",
        order_id: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """An ``AssessmentPackageOrderRequest`` (§1.4); its order gets a fresh ``orderId`` unless given."""
        order_id = order_id or str(uuid.uuid4())
        job_id = job_id or str(uuid.uuid4())
        body: dict[str, Any] = {
            "resultCallbackURL": f"{self.url}{RESULTS_PREFIX}{order_id}/results",
            "assessmentPackageId": package_id,
            "companyId": self.company_id,
            "jobId": job_id,
            "job": {
                "id": job_id,
                "title": job_title,
                "refNumber": "REF-7",
                "location": {"city": "Berlin", "country": "Germany", "countryCode": "de", "remote": False},
            },
            "candidate": {
                "id": candidate_id or str(uuid.uuid4()),
                "email": email,
                "firstName": first_name,
                "lastName": last_name,
                "applicationLanguage": "en",
                "internal": False,
                "createdOn": "2024-05-01T10:00:00.000Z",
            },
            "requester": {"userId": "u-42", "email": "recruiter@acme.example"},
            "fields": {"partner-field-id": "partner-field-value"},
        }
        body.update(extra)
        return body

    def send_order(self, body: dict[str, Any], **kwargs: Any) -> httpx.Response:
        """``POST /packages/orders`` with ``body`` as it is (for tests of the hub's refusals)."""
        return self.request("POST", "/packages/orders", json=body, **kwargs)

    def place_order(self, package_id: str, email: str = "jane@example.com", **kwargs: Any) -> str:
        """Order ``package_id`` for a candidate; returns SmartRecruiters' ``orderId`` (in ``resultCallbackURL``)."""
        body = self.order_body(package_id, email=email, **kwargs)
        order_id = body["resultCallbackURL"][len(self.url + RESULTS_PREFIX) :].split("/", 1)[0]
        self.orders.setdefault(order_id, {"request": body, "shown": {}, "patches": []})
        response = self.send_order(body)
        if response.status_code != 202:
            self.orders.pop(order_id, None)
        violation(
            response.status_code == 202,
            f"POST /packages/orders: expected 202, got {response.status_code}: {response.text[:300]}",
        )
        violation(
            response.content in (b"", b"{}") or response.json() == {}, "POST /packages/orders: 202 body must be {}"
        )
        self.note(f"order {order_id} placed: package {package_id} for {email}")
        return order_id

    def order(self, package_id: str, email: str, first_name: str = "Ada", last_name: str = "Lovelace") -> str:
        return self.place_order(package_id, email, first_name=first_name, last_name=last_name)

    def writebacks(self, key: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        shown: dict[str, Any] = {}
        for patch in self.orders.get(key, {}).get("patches", []):
            shown = merge_patch(shown, patch)
            score = shown.get("score") or {}
            out.append({"status": shown.get("status"), "score": score.get("raw"), "max_score": score.get("max")})
        return out

    def orders_view(self) -> list[dict[str, Any]]:
        rows = []
        for order_id, order in self.orders.items():
            shown = order["shown"]
            score = shown.get("score") or {}
            rows.append(
                {
                    "order": order_id,
                    "package": order["request"]["assessmentPackageId"],
                    "candidate": order["request"]["candidate"]["email"],
                    "status": shown.get("status", "(nothing yet)"),
                    "score": f"{score['raw']}/{score['max']}" if score else "",
                    "scoreLabel": shown.get("scoreLabel", ""),
                    "summary": shown.get("summary", ""),
                    "attachments": ", ".join(a["url"] for a in shown.get("attachments") or []),
                    "sub-results": "; ".join(
                        f"{s.get('assessmentName')}: {(s.get('score') or {}).get('raw')}/{(s.get('score') or {}).get('max')}"
                        for s in shown.get("assessmentResults") or []
                    ),
                }
            )
        return rows

    # ================================================================== server side: hub -> SmartRecruiters

    def handle(self, rec: RecordedRequest) -> Reply:
        if rec.path == TOKEN_PATH:
            if rec.method != "POST":
                return Reply(405, error_body("Method not allowed", "METHOD_NOT_ALLOWED"), reason="token: not POST")
            return self._token(rec)
        if rec.path.startswith(RESULTS_PREFIX) and rec.path.endswith("/results"):
            if rec.method != "PATCH":
                return Reply(
                    405, error_body("Method not allowed", "METHOD_NOT_ALLOWED"), reason=f"results: {rec.method}"
                )
            return self._results(rec, rec.path[len(RESULTS_PREFIX) : -len("/results")])
        return Reply(404, error_body(f"No such endpoint {rec.path}", "NOT_FOUND"), reason=f"unknown path {rec.path}")

    def _token(self, rec: RecordedRequest) -> Reply:
        if media_type(rec.headers.get("content-type")) != "application/x-www-form-urlencoded":
            return Reply(400, {"error": "invalid_request"}, reason="token: not a form body")
        form = rec.form()
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        scheme, _, encoded = (rec.headers.get("authorization") or "").partition(" ")
        if scheme.lower() == "basic":  # RFC 6749 §2.3.1 also allows HTTP Basic
            try:
                client_id, _, client_secret = base64.b64decode(encoded).decode().partition(":")
            except ValueError:
                return Reply(400, {"error": "invalid_request"}, reason="token: bad Basic header")
        if form.get("grant_type") != "client_credentials":
            return Reply(
                400, {"error": "unsupported_grant_type"}, reason=f"token: grant_type {form.get('grant_type')!r}"
            )
        if client_id != self.api_client_id or client_secret != self.api_client_secret:
            return Reply(401, {"error": "invalid_client"}, reason="token: wrong client credentials")
        token = secrets.token_urlsafe(24)
        self.issued[token] = time.time() + TOKEN_TTL_S
        return Reply(200, {"access_token": token, "token_type": "bearer", "expires_in": TOKEN_TTL_S})

    def _results(self, rec: RecordedRequest, order_id: str) -> Reply:
        token = bearer_of(rec.headers)
        if token is None or self.issued.get(token, 0) < time.time():
            return Reply(
                401, error_body("Invalid or expired access token", "UNAUTHORIZED"), reason="results: bad token"
            )
        if media_type(rec.headers.get("content-type")) not in ("application/json", "application/merge-patch+json"):
            return Reply(
                415,
                error_body("Unsupported payload format", "UNSUPPORTED_MEDIA_TYPE"),
                reason=f"results: content-type {rec.headers.get('content-type')!r}",
            )
        if rec.json is None:
            return Reply(400, error_body("Invalid result partial update provided", "INVALID_BODY"), reason="not JSON")
        problems = result_problems(rec.json)
        if problems:
            message = "Invalid result partial update provided: " + "; ".join(problems)
            return Reply(400, error_body(message, "INVALID_RESULT"), reason=message)
        order = self.orders.get(order_id)
        if order is None:
            return Reply(
                404, error_body("Order with given id does not exist", "ORDER_NOT_FOUND"), reason="unknown order"
            )
        order["shown"] = merge_patch(order["shown"], rec.json)
        order["patches"].append(rec.json)
        self.note(f"order {order_id}: result {order['shown'].get('status')} written by the hub")
        return Reply(200, order["shown"])

    def shown(self, order_id: str) -> dict[str, Any]:
        """What SmartRecruiters shows for the order now (the merged ``PackageResult``)."""
        return self.orders[order_id]["shown"]


SIMULATOR = SmartRecruitersSimulator

__all__ = ["ProtocolViolation", "SmartRecruitersSimulator", "merge_patch", "result_problems", "is_number"]
