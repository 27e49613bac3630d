"""Simulated Teamtailor (Partner API, assessment partners).

Sources: /work/shared/reference/ats-protocols.md section 7 "Teamtailor" (7.1-7.5),
official docs Teamtailor/tt-partner-docs source/includes/partners/ (_auth, _versioning,
_webhooks, _webhook_signatures, webhook_config/_index, partner_results/_index,
partner_results/_update), rendered at https://partner.teamtailor.com/partners .
Part 2 of the reference adds nothing for Teamtailor.

Client side (Teamtailor -> hub), class ``TeamtailorSimulator``, with the hub's set-up ``base_url`` and
``provider_key``; an order (``order``) is the recruiter picking a package in the ``/config`` form's select and
the webhook that follows:
- Every call carries ``Authorization: Bearer {provider_key}`` (ref 7.2, _webhooks,
  webhook_config). Optional ``teamtailor-api-token`` header when configured (ref 7.2).
- ``get_config()``: ``GET {base_url}/config?job_id=&stage_id=&user_id=`` (ref 7.3,
  webhook_config). Expects 200 + ``{"config": {"fields": [...], "assessment-criteria"?: [...]}}``;
  each field has a supported ``type``; every field except ``infobox``/``error`` has a string ``id``.
- ``send_webhook()``: ``POST {base_url}/webhook`` with the partner-event JSON (ref 7.4,
  _webhooks). Keys are kebab-case; ``webhook-data`` keys are the config field ids with
  ``_`` serialised to ``-`` (webhook_config "Serialization"). ``company`` sits at the
  top level next to ``partner-event`` (newest _webhooks revision).
  When a webhook secret is configured the request is signed:
  ``Teamtailor-Signature: t=<unix>,v1=<hex>,v0=<hex>`` with
  v1 = HMAC-SHA256(secret, "<t>.<partner-event.id>") hex (ref 7.2, _webhook_signatures).
  Response rules: 2xx = delivered; anything else = failed, and a plain-string body with
  status >= 400 is shown as the error on the partner result; an optional 2xx body
  ``{"partner_result_attributes": {status, assessment{score}, details, attachments}}``
  updates the result at once, but only if valid (_webhooks "Webhook Response").
  Teamtailor retries a failed delivery up to three times (_webhooks "Error handling");
  the fake retries only when ``retries`` > 0, keeping the same event id.

Server side (hub -> Teamtailor), Partner Results update (ref 7.1, 7.2, 7.5, _update):
- ``PUT {fake}/partner/v1/partner-results/{id}`` (the ``update-url`` from the webhook).
- Headers: ``Authorization: Token <key>`` or ``Bearer <key>`` (both appear in the docs,
  ref 7.2) with the partner API key; ``X-Api-Version: 20180828`` (required, ref 7.1);
  ``Content-Type: application/vnd.api+json`` (ref 7.1, _update example).
- Body: JSON:API ``{"data": {"type": "partner-results", "id": <path id>, "attributes": {...}}}``.
  Attributes (all optional on update): ``status`` in sending|sent|pending|completed|failed;
  ``summary`` string; ``job-id`` number; ``url`` valid http(s); ``assessment``
  {score integer 0-100, grade top_fit|might_be_fit|might_not_be_fit|unknown|null,
  duration seconds or "H:MM:SS"}; ``details`` object of depth <= 2; ``attachments`` list of
  objects with exactly ``url`` and ``description``; ``actions`` list of
  {buttonText, endpoint}; ``assessment-criteria`` list of {id, score? 0-100};
  ``candidate-id`` is immutable and must not be sent.
- Success: 200 with the JSON:API resource document and ``X-Api-Version`` echoed.

UNCONFIRMED choices (tolerant reading for the hub in brackets):
- U1 Error status codes and bodies of the real API are undocumented. Fake: 401 bad/missing
  key; 406 missing/wrong ``X-Api-Version``; 415 wrong Content-Type (JSON:API rule, media
  type parameters such as ``; charset=`` also rejected); 404 unknown id; 405 other
  methods; 409 ``data.id`` differs from the URL id (JSON:API rule); 422 validation, all with
  a JSON:API ``{"errors": [{"status", "title", "detail", "source": {"pointer"}}]}`` body.
  [Hub: treat 401/403 as credentials, 5xx/timeouts as retryable, other 4xx as permanent.]
- U2 ``Authorization: Token token="<key>"`` (Rails style) is also accepted.
- U3 ``assessment.grade``: the _update page lists top_fit/might_be_fit/might_not_be_fit/
  unknown/null, the older object page failed/passed/excelled. Fake accepts only the newer
  set. [Hub: omit grade or use the newer set.]
- U4 ``assessment.score`` documented as integer: fake rejects non-integers (e.g. 82.5).
  [Hub: round to an int in 0..100.]
- U5 ``details`` depth: a nested object or list counts as one level; depth 3 is rejected.
- U6 Unknown attribute names are rejected with 422 (real API may ignore them).
  [Hub: send only documented attributes.]
- U7 Status transitions are not enforced (ref 7.5, 16.6); fake accepts any order, including
  updates after ``completed``.
- U8 Signature ``v0`` scheme is undocumented; the fake fills it with a *different* digest
  (HMAC over the raw body) so a hub that verifies anything but ``v1`` fails. The header is
  sent on one line without spaces. [Hub: verify v1, ignore other schemes, 5-minute window.]
- U9 Location of ``company``: older doc revisions nest it inside ``partner-event``; use
  ``company_inside_event=True`` to send that variant. [Hub: look in both places.]
- U10 ``candidate.id`` is a number in the webhook; the object page calls ``candidate-id`` a
  UUID string. Fake sends numbers.
- U11 Timeout on webhook calls is undocumented; fake client timeout is configurable (30 s).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx

from assessment_hub.simulators.base import (
    ProtocolViolation,
    RecordedRequest,
    Reply,
    Simulator,
    is_http_url,
    is_number,
    json_of,
    violation,
)

__all__ = [
    "TeamtailorSimulator",
    "WebhookDelivery",
    "ProtocolViolation",
    "SETUP_KEYS",
    "API_VERSION",
    "JSONAPI",
    "validate_attributes",
    "validate_config",
]

SETUP_KEYS = ("base_url", "provider_key")
API_VERSION = "20180828"
JSONAPI = "application/vnd.api+json"
RESULTS_PREFIX = "/partner/v1/partner-results/"
STATUSES = ("sending", "sent", "pending", "completed", "failed")
GRADES = ("top_fit", "might_be_fit", "might_not_be_fit", "unknown", None)
FIELD_TYPES = {
    "checkbox",
    "color",
    "date",
    "datetime",
    "datetime-local",
    "email",
    "file",
    "infobox",
    "error",
    "hidden",
    "month",
    "number",
    "password",
    "radio",
    "range",
    "reset",
    "search",
    "select",
    "multiselect",
    "tel",
    "text",
    "url",
    "week",
}
UPDATE_ATTRIBUTES = {
    "status",
    "summary",
    "job-id",
    "url",
    "assessment",
    "details",
    "attachments",
    "actions",
    "assessment-criteria",
}
_DURATION = re.compile(r"^\d+:[0-5]\d:[0-5]\d$")
_ids = itertools.count(54321)


@dataclass
class WebhookDelivery:
    """Outcome of ``send_webhook``."""

    status_code: int
    text: str
    json: Any
    event: dict[str, Any]
    partner_result_id: str
    update_url: str
    attempts: int = 1
    delivered: bool = False  # HTTP 2xx
    error_message: str | None = None  # plain-string error shown on the partner result
    headers: dict[str, str] = field(default_factory=dict)


class TeamtailorSimulator(Simulator):
    """``provider_key``/``base_url``: the hub's set-up (what Teamtailor sends, where); ``partner_api_key``: the
    partner API key this Teamtailor issued, which the hub must send back (a fresh one unless given);
    ``webhook_secret``: when set, webhooks are signed (``Teamtailor-Signature``); ``retries``: re-deliveries of a
    failed webhook."""

    tool: ClassVar[str] = "teamtailor"
    label: ClassVar[str] = "Teamtailor"
    setup_keys: ClassVar[tuple[str, ...]] = SETUP_KEYS

    def __init__(
        self,
        *,
        provider_key: str | None = None,
        base_url: str | None = None,
        webhook_secret: str | None = None,
        partner_api_key: str | None = None,
        api_token: str | None = None,
        retries: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/") if base_url else None
        self.provider_key = provider_key or ""
        self.webhook_secret = webhook_secret
        self.partner_api_key = partner_api_key or "tt-" + secrets.token_hex(16)  # key the hub must send
        self.api_token = api_token
        self.retries = retries
        self.results: dict[str, dict[str, Any]] = {}  # partner-result id -> current attributes
        self.updates: dict[str, list[dict[str, Any]]] = {}  # partner-result id -> accepted PUT attributes
        self.deliveries: list[WebhookDelivery] = []

    def configure(self, setup: dict[str, str]) -> None:
        super().configure(setup)
        self.base_url, self.provider_key = self.setup["base_url"].rstrip("/"), self.setup["provider_key"]

    def hub_settings(self) -> dict[str, str]:
        if self.webhook_secret is None:
            self.webhook_secret = "tt-whsec-" + secrets.token_hex(16)
        return {
            "api_key": self.partner_api_key,
            "api_base_url": self.url,
            "webhook_secret": self.webhook_secret,
            "allowed_callback_hosts": self.netloc,
        }

    def break_credentials(self) -> None:
        self.partner_api_key = "tt-" + secrets.token_hex(16)

    # ------------------------------------------------------------------ product side (page, demo, CLI)

    @staticmethod
    def package_fields(config: dict[str, Any]) -> list[dict[str, Any]]:
        """The ``select``/``multiselect`` fields of a ``/config`` form that offer options (the packages)."""
        return [
            f
            for f in config["config"]["fields"]
            if isinstance(f, dict) and f.get("type") in ("select", "multiselect") and f.get("options")
        ]

    def packages_for_page(self) -> list[tuple[str, str]]:
        return [(str(o["id"]), str(o["label"])) for f in self.package_fields(self.get_config()) for o in f["options"]]

    def order(self, package_id: str, email: str, first_name: str = "Ada", last_name: str = "Lovelace") -> str:
        """The recruiter picks ``package_id`` in the trigger form; Teamtailor sends the webhook. Returns the
        partner-result id."""
        fields = [
            f for f in self.package_fields(self.get_config()) if any(str(o["id"]) == package_id for o in f["options"])
        ]
        violation(bool(fields), f"Teamtailor /config: no select offers {package_id!r}")
        selection = {fields[0]["id"]: package_id}
        delivery = self.send_webhook(selection=selection, email=email, first_name=first_name, last_name=last_name)
        violation(
            delivery.delivered,
            f"Teamtailor webhook: expected 2xx, got {delivery.status_code}: {delivery.text[:300]}",
        )
        self.note(f"partner result {delivery.partner_result_id}: {package_id} sent for {email}")
        return delivery.partner_result_id

    def writebacks(self, key: str) -> list[dict[str, Any]]:
        out = []
        for attrs in self.updates.get(key, []):
            score: Any = (attrs.get("assessment") or {}).get("score")
            status = str(attrs.get("status", ""))
            out.append(
                {
                    "status": {"pending": "OPEN", "failed": "CANCELLED"}.get(status, status.upper()),
                    "score": float(score) if is_number(score) else None,
                    "max_score": 100.0 if is_number(score) else None,
                }
            )
        return out

    def orders_view(self) -> list[dict[str, Any]]:
        rows = []
        events = {d.partner_result_id: d.event["partner-event"] for d in self.deliveries}
        for rid, shown in self.results.items():
            event = events.get(rid) or {}
            score = (shown.get("assessment") or {}).get("score")
            rows.append(
                {
                    "partner result": rid,
                    "test": "; ".join(str(v) for v in (event.get("webhook-data") or {}).values()),
                    "candidate": (event.get("candidate") or {}).get("email", ""),
                    "status": shown.get("status", ""),
                    "score": f"{score}%" if score is not None else "",
                    "summary": shown.get("summary", ""),
                    "url": shown.get("url", ""),
                    "error": shown.get("error", ""),
                }
            )
        return rows

    # =====================================================================
    # Client side: Teamtailor -> hub
    # =====================================================================
    def _headers(self, provider_key: str | None = None) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self.provider_key if provider_key is None else provider_key}"}
        if self.api_token:
            h["teamtailor-api-token"] = self.api_token
        return h

    def _hub_url(self, suffix: str) -> str:
        if not self.base_url:
            raise ValueError("base_url (the hub's Teamtailor base URL) is not configured")
        return self.base_url + suffix

    def raw_request(self, method: str, url: str, *, provider_key: str | None = None, **kwargs: Any) -> httpx.Response:
        return self.call_hub(method, url, self._headers(provider_key), **kwargs)

    def get_config(
        self, *, job_id: int | None = 12345, stage_id: int | None = 1, user_id: int | None = 31
    ) -> dict[str, Any]:
        params = {k: v for k, v in (("job_id", job_id), ("stage_id", stage_id), ("user_id", user_id)) if v is not None}
        resp = self.raw_request("GET", self._hub_url("/config"), params=params)
        violation(
            resp.status_code == 200, f"Teamtailor /config: expected 200, got {resp.status_code}: {resp.text[:200]!r}"
        )
        data = json_of(resp, "Teamtailor /config")
        problems = validate_config(data)
        violation(not problems, "Teamtailor /config: " + "; ".join(problems))
        return data

    def new_partner_result(self, *, candidate_id: int | None = None, job_id: int | None = None) -> tuple[str, str]:
        """Create a partner result on the fake (status "sending"); return (id, update-url)."""
        rid = str(uuid.uuid4())
        self.results[rid] = {
            "status": "sending",
            "candidate-id": candidate_id if candidate_id is not None else next(_ids),
            "job-id": job_id,
        }
        return rid, f"{self.url}{RESULTS_PREFIX}{rid}"

    def make_event(
        self,
        *,
        webhook_data: dict[str, Any] | None = None,
        selection: dict[str, Any] | None = None,
        first_name: str = "Juston",
        last_name: str = "Becker",
        email: str = "applicant100@example.com",
        phone: str | None = "+4670432121",
        candidate_id: int | None = None,
        job_id: int = 12345,
        job_title: str = "Full-stack web developer",
        locations: list[dict[str, str]] | None = None,
        recruiter: dict[str, str] | None = None,
        company_inside_event: bool = False,
        include_partner_result: bool = True,
    ) -> dict[str, Any]:
        """Build a webhook body as Teamtailor sends it.

        ``selection`` is what the user picked in the config form, keyed by config field id;
        it becomes ``webhook-data`` with ``_`` turned into ``-``. ``webhook_data`` is used verbatim.
        """
        if webhook_data is None:
            webhook_data = {k.replace("_", "-"): v for k, v in (selection or {}).items()}
        cid = candidate_id if candidate_id is not None else next(_ids)
        candidate = {
            "id": cid,
            "uuid": str(uuid.uuid4()),
            "first-name": first_name,
            "last-name": last_name,
            "email": email,
            "phone": phone,
            "picture-url": None,
            "tags": [],
            "department": None,
            "role": None,
            "job": {
                "id": job_id,
                "title": job_title,
                "stage-id": 1,
                "stage": "Assessment",
                "tags": [],
                "trigger-id": 1,
                "custom-fields": [],
                "status": {"rejected": False},
                "triggered-by": {"id": 31, "email": "recruiter@example.com", "name": "Edison Kuhn"},
            },
            "recruiter": recruiter or {"name": "Edison Kuhn", "email": "recruiter@example.com", "phone": "+461234567"},
            "locations": locations
            if locations is not None
            else [{"name": "Stockholm", "address": "Åsögatan 18, 126 41, Stockholm"}],
            "questions": [],
            "custom-fields": [],
            "referrals": [],
        }
        event: dict[str, Any] = {"id": str(uuid.uuid4()), "webhook-data": webhook_data, "candidate": candidate}
        if include_partner_result:
            rid, url = self.new_partner_result(candidate_id=cid, job_id=job_id)
            event["partner-result"] = {"id": rid, "status": "sending", "update-url": url}
        company = {"uuid": "vAXspNm0J2Y", "name": "Acme", "url": "https://career.example.com", "logotype": None}
        if company_inside_event:
            event["company"] = company
            return {"partner-event": event}
        return {"partner-event": event, "company": company}

    def signature_header(
        self, event_id: str, body: bytes, *, timestamp: int | None = None, secret: str | None = None
    ) -> str:
        secret = self.webhook_secret if secret is None else secret
        if secret is None:
            raise ValueError("no webhook secret configured")
        ts = int(time.time()) if timestamp is None else timestamp
        v1 = hmac.new(secret.encode(), f"{ts}.{event_id}".encode(), hashlib.sha256).hexdigest()
        v0 = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
        return f"t={ts},v1={v1},v0={v0}"

    def send_webhook(
        self,
        event: dict[str, Any] | None = None,
        *,
        sign: bool | None = None,
        signature_timestamp: int | None = None,
        signature_secret: str | None = None,
        provider_key: str | None = None,
        **make_event_kwargs: Any,
    ) -> WebhookDelivery:
        """POST {base_url}/webhook; returns a ``WebhookDelivery``.

        Raises ProtocolViolation only when the hub's 2xx body is malformed
        (``partner_result_attributes`` present but invalid). A non-2xx answer is a
        legitimate "failed" delivery and is returned (``delivered=False``).
        """
        event = event if event is not None else self.make_event(**make_event_kwargs)
        body = json.dumps(event).encode()
        headers = {**self._headers(provider_key), "Content-Type": "application/json"}
        pe = event["partner-event"]
        if sign if sign is not None else self.webhook_secret is not None:
            headers["Teamtailor-Signature"] = self.signature_header(
                pe["id"], body, timestamp=signature_timestamp, secret=signature_secret
            )
        pr = pe.get("partner-result") or {}
        attempts = 0
        with httpx.Client(timeout=self.timeout) as c:
            while True:
                attempts += 1
                resp = c.post(self._hub_url("/webhook"), content=body, headers=headers)
                if 200 <= resp.status_code < 300 or attempts > self.retries:
                    break
        try:
            parsed = resp.json() if resp.content else None
        except ValueError:
            parsed = None
        delivery = WebhookDelivery(
            status_code=resp.status_code,
            text=resp.text,
            json=parsed,
            event=event,
            partner_result_id=pr.get("id", ""),
            update_url=pr.get("update-url", ""),
            attempts=attempts,
            delivered=200 <= resp.status_code < 300,
            headers=dict(resp.headers),
        )
        result = self.results.get(delivery.partner_result_id)
        if delivery.delivered:
            if result is not None and result["status"] == "sending":
                result["status"] = "sent"  # UNCONFIRMED: what TT shows after a 2xx
            if isinstance(parsed, dict) and "partner_result_attributes" in parsed:
                attrs = parsed["partner_result_attributes"]
                problems = [p[2] for p in validate_attributes(attrs, webhook_response=True)]
                violation(not problems, "Teamtailor webhook response partner_result_attributes: " + "; ".join(problems))
                if result is not None:
                    result.update(attrs)
        elif resp.status_code >= 400:
            delivery.error_message = resp.text
            if result is not None:
                result["status"] = "failed"
                result["error"] = resp.text
        self.deliveries.append(delivery)
        return delivery

    # =====================================================================
    # Server side: hub -> Teamtailor (partner-results PUT)
    # =====================================================================
    def _error(self, status: int, title: str, detail: str, pointer: str | None = None) -> Reply:
        err: dict[str, Any] = {"status": str(status), "title": title, "detail": detail}
        if pointer:
            err["source"] = {"pointer": pointer}
        return Reply(status, {"errors": [err]}, media_type=JSONAPI, reason=f"{status} {detail}")

    def bad_credentials_reply(self) -> Reply:
        return self._error(401, "Unauthorized", "Invalid API key")

    def _auth_ok(self, header: str | None) -> bool:
        if not header:
            return False
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme == "Token" and token.startswith("token="):
            token = token[len("token=") :].strip('"')
        return scheme in ("Token", "Bearer") and token == self.partner_api_key

    def handle(self, rec: RecordedRequest) -> Reply:
        if not self._auth_ok(rec.headers.get("authorization")):
            r = self.bad_credentials_reply()
            r.reason = f"401 bad Authorization header {rec.headers.get('authorization')!r}"
            return r
        if rec.headers.get("x-api-version") != API_VERSION:
            return self._error(
                406,
                "Not Acceptable",
                f"X-Api-Version header must be {API_VERSION}, got {rec.headers.get('x-api-version')!r}",
            )
        if not rec.path.startswith(RESULTS_PREFIX):
            return self._error(404, "Not Found", f"no route {rec.method} {rec.path}")
        rid = rec.path[len(RESULTS_PREFIX) :]
        if rec.method != "PUT":
            r = self._error(405, "Method Not Allowed", f"fake accepts only PUT on partner results, got {rec.method}")
            r.headers = {"Allow": "PUT"}
            return r
        ctype = rec.headers.get("content-type", "")
        if ctype.strip().lower() != JSONAPI:
            return self._error(415, "Unsupported Media Type", f"Content-Type must be exactly {JSONAPI}, got {ctype!r}")
        if rid not in self.results:
            return self._error(404, "Not Found", f"partner result {rid} not found")
        doc = rec.json
        if not isinstance(doc, dict) or not isinstance(doc.get("data"), dict):
            return self._error(400, "Bad Request", "body must be a JSON:API document with a data object", "/data")
        data = doc["data"]
        if data.get("type") != "partner-results":
            return self._error(
                409, "Conflict", f"data.type must be 'partner-results', got {data.get('type')!r}", "/data/type"
            )
        if "id" in data and data["id"] != rid:
            return self._error(409, "Conflict", f"data.id {data['id']!r} does not match URL id {rid}", "/data/id")
        if "id" not in data:
            return self._error(400, "Bad Request", "data.id is required on update", "/data/id")
        attrs = data.get("attributes")
        if not isinstance(attrs, dict):
            return self._error(422, "Unprocessable Entity", "data.attributes must be an object", "/data/attributes")
        problems = validate_attributes(attrs)
        if problems:
            status, pointer, detail = problems[0]
            reply = self._error(status, "Unprocessable Entity", detail, pointer)
            reply.body["errors"] = [
                {"status": str(s), "title": "Unprocessable Entity", "detail": d, "source": {"pointer": p}}
                for s, p, d in problems
            ]
            reply.reason = "422 " + "; ".join(d for _, _, d in problems)
            return reply
        stored = self.results[rid]
        stored.update(attrs)
        self.updates.setdefault(rid, []).append(attrs)
        self.note(f"partner result {rid}: {attrs.get('status', 'updated')} written by the hub")
        if "assessment" in attrs and isinstance(attrs["assessment"].get("duration"), str):
            h, m, s = (int(x) for x in attrs["assessment"]["duration"].split(":"))
            stored["assessment"] = {**attrs["assessment"], "duration": h * 3600 + m * 60 + s}
        body = {
            "data": {
                "id": rid,
                "type": "partner-results",
                "links": {"self": f"{self.url}{RESULTS_PREFIX}{rid}"},
                "attributes": {k: v for k, v in stored.items() if k != "error"},
            }
        }
        return Reply(200, body, media_type=JSONAPI, headers={"X-Api-Version": API_VERSION})


def validate_config(data: Any) -> list[str]:
    if not isinstance(data, dict) or not isinstance(data.get("config"), dict):
        return ['body must be {"config": {...}}']
    cfg = data["config"]
    problems: list[str] = []
    fields = cfg.get("fields")
    if not isinstance(fields, list):
        return ["config.fields must be an array"]
    for i, f in enumerate(fields):
        if not isinstance(f, dict):
            problems.append(f"fields[{i}] must be an object")
            continue
        if f.get("type") not in FIELD_TYPES:
            problems.append(f"fields[{i}].type {f.get('type')!r} is not a supported field type")
        if f.get("type") not in ("infobox", "error") and (not isinstance(f.get("id"), str) or not f.get("id")):
            problems.append(f"fields[{i}].id must be a non-empty string")
        for key in ("options",):
            if key in f and (
                not isinstance(f[key], list)
                or any(not isinstance(o, dict) or "id" not in o or "label" not in o for o in f[key])
            ):
                problems.append(f"fields[{i}].options must be a list of {{id, label}}")
    crit = cfg.get("assessment-criteria")
    if crit is not None and (
        not isinstance(crit, list)
        or any(
            not isinstance(c, dict) or not isinstance(c.get("id"), str) or not isinstance(c.get("label"), str)
            for c in crit
        )
    ):
        problems.append("assessment-criteria must be a list of {id: string, label: string}")
    return problems


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def validate_attributes(attrs: Any, *, webhook_response: bool = False) -> list[tuple[int, str, str]]:
    """Rules of ref 7.5 / partner_results/_update. Returns (status, pointer, detail) tuples."""
    base = "/partner_result_attributes" if webhook_response else "/data/attributes"
    if not isinstance(attrs, dict):
        return [(422, base, "attributes must be an object")]
    out: list[tuple[int, str, str]] = []

    def bad(key: str, detail: str) -> None:
        out.append((422, f"{base}/{key}", detail))

    allowed = {"status", "assessment", "details", "attachments"} if webhook_response else UPDATE_ATTRIBUTES
    for key in attrs:
        if key == "candidate-id" and not webhook_response:
            bad(key, "candidate-id is immutable and must not be sent on update")
        elif key not in allowed:
            bad(key, f"unknown attribute {key!r}")
    if "status" in attrs and attrs["status"] not in STATUSES:
        bad("status", f"status must be one of {STATUSES}, got {attrs['status']!r}")
    if "summary" in attrs and not isinstance(attrs["summary"], str):
        bad("summary", "summary must be a string")
    if "job-id" in attrs and attrs["job-id"] is not None and not is_number(attrs["job-id"]):
        bad("job-id", "job-id must be a number")
    if "url" in attrs and not is_http_url(attrs["url"]):
        bad("url", f"url must be a valid http(s) URL, got {attrs['url']!r}")
    if "assessment" in attrs:
        a = attrs["assessment"]
        if not isinstance(a, dict):
            bad("assessment", "assessment must be an object")
        else:
            for key in a:
                if key not in ("score", "grade", "duration"):
                    bad(f"assessment/{key}", f"unknown assessment key {key!r}")
            if "score" in a:
                s = a["score"]
                if not (isinstance(s, int) and not isinstance(s, bool)) or not 0 <= s <= 100:
                    bad("assessment/score", f"score must be an integer between 0 and 100, got {s!r}")
            if "grade" in a and a["grade"] not in GRADES:
                bad("assessment/grade", f"grade must be one of {GRADES}, got {a['grade']!r}")
            if "duration" in a:
                d = a["duration"]
                ok = (isinstance(d, int) and not isinstance(d, bool) and d >= 0) or (
                    isinstance(d, str) and _DURATION.match(d)
                )
                if not ok:
                    bad("assessment/duration", f"duration must be seconds or HH:MM:SS, got {d!r}")
    if "details" in attrs:
        d = attrs["details"]
        if not isinstance(d, dict):
            bad("details", "details must be a JSON object")
        elif _depth(d) > 2:
            bad("details", "details must have a maximum depth of 2")
    if "attachments" in attrs:
        att = attrs["attachments"]
        if not isinstance(att, list):
            bad("attachments", "attachments must be a list")
        else:
            for i, a in enumerate(att):
                if not isinstance(a, dict) or set(a) != {"url", "description"}:
                    bad(f"attachments/{i}", "attachment must contain exactly url and description")
                elif not is_http_url(a["url"]) or not isinstance(a["description"], str):
                    bad(f"attachments/{i}", "attachment url must be http(s) and description a string")
    if "actions" in attrs:
        acts = attrs["actions"]
        if not isinstance(acts, list) or any(
            not isinstance(a, dict)
            or not isinstance(a.get("buttonText"), str)
            or not isinstance(a.get("endpoint"), str)
            for a in acts
        ):
            bad("actions", "actions must be a list of {buttonText, endpoint}")
    if "assessment-criteria" in attrs:
        crit = attrs["assessment-criteria"]
        if not isinstance(crit, list):
            bad("assessment-criteria", "assessment-criteria must be a list")
        else:
            for i, c in enumerate(crit):
                if not isinstance(c, dict) or not isinstance(c.get("id"), str) or set(c) - {"id", "score"}:
                    bad(f"assessment-criteria/{i}", "criterion must be {id, score?}")
                elif "score" in c and (not is_number(c["score"]) or not 0 <= c["score"] <= 100):
                    bad(f"assessment-criteria/{i}/score", "criterion score must be between 0 and 100")
    return out


SIMULATOR = TeamtailorSimulator
