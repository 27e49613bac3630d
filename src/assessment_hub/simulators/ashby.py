"""Simulated Ashby (Assessments Partner API).

Sources: /work/shared/reference/ats-protocols.md section 5 "Ashby" (5.1-5.7); Ashby's
published OpenAPI as copied in api-evangelist/ashby openapi/ashby-assessment-api-openapi.yml
[SPEC-DERIVED]; https://developers.ashbyhq.com/docs/responses ("Responses & Errors":
would-be 4xx errors come back as HTTP 200 with ``success: false`` and an ``errorInfo``
object). Part 2 of the reference adds nothing for Ashby.

Client side (Ashby -> hub), class ``AshbySimulator``, with the hub's set-up ``base_url`` and ``api_key``. All calls are RPC-style
``POST {base_url}/assessment.<action>`` with JSON bodies (ref 5.1) and
``Authorization: Basic base64(api_key + ":")`` (ref 5.2, see U1):
- ``list_assessments()``: body ``{}``; expects 200 ``{"success": true, "results": [{"assessment_type_id",
  "name", "description"?}]}`` (ref 5.3).
- ``start_assessment()``: body ``{assessment_type_id, candidate{ashby_id, first_name, last_name, email,
  ashby_profile_url}, application{ashby_id, status}, job{ashby_id, name, req_id?, ashby_job_url,
  hiringTeam[]}, additional_fields?}`` (ref 5.4). Expects 200 ``{"success": true, "results":
  {"assessment_id": str, "update_request"?: <assessment.update body>}}``; or 409 (candidate
  already being assessed); or 422 ``{"message": str}`` shown to the Ashby user. 409/422 raise
  ``AshbyRefusal``; any other answer raises ``ProtocolViolation``. An inline ``update_request``
  is validated and applied exactly like an ``assessment.update`` call.
- ``cancel_assessment()``: body ``{"assessment_id"}`` (ref 5.5); expects start's success envelope
  (``results.assessment_id`` required by the $ref) or an error envelope (``success: false``,
  raised as ``AshbyRefusal``).

Server side (hub -> Ashby), ``POST {api_base_url}/assessment.update`` (ref 5.7):
- Basic auth, Ashby API key as username, blank password (ref 5.2); non-empty User-Agent
  (Cloudflare 403 "error 1010" otherwise, ref 5.2 [SECONDARY]); JSON body.
- ``assessment_id`` (a known id from start), ``timestamp`` integer ms since epoch, strictly
  increasing per assessment; ``assessment_status`` required unless ``cancelled_reason``;
  ``assessment_profile_url`` required with ``assessment_result`` and of type ``url``; each blob
  ``{identifier, label, type, value, description?}`` with type in numeric_score,
  numeric_duration_minutes, url, string, boolean_success; ``metadata`` array of blobs with
  unique identifiers.
- Valid: HTTP 200 ``{"success": true, "results": {}}``. Invalid: HTTP 200 ``{"success": false,
  "errorInfo": {"code", "message", "requestId"}, "errors": [message]}``.

UNCONFIRMED choices (tolerant reading for the hub in brackets):
- U1 The auth scheme Ashby uses towards the partner (ref 5.2, 16.3). Fake sends Basic with
  the key as username; ``auth_scheme="bearer"`` sends ``Bearer <key>`` instead.
  [Hub: accept both.]
- U2 Bad credentials on assessment.update: fake answers HTTP 401 with the error envelope
  (code ``invalid_credentials``). [Hub: treat 401/403 and that code as a credentials error.]
- U3 Missing User-Agent: fake answers HTTP 403 with a plain-text "error code: 1010" body.
- U4 ``Accept: application/json; version=1`` is observed practice, not required; fake records
  but does not require it. [Hub: send it.]
- U5 Timestamp rules: seconds-since-epoch, floats, strings and non-increasing values are
  rejected (``success: false``); Ashby's real handling of stale timestamps is unknown.
  A timestamp < 10**11 is taken as "seconds, not ms". [Hub: integer ms, strictly increasing.]
- U6 Blob value/type consistency (numeric_* -> number, url -> http(s) string, string -> string,
  boolean_success -> bool) is our reading of the type enum.
- U7 Unknown top-level keys in assessment.update are rejected (real API may ignore them).
- U8 Updates after completion/cancellation are accepted and recorded.
- U9 Success body of assessment.update is undocumented; fake returns ``{"success": true,
  "results": {}}``. [Hub: check ``success`` only.]
- U10 Application status values: fake sends ``Active`` by default.
- U11 Ashby's timeout/retry policy on partner calls is unknown; configurable timeout (30 s).
- U12 Shape of ``job.hiringTeam[]`` items: $ref to Ashby's hiringTeam member object; fake sends
  ``{email, firstName, lastName, role, userId}``. [Hub: read defensively, all keys optional.]
"""

from __future__ import annotations

import itertools
import secrets
import uuid
from typing import Any, ClassVar

import httpx

from assessment_hub.simulators.base import (
    ProtocolViolation,
    RecordedRequest,
    Reply,
    Simulator,
    basic_auth_value,
    is_http_url,
    is_number,
    json_of,
    media_type,
    parse_basic,
    violation,
)

__all__ = ["AshbySimulator", "AshbyRefusal", "ProtocolViolation", "SETUP_KEYS", "BLOB_TYPES", "blob_problems"]

SETUP_KEYS = ("base_url", "api_key")
BLOB_TYPES = ("numeric_score", "numeric_duration_minutes", "url", "string", "boolean_success")
UPDATE_KEYS = {
    "assessment_id",
    "timestamp",
    "assessment_status",
    "assessment_profile_url",
    "assessment_result",
    "cancelled_reason",
    "metadata",
}
_req = itertools.count(1)


class AshbyRefusal(Exception):
    """The hub refused a call in a way the protocol allows (409, 422, success:false)."""

    def __init__(self, status: int, message: str | None, body: Any = None) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status, self.message, self.body = status, message, body


class AshbySimulator(Simulator):
    """``api_key``/``base_url``: the hub's set-up (what Ashby sends, where); ``ashby_api_key``: the key this
    Ashby issued, which the hub must send back (a fresh one unless given); ``auth_scheme``: ``basic`` or
    ``bearer`` (U1)."""

    tool: ClassVar[str] = "ashby"
    label: ClassVar[str] = "Ashby"
    setup_keys: ClassVar[tuple[str, ...]] = SETUP_KEYS

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        ashby_api_key: str | None = None,
        auth_scheme: str = "basic",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/") if base_url else None
        self.api_key = api_key or ""  # what Ashby sends to the hub
        self.ashby_api_key = ashby_api_key or "ashby-" + secrets.token_hex(16)  # what the hub must send to Ashby
        self.auth_scheme = auth_scheme
        self.api_key_info_permission = True  # False: the Ashby key lacks apiKeysRead (see _api_key_info)
        # assessment_id -> {"last_timestamp", "status", "result", "profile_url", "cancelled_reason",
        #                    "metadata" (identifier -> blob), "updates" [bodies], "started": start body}
        self.assessments: dict[str, dict[str, Any]] = {}

    def configure(self, setup: dict[str, str]) -> None:
        super().configure(setup)
        self.base_url, self.api_key = self.setup["base_url"].rstrip("/"), self.setup["api_key"]

    @property
    def api_base_url(self) -> str:
        """What to configure in the hub as this Ashby integration's API base URL."""
        return self.url

    def hub_settings(self) -> dict[str, str]:
        return {"api_key": self.ashby_api_key, "api_base_url": self.url}

    def break_credentials(self) -> None:
        self.ashby_api_key = "ashby-" + secrets.token_hex(16)

    def register_assessment(self, assessment_id: str) -> None:
        """Make the simulator know an assessment id without going through start_assessment()."""
        self.assessments.setdefault(assessment_id, _new_state())

    # ------------------------------------------------------------------ product side (page, demo, CLI)

    def order(self, package_id: str, email: str, first_name: str = "Ada", last_name: str = "Lovelace") -> str:
        results = self.start_assessment(
            package_id, candidate={"email": email, "first_name": first_name, "last_name": last_name}
        )
        key = str(results["assessment_id"])
        self.note(f"assessment {key} started: {package_id} for {email}")
        return key

    def packages_for_page(self) -> list[tuple[str, str]]:
        return [(r["assessment_type_id"], r["name"]) for r in self.list_assessments()]

    def writebacks(self, key: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        shown_max: Any = None
        for update in self.assessments.get(key, {}).get("updates", []):
            for blob in update.get("metadata") or []:
                if blob.get("identifier") == "max_score":
                    shown_max = blob.get("value")
            status = str((update.get("assessment_status") or {}).get("value", "")).upper()
            result: Any = (update.get("assessment_result") or {}).get("value")
            out.append(
                {
                    "status": {"STARTED": "OPEN"}.get(status, status or "CANCELLED"),
                    "score": float(result) if is_number(result) else None,
                    "max_score": float(shown_max) if is_number(shown_max) else None,
                }
            )
        return out

    def orders_view(self) -> list[dict[str, Any]]:
        rows = []
        for aid, st in self.assessments.items():
            started = st["started"] or {}
            last = (self.writebacks(aid) or [{}])[-1]
            score = last.get("score")
            rows.append(
                {
                    "assessment": aid,
                    "type": started.get("assessment_type_id", ""),
                    "candidate": (started.get("candidate") or {}).get("email", ""),
                    "status": (st["status"] or {}).get("value", "(nothing yet)"),
                    "score": (
                        f"{score:g}/{last['max_score']:g}"
                        if score is not None and last.get("max_score")
                        else score or ""
                    ),
                    "report": (st["profile_url"] or {}).get("value", ""),
                    "cancelled": (st["cancelled_reason"] or {}).get("value", ""),
                    "details": "; ".join(
                        f"{b.get('label')}: {b.get('value')}" for b in st["metadata"].values() if b["type"] == "string"
                    ),
                }
            )
        return rows

    # =====================================================================
    # Client side: Ashby -> hub
    # =====================================================================
    def _headers(self, api_key: str | None = None) -> dict[str, str]:
        key = self.api_key if api_key is None else api_key
        auth = basic_auth_value(key) if self.auth_scheme == "basic" else f"Bearer {key}"
        return {"Authorization": auth, "Content-Type": "application/json", "Accept": "application/json"}

    def raw_call(self, action: str, body: Any = None, *, api_key: str | None = None, **kwargs: Any) -> httpx.Response:
        if not self.base_url:
            raise ValueError("base_url (the hub's Ashby base URL) is not configured")
        return self.call_hub(
            "POST", f"{self.base_url}/{action}", self._headers(api_key), json={} if body is None else body, **kwargs
        )

    def list_assessments(self) -> list[dict[str, Any]]:
        resp = self.raw_call("assessment.list", {})
        violation(
            resp.status_code == 200, f"Ashby assessment.list: expected 200, got {resp.status_code}: {resp.text[:200]!r}"
        )
        data = json_of(resp, "Ashby assessment.list")
        violation(
            isinstance(data, dict) and data.get("success") is True,
            f"Ashby assessment.list: success must be true: {data!r}",
        )
        results = data.get("results")
        violation(isinstance(results, list), "Ashby assessment.list: results must be an array")
        for i, r in enumerate(results):
            violation(
                isinstance(r, dict) and isinstance(r.get("assessment_type_id"), str) and r["assessment_type_id"],
                f"Ashby assessment.list: results[{i}].assessment_type_id must be a non-empty string",
            )
            violation(isinstance(r.get("name"), str), f"Ashby assessment.list: results[{i}].name must be a string")
            violation(
                r.get("description") is None or isinstance(r["description"], str),
                f"Ashby assessment.list: results[{i}].description must be a string",
            )
        return results

    def start_body(
        self,
        assessment_type_id: str,
        *,
        candidate: dict[str, Any] | None = None,
        application: dict[str, Any] | None = None,
        job: dict[str, Any] | None = None,
        additional_fields: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        cid, aid, jid = (str(uuid.uuid4()) for _ in range(3))
        body: dict[str, Any] = {
            "assessment_type_id": assessment_type_id,
            "candidate": {
                "ashby_id": cid,
                "first_name": "Grace",
                "last_name": "Hopper",
                "email": "grace@example.com",
                "ashby_profile_url": f"https://app.ashbyhq.com/candidates/{cid}",
                **(candidate or {}),
            },
            "application": {"ashby_id": aid, "status": "Active", **(application or {})},
            "job": {
                "ashby_id": jid,
                "name": "Backend Engineer",
                "req_id": "REQ-42",
                "ashby_job_url": f"https://app.ashbyhq.com/jobs/{jid}",
                "hiringTeam": [
                    {
                        "email": "hm@example.com",
                        "firstName": "Hilda",
                        "lastName": "Manager",
                        "role": "Hiring Manager",
                        "userId": str(uuid.uuid4()),
                    }
                ],
                **(job or {}),
            },
        }
        if additional_fields is not None:
            body["additional_fields"] = additional_fields
        return body

    def start_assessment(self, assessment_type_id: str, **kwargs: Any) -> dict[str, Any]:
        """POST assessment.start; returns ``results`` ({assessment_id, update_request?})."""
        body = self.start_body(assessment_type_id, **kwargs)
        resp = self.raw_call("assessment.start", body)
        if resp.status_code == 409:
            raise AshbyRefusal(409, "candidate is already being assessed", resp.text)
        if resp.status_code == 422:
            data = json_of(resp, "Ashby assessment.start 422")
            violation(
                isinstance(data, dict) and isinstance(data.get("message"), str) and data["message"],
                f'Ashby assessment.start: a 422 must carry {{"message": str}}, got {data!r}',
            )
            raise AshbyRefusal(422, data["message"], data)
        violation(
            resp.status_code == 200,
            f"Ashby assessment.start: expected 200/409/422, got {resp.status_code}: {resp.text[:200]!r}",
        )
        data = json_of(resp, "Ashby assessment.start")
        violation(
            isinstance(data, dict) and data.get("success") is True,
            f"Ashby assessment.start: success must be true: {data!r}",
        )
        results = data.get("results")
        violation(isinstance(results, dict), "Ashby assessment.start: results must be an object")
        aid = results.get("assessment_id")
        violation(
            isinstance(aid, str) and bool(aid),
            "Ashby assessment.start: results.assessment_id must be a non-empty string",
        )
        state = self.assessments.setdefault(aid, _new_state())
        state["started"] = body
        if results.get("update_request") is not None:
            upd = results["update_request"]
            problems = self._check_update(upd, expected_id=aid)
            violation(not problems, "Ashby assessment.start: invalid update_request: " + "; ".join(problems))
            self._apply_update(upd)
        return results

    def cancel_assessment(self, assessment_id: str) -> dict[str, Any]:
        resp = self.raw_call("assessment.cancel", {"assessment_id": assessment_id})
        violation(
            resp.status_code == 200,
            f"Ashby assessment.cancel: expected 200, got {resp.status_code}: {resp.text[:200]!r}",
        )
        data = json_of(resp, "Ashby assessment.cancel")
        violation(
            isinstance(data, dict) and isinstance(data.get("success"), bool),
            f"Ashby assessment.cancel: success must be a boolean: {data!r}",
        )
        if data["success"] is False:
            info = data.get("errorInfo") or {}
            raise AshbyRefusal(200, info.get("message") or str(data.get("errors")), data)
        results = data.get("results")
        violation(
            isinstance(results, dict) and isinstance(results.get("assessment_id"), str),
            "Ashby assessment.cancel: results.assessment_id must be a string (start's success schema)",
        )
        return results

    # =====================================================================
    # Server side: hub -> Ashby (assessment.update)
    # =====================================================================
    def _fail(self, code: str, message: str) -> Reply:
        body = {
            "success": False,
            "errorInfo": {"code": code, "message": message, "requestId": f"req_{next(_req)}"},
            "errors": [message],
        }
        return Reply(200, body, reason=f"{code}: {message}")

    def bad_credentials_reply(self) -> Reply:
        return Reply(
            401,
            {
                "success": False,
                "errorInfo": {"code": "invalid_credentials", "message": "Invalid API key"},
                "errors": ["invalid_credentials"],
            },
        )

    def outage_reply(self) -> Reply:
        return Reply(503, "upstream connect error", media_type="text/plain")

    def handle(self, rec: RecordedRequest) -> Reply:
        if not rec.headers.get("user-agent", "").strip():
            return Reply(
                403, "error code: 1010", media_type="text/plain", reason="missing User-Agent (Cloudflare 1010)"
            )
        if rec.method != "POST":
            return Reply(
                405, {"success": False, "errors": ["method_not_allowed"]}, reason=f"method {rec.method} instead of POST"
            )
        if rec.path == "/apiKey.info":
            return self._api_key_info(rec)
        if rec.path != "/assessment.update":
            return Reply(404, {"success": False, "errors": ["unknown_endpoint"]}, reason=f"unknown endpoint {rec.path}")
        creds = parse_basic(rec.headers.get("authorization"))
        if creds != (self.ashby_api_key, ""):
            r = self.bad_credentials_reply()
            r.reason = f"401 Authorization is not Basic(ashby_api_key, blank): {rec.headers.get('authorization')!r}"
            return r
        if media_type(rec.headers.get("content-type")) != "application/json":
            return self._fail(
                "invalid_input", f"Content-Type must be application/json, got {rec.headers.get('content-type')!r}"
            )
        if rec.json is None and rec.body:
            return self._fail("invalid_input", "body is not valid JSON")
        problems = self._check_update(rec.json)
        if problems:
            return self._fail("invalid_input", "; ".join(problems))
        self._apply_update(rec.json)
        return Reply(200, {"success": True, "results": {}})

    def _api_key_info(self, rec: RecordedRequest) -> Reply:
        """``POST /apiKey.info`` (https://developers.ashbyhq.com/reference/api-key): 200 with the key's title for
        the right key; 401 without one, 403 for a wrong one. ``api_key_info_permission=False`` models a key
        without ``apiKeysRead``: 403 ``missing_endpoint_permission``."""
        creds = parse_basic(rec.headers.get("authorization"))
        if creds is None:
            return self.bad_credentials_reply()
        if creds != (self.ashby_api_key, ""):
            return Reply(
                403,
                {"success": False, "errorInfo": {"code": "invalid_api_key", "message": "Invalid API key"}},
                reason="wrong Ashby API key",
            )
        if not self.api_key_info_permission:
            return Reply(
                403,
                {
                    "success": False,
                    "errorInfo": {"code": "missing_endpoint_permission", "message": "Missing permission apiKeysRead"},
                },
            )
        return Reply(200, {"success": True, "results": {"title": "hub key", "createdAt": "2024-01-01T00:00:00Z"}})

    def _check_update(self, body: Any, expected_id: str | None = None) -> list[str]:
        if not isinstance(body, dict):
            return ["body must be a JSON object"]
        problems = [f"unknown key {k!r}" for k in body if k not in UPDATE_KEYS]
        aid = body.get("assessment_id")
        if not isinstance(aid, str) or not aid:
            problems.append("assessment_id is required (string)")
        elif expected_id is not None and aid != expected_id:
            problems.append(f"update_request.assessment_id {aid!r} != results.assessment_id {expected_id!r}")
        elif expected_id is None and aid not in self.assessments:
            problems.append(f"assessment {aid!r} not found")
        ts = body.get("timestamp")
        if not isinstance(ts, int) or isinstance(ts, bool):
            problems.append(f"timestamp must be an integer (ms since epoch), got {ts!r}")
        elif ts < 10**11:
            problems.append(f"timestamp {ts} looks like seconds, must be milliseconds since epoch")
        elif isinstance(aid, str) and aid in self.assessments:
            last = self.assessments[aid]["last_timestamp"]
            if last is not None and ts <= last:
                problems.append(f"timestamp {ts} is not after the previous update's {last}")
        if "assessment_status" not in body and "cancelled_reason" not in body:
            problems.append("assessment_status is required unless cancelled_reason is provided")
        for key in ("assessment_status", "assessment_profile_url", "assessment_result", "cancelled_reason"):
            if key in body:
                problems += [f"{key}: {p}" for p in blob_problems(body[key])]
        if "assessment_result" in body and "assessment_profile_url" not in body:
            problems.append("assessment_profile_url is required when assessment_result is sent")
        if isinstance(body.get("assessment_profile_url"), dict) and body["assessment_profile_url"].get("type") != "url":
            problems.append("assessment_profile_url must be a blob of type url")
        if "metadata" in body:
            meta = body["metadata"]
            if not isinstance(meta, list):
                problems.append("metadata must be an array of blobs")
            else:
                seen: set[Any] = set()
                for i, blob in enumerate(meta):
                    problems += [f"metadata[{i}]: {p}" for p in blob_problems(blob)]
                    ident = blob.get("identifier") if isinstance(blob, dict) else None
                    if ident in seen:
                        problems.append(f"metadata identifier {ident!r} is not unique")
                    seen.add(ident)
        return problems

    def _apply_update(self, body: dict[str, Any]) -> None:
        st = self.assessments.setdefault(body["assessment_id"], _new_state())
        st["last_timestamp"] = body["timestamp"]
        st["updates"].append(body)
        for key, slot in (
            ("assessment_status", "status"),
            ("assessment_result", "result"),
            ("assessment_profile_url", "profile_url"),
            ("cancelled_reason", "cancelled_reason"),
        ):
            if key in body:
                st[slot] = body[key]
        for blob in body.get("metadata") or []:
            st["metadata"][blob["identifier"]] = blob


def _new_state() -> dict[str, Any]:
    return {
        "last_timestamp": None,
        "status": None,
        "result": None,
        "profile_url": None,
        "cancelled_reason": None,
        "metadata": {},
        "updates": [],
        "started": None,
    }


def blob_problems(blob: Any) -> list[str]:
    """Rules for an Ashby data blob (ref 5.7)."""
    if not isinstance(blob, dict):
        return ["must be an object {identifier, label, type, value}"]
    out = [f"unknown blob key {k!r}" for k in blob if k not in ("identifier", "label", "description", "type", "value")]
    if not isinstance(blob.get("identifier"), str) or not blob.get("identifier"):
        out.append("identifier is required (non-empty string)")
    if not isinstance(blob.get("label"), str):
        out.append("label is required (string)")
    if "description" in blob and not isinstance(blob["description"], str):
        out.append("description must be a string")
    t, v = blob.get("type"), blob.get("value")
    if t not in BLOB_TYPES:
        out.append(f"type must be one of {BLOB_TYPES}, got {t!r}")
    if "value" not in blob or not isinstance(v, (str, int, float, bool)):
        out.append(f"value is required and must be a string, number or boolean, got {v!r}")
    elif t in ("numeric_score", "numeric_duration_minutes") and not is_number(v):
        out.append(f"{t} value must be a number, got {v!r}")
    elif t == "url" and not is_http_url(v):
        out.append(f"url value must be an http(s) URL, got {v!r}")
    elif t == "string" and not isinstance(v, str):
        out.append(f"string value must be a string, got {v!r}")
    elif t == "boolean_success" and not isinstance(v, bool):
        out.append(f"boolean_success value must be a boolean, got {v!r}")
    return out


SIMULATOR = AshbySimulator
