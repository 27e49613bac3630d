"""Simulated Greenhouse (Assessment Partner API).

Sources (see /work/shared/reference/ats-protocols.md section 2, "Greenhouse";
part 2 adds nothing for Greenhouse except the generic timeout note in its section 5;
official docs: grnhse/greenhouse-api-docs source/includes/assessment/*.md,
https://developers.greenhouse.io/assessment.html):

Client side (Greenhouse -> hub), class ``GreenhouseSimulator``, with the hub's set-up (``SETUP_KEYS``):
- Auth on every call: HTTP Basic, username = customer's API key, empty password
  (ref 2.2). Keys must be shorter than 171 chars (ref 2.2), enforced in __init__.
- ``list_tests()``: ``GET {list_tests_url}``, no params; expects 200 + a *bare JSON
  array* of ``{"partner_test_id": str, "partner_test_name": str}`` (ref 2.3, 2.9).
- ``send_test()``: ``POST {send_test_url}`` JSON body per ref 2.4 (candidate
  first_name, last_name, preferred_name, email, phone_number, resume_url,
  greenhouse_profile_url; sent_by; url). Greenhouse writes absent values as
  ``null`` rather than omitting them (ref 2.8). Expects 200 +
  ``{"partner_interview_id": str}`` (ref 2.4).
- ``test_status(id)``: ``GET {test_status_url}?partner_interview_id=<id>``; expects
  200 + ``partner_status`` (str, required), ``partner_profile_url`` (str, required
  when ``partner_status == "complete"``), ``partner_score`` (number, optional),
  ``metadata`` (flat object of primitives, optional) (ref 2.6).
- ``response_error()``: ``POST {response_error_url}`` with ``api_call`` + ``errors``
  (array of strings) + optional keys (ref 2.7); expects 200.
- On a malformed hub response the fake does what Greenhouse does: it POSTs the
  problem to ``response_error_url`` (ref 2.1 step 5, 2.7), then raises
  ``ProtocolViolation``.
- ``401`` for a bad key and ``404`` for an unknown ``partner_interview_id`` are the
  documented vendor error codes (ref 2.8); ``expect_error()`` checks those.

Server side (hub -> Greenhouse), the PATCH nudge (ref 2.5):
- ``PATCH {url}`` where url = ``{fake}/integrations/testing_partners/take_home_tests/{id}``
  (mint with ``new_take_home_test_url()``). No body, no parameters. Response is a
  status code only. After an accepted PATCH the fake, like Greenhouse, calls the
  hub's ``test_status`` for that instance (``auto_pull``) and stores the parsed
  answer in ``pulled[partner_interview_id]``.

UNCONFIRMED choices (tolerant reading for the hub in brackets):
- U1 Whether Greenhouse checks the Basic credential on the PATCH (ref 2.2, 16.4).
  Fake requires ``Authorization: Basic base64(api_key + ":")`` by default
  (``require_patch_auth=True``) and answers 401 otherwise. [Hub: always send it;
  it is harmless if unchecked.]
- U2 Status code of a successful PATCH: fake answers ``200`` with an empty body.
  [Hub: treat any 2xx as success.]
- U3 A PATCH with a body or query string: real Greenhouse probably ignores it; the
  fake rejects it with 400 so the hub is kept body-less as documented. [Hub: send no body.]
- U4 Unknown take-home-test id: fake answers 404 (Greenhouse's generic not-found).
- U5 PATCH for a hired/inactive candidate (``set_inactive()``): docs say statuses
  only update for active, unhired candidates; fake answers 200 but does NOT pull.
- U6 ``preferred_name`` is "required" in the table but may have no value; the fake
  sends the key with ``null`` unless given. [Hub: accept null/missing.]
- U7 ``partner_test_id`` may arrive as a JSON number (old doc example); opt in with
  ``send_test(..., partner_test_id_as_number=True)``. [Hub: accept both.]
- U8 Greenhouse's timeout on vendor calls is undocumented (ref 16.4, part 2 s.5);
  the fake's client timeout is configurable (default 30 s).
- U9 Body of the PATCH auth failure: fake returns ``{"message": ...}`` JSON; only the
  status code should be relied on.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any, ClassVar, NoReturn

import httpx

from assessment_hub.simulators.base import (
    ProtocolViolation,
    RecordedRequest,
    Reply,
    Simulator,
    is_http_url,
    is_number,
    parse_basic,
    wait_until,
)

__all__ = ["GreenhouseSimulator", "ProtocolViolation", "SETUP_KEYS", "validate_test_status"]

SETUP_KEYS = ("list_tests_url", "send_test_url", "test_status_url", "response_error_url", "api_key")
PATCH_PREFIX = "/integrations/testing_partners/take_home_tests/"

_ids = itertools.count(17681532)


class GreenhouseSimulator(Simulator):
    """The set-up values may be given here or pasted later (``configure``); ``api_key`` is the hub-minted key
    Greenhouse sends, and the one the hub's PATCH must carry (U1)."""

    tool: ClassVar[str] = "greenhouse"
    label: ClassVar[str] = "Greenhouse"
    setup_keys: ClassVar[tuple[str, ...]] = SETUP_KEYS

    def __init__(
        self,
        *,
        api_key: str | None = None,
        list_tests_url: str | None = None,
        send_test_url: str | None = None,
        test_status_url: str | None = None,
        response_error_url: str | None = None,
        auto_pull: bool = True,
        report_errors: bool = True,
        require_patch_auth: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.api_key = ""
        self._set_key(api_key or "")
        self.list_tests_url = list_tests_url
        self.send_test_url = send_test_url
        self.test_status_url = test_status_url
        self.response_error_url = response_error_url
        self.auto_pull = auto_pull
        self.report_errors = report_errors
        self.require_patch_auth = require_patch_auth
        # server-side state
        self.take_home_tests: dict[str, dict[str, Any]] = {}  # id -> {"partner_interview_id", "active"}
        self.pulled: dict[str, list[dict[str, Any]]] = {}  # partner_interview_id -> test_status answers
        self.pull_errors: list[str] = []
        self.errors_reported: list[dict[str, Any]] = []  # bodies we POSTed to response_error
        self.sent: dict[str, dict[str, Any]] = {}  # partner_interview_id -> the send_test body
        self._pull_threads: list[threading.Thread] = []

    def _set_key(self, api_key: str) -> None:
        if len(api_key) >= 171:
            raise ValueError("Greenhouse API keys must be shorter than 171 characters (ref 2.2)")
        self.api_key = api_key

    def configure(self, setup: dict[str, str]) -> None:
        super().configure(setup)
        self._set_key(self.setup["api_key"])
        for key in SETUP_KEYS[:-1]:
            setattr(self, key, self.setup[key])

    def hub_settings(self) -> dict[str, str]:
        return {"allowed_callback_hosts": self.netloc}

    def stop(self) -> None:
        super().stop()
        for t in self._pull_threads:
            t.join(self.timeout + 1)

    # ------------------------------------------------------------------ product side (page, demo, CLI)

    def order(self, package_id: str, email: str, first_name: str = "Ada", last_name: str = "Lovelace") -> str:
        pid = self.send_test(package_id, email=email, first_name=first_name, last_name=last_name)
        self.note(f"test {package_id} sent for {email}: partner_interview_id {pid}")
        return pid

    def packages_for_page(self) -> list[tuple[str, str]]:
        return [(t["partner_test_id"], t["partner_test_name"]) for t in self.list_tests()]

    def writebacks(self, key: str) -> list[dict[str, Any]]:
        """One entry per ``test_status`` answer pulled after a PATCH (Greenhouse pulls what the hub shows)."""
        out = []
        for answer in self.pulled.get(key, []):
            status = str(answer.get("partner_status") or "")
            max_score: Any = (answer.get("metadata") or {}).get("Max Score")
            out.append(
                {
                    "status": "COMPLETED" if status == "complete" else status.upper(),
                    "score": float(answer["partner_score"]) if is_number(answer.get("partner_score")) else None,
                    "max_score": float(max_score) if is_number(max_score) else None,
                }
            )
        return out

    def orders_view(self) -> list[dict[str, Any]]:
        rows = []
        for pid, body in self.sent.items():
            answer = (self.pulled.get(pid) or [{}])[-1]
            last = (self.writebacks(pid) or [{}])[-1]
            score = last.get("score")
            rows.append(
                {
                    "partner_interview_id": pid,
                    "test": body.get("partner_test_id"),
                    "candidate": (body.get("candidate") or {}).get("email"),
                    "status": answer.get("partner_status", "(nothing yet)"),
                    "score": (
                        f"{score:g}/{last['max_score']:g}"
                        if score is not None and last.get("max_score")
                        else score or ""
                    ),
                    "profile": answer.get("partner_profile_url") or "",
                    "metadata": "; ".join(f"{k}: {v}" for k, v in (answer.get("metadata") or {}).items()),
                }
            )
        return rows

    # =====================================================================
    # Client side: Greenhouse -> hub
    # =====================================================================
    def _client(self, api_key: str | None = None) -> httpx.Client:
        key = self.api_key if api_key is None else api_key
        return httpx.Client(auth=(key, ""), timeout=self.timeout, follow_redirects=False)

    def raw_request(self, method: str, url: str, *, api_key: str | None = None, **kwargs: Any) -> httpx.Response:
        """Send an arbitrary request with Greenhouse's auth (or another key) and no validation."""
        with self._client(api_key) as c:
            return c.request(method, url, **kwargs)

    def _need(self, name: str) -> str:
        value = getattr(self, name)
        if not value:
            raise ValueError(f"{name} is not configured")
        return value

    def _fail(self, api_call: str, errors: list[str], **context: Any) -> NoReturn:
        if self.report_errors and self.response_error_url:
            try:
                self.response_error(api_call, errors, **context)
            except Exception as exc:  # keep the original violation visible
                errors = errors + [f"(reporting to response_error also failed: {exc!r})"]
        raise ProtocolViolation(f"Greenhouse {api_call}: " + "; ".join(errors))

    @staticmethod
    def _json(resp: httpx.Response) -> tuple[Any, str | None]:
        try:
            return resp.json(), None
        except ValueError:
            return None, f"response body is not JSON: {resp.text[:200]!r}"

    def list_tests(self) -> list[dict[str, Any]]:
        with self._client() as c:
            resp = c.get(self._need("list_tests_url"))
        if resp.status_code != 200:
            self._fail("list_tests", [f"expected HTTP 200, got {resp.status_code}: {resp.text[:200]!r}"])
        data, err = self._json(resp)
        errors = [err] if err else []
        if not err and not isinstance(data, list):
            errors.append("response must be a bare JSON array of tests")
        if not errors:
            for i, test in enumerate(data):
                if not isinstance(test, dict):
                    errors.append(f"[{i}] must be an object")
                    continue
                for key in ("partner_test_id", "partner_test_name"):
                    if not isinstance(test.get(key), str) or not test.get(key):
                        errors.append(f"[{i}].{key} must be a non-empty string")
        if errors:
            self._fail("list_tests", errors)
        return data

    def new_take_home_test_url(self) -> str:
        """Mint a PATCH target (the ``url`` of send_test) pointing at this fake."""
        tid = str(next(_ids))
        self.take_home_tests[tid] = {"partner_interview_id": None, "active": True}
        return f"{self.url}{PATCH_PREFIX}{tid}"

    def set_inactive(self, url: str) -> None:
        """Mark the candidate behind a take-home-test URL hired/inactive (ref 2.5)."""
        self.take_home_tests[url.rstrip("/").rsplit("/", 1)[-1]]["active"] = False

    def send_test_body(
        self,
        partner_test_id: str,
        *,
        first_name: str = "Ada",
        last_name: str = "Lovelace",
        email: str = "ada@example.com",
        preferred_name: str | None = None,
        phone_number: str | None = None,
        resume_url: str | None = None,
        greenhouse_profile_url: str | None = None,
        sent_by: str | None = None,
        url: str | None = None,
        partner_test_id_as_number: bool = False,
    ) -> dict[str, Any]:
        if greenhouse_profile_url is None:
            greenhouse_profile_url = f"https://app.greenhouse.io/people/{next(_ids)}?application_id={next(_ids)}"
        return {
            "partner_test_id": int(partner_test_id) if partner_test_id_as_number else str(partner_test_id),
            "candidate": {
                "first_name": first_name,
                "last_name": last_name,
                "preferred_name": preferred_name,
                "resume_url": resume_url,
                "phone_number": phone_number,
                "email": email,
                "greenhouse_profile_url": greenhouse_profile_url,
            },
            "sent_by": sent_by,
            "url": url if url is not None else self.new_take_home_test_url(),
        }

    def send_test(self, partner_test_id: str, **kwargs: Any) -> str:
        """POST send_test; returns the hub's ``partner_interview_id``.

        Keyword args as in ``send_test_body``. The ``url`` defaults to a freshly
        minted take-home-test URL on this fake; it is remembered so a later PATCH
        to it makes the fake pull ``test_status`` for this interview.
        """
        body = self.send_test_body(partner_test_id, **kwargs)
        with self._client() as c:
            resp = c.post(self._need("send_test_url"), json=body)
        ctx = {"partner_test_id": str(partner_test_id), "candidate_email": body["candidate"]["email"]}
        if resp.status_code != 200:
            self._fail("send_test", [f"expected HTTP 200, got {resp.status_code}: {resp.text[:200]!r}"], **ctx)
        data, err = self._json(resp)
        if err:
            self._fail("send_test", [err], **ctx)
        pid = data.get("partner_interview_id") if isinstance(data, dict) else None
        if not isinstance(pid, str) or not pid:
            self._fail("send_test", ["partner_interview_id must be a non-empty string"], **ctx)
        tid = body["url"].rstrip("/").rsplit("/", 1)[-1]
        if tid in self.take_home_tests:
            self.take_home_tests[tid]["partner_interview_id"] = pid
        self.last_send_test_body = body
        self.sent[pid] = body
        return pid

    def test_status(self, partner_interview_id: str) -> dict[str, Any]:
        with self._client() as c:
            resp = c.get(self._need("test_status_url"), params={"partner_interview_id": partner_interview_id})
        ctx = {"partner_interview_id": partner_interview_id}
        if resp.status_code != 200:
            self._fail("test_status", [f"expected HTTP 200, got {resp.status_code}: {resp.text[:200]!r}"], **ctx)
        data, err = self._json(resp)
        errors = [err] if err else validate_test_status(data)
        if errors:
            self._fail("test_status", errors, **ctx)
        return data

    def response_error(self, api_call: str, errors: list[str], **context: Any) -> Any:
        body: dict[str, Any] = {"api_call": api_call, "errors": list(errors)}
        for key in ("partner_test_id", "partner_test_name", "partner_interview_id", "candidate_email"):
            if context.get(key) is not None:
                body[key] = context[key]
        self.errors_reported.append(body)
        with self._client() as c:
            resp = c.post(self._need("response_error_url"), json=body)
        if resp.status_code != 200:
            raise ProtocolViolation(f"Greenhouse response_error: expected HTTP 200, got {resp.status_code}")
        data, _ = self._json(resp)
        return data

    def expect_error(self, resp: httpx.Response, status: int) -> httpx.Response:
        """Assert the hub answered a documented error code (401 bad key, 404 unknown id)."""
        if resp.status_code != status:
            raise ProtocolViolation(f"expected HTTP {status}, got {resp.status_code}: {resp.text[:200]!r}")
        return resp

    def wait_for_pull(self, partner_interview_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """Wait until a PATCH made the fake fetch test_status; return the latest answer."""
        prefix = f"{partner_interview_id}: "

        def mine() -> list[str]:
            return [e for e in self.pull_errors if e.startswith(prefix)]

        wait_until(
            lambda: bool(self.pulled.get(partner_interview_id)) or bool(mine()),
            timeout,
            f"test_status pull for {partner_interview_id}",
        )
        if not self.pulled.get(partner_interview_id):
            raise ProtocolViolation("pull after PATCH failed: " + "; ".join(mine()))
        return self.pulled[partner_interview_id][-1]

    # =====================================================================
    # Server side: hub -> Greenhouse (PATCH nudge)
    # =====================================================================
    def handle(self, rec: RecordedRequest) -> Reply:
        if not rec.path.startswith(PATCH_PREFIX):
            return Reply(404, {"message": "Not Found"}, reason=f"unknown path {rec.path}")
        tid = rec.path[len(PATCH_PREFIX) :]
        if rec.method != "PATCH":
            return Reply(
                405,
                {"message": "Method Not Allowed"},
                headers={"Allow": "PATCH"},
                reason=f"method {rec.method} instead of PATCH",
            )
        if self.require_patch_auth:
            creds = parse_basic(rec.headers.get("authorization"))
            if creds is None:
                return self.bad_credentials_reply(
                    f"missing or non-Basic Authorization header: {rec.headers.get('authorization')!r}"
                )
            if creds != (self.api_key, ""):
                return self.bad_credentials_reply("Basic credentials are not (api_key, empty password)")
        if tid not in self.take_home_tests:
            return Reply(404, {"message": "Not Found"}, reason=f"unknown take-home test {tid}")
        if rec.body:
            return Reply(400, {"message": "This endpoint takes no body"}, reason="PATCH carried a body")
        if rec.query:
            return Reply(400, {"message": "This endpoint takes no parameters"}, reason="PATCH carried a query string")
        test = self.take_home_tests[tid]
        if self.auto_pull and test["active"]:
            pid = test["partner_interview_id"]
            if pid is None:
                self.pull_errors.append(f"PATCH for take-home test {tid} before send_test returned an id")
            else:
                t = threading.Thread(target=self._pull, args=(pid,), daemon=True)
                self._pull_threads.append(t)
                t.start()
        return Reply(200, b"")

    def bad_credentials_reply(self, reason: str | None = None) -> Reply:
        return Reply(401, {"message": "Invalid Basic Auth credentials"}, reason=reason)

    def _pull(self, pid: str) -> None:
        try:
            self.pulled.setdefault(pid, []).append(self.test_status(pid))
        except Exception as exc:
            self.pull_errors.append(f"{pid}: {exc}")


def validate_test_status(data: Any) -> list[str]:
    """Rules of ref 2.6 for a ``test_status`` answer; returns the list of problems."""
    if not isinstance(data, dict):
        return ["response must be a JSON object"]
    errors: list[str] = []
    status = data.get("partner_status")
    if not isinstance(status, str):
        errors.append("partner_status is required and must be a string")
    profile = data.get("partner_profile_url")
    if status == "complete":
        if profile is None:
            errors.append("partner_status is 'complete' but partner_profile_url is missing")
        elif not is_http_url(profile):
            errors.append("partner_profile_url must be an http(s) URL")
    elif profile is not None and not isinstance(profile, str):
        errors.append("partner_profile_url must be a string")
    score = data.get("partner_score")
    if score is not None and not is_number(score):
        errors.append("partner_score must be a number")
    meta = data.get("metadata")
    if meta is not None:
        if not isinstance(meta, dict):
            errors.append("metadata must be a flat object")
        else:
            for k, v in meta.items():
                if v is not None and not isinstance(v, (str, int, float, bool)):
                    errors.append(f"metadata[{k!r}] must be a primitive (metadata is flat)")
    return errors


SIMULATOR = GreenhouseSimulator
