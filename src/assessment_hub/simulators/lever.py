"""Simulated Lever: its Candidate Stage Change webhook and the slice of its REST API a vendor uses
(ats-protocols-2.md §4, "Minimal fake-Lever surface"; the webhook body and signature SECONDARY, corroborated).

Lever has no assessment protocol: the customer adds the hub's ``webhook_url`` as a Candidate Stage Change webhook
(Lever then shows the webhook's ``signatureToken``), and picks the stages that order a package.

Client side (Lever -> hub), with the hub's set-up ``webhook_url``:
- ``move(opportunity_id, stage_id)``: moves an opportunity and posts the delivery ``{triggeredAt (Unix ms), event:
  "candidateStageChange", signature, token, data: {opportunityId, candidateId, contactId, toStageId, fromStageId}}``
  with ``signature = hex(HMAC-SHA256(signatureToken, token + triggeredAt))``; expects 2xx. ``deliver`` posts any
  body as it is (Lever retrying: the same body again; someone who captured one: its signed fields with other
  ``data``), ``signed`` builds one.
- ``ping()``: the signed connection test without ``data`` (SECONDARY); expects 2xx.
- ``order(package_id, ...)``: a new opportunity moved into the stage that orders the package (or into the stage
  named, from the page).

Server side (hub -> Lever, under ``{simulator}/v1``, the hub's ``api_base_url``), refusing what deviates:
- ``GET /v1/opportunities/{id}`` -> ``{"data": {id, name, contact, emails, phones, stage, ...}}``.
- ``POST /v1/opportunities/{id}/notes``: ``Content-Type: application/json``, a JSON object whose ``value`` is a
  non-empty string and whose other keys are note fields (``secret``, ``score``, ``notifyFollowers``,
  ``createdAt``), else 400 -> ``{"data": {"noteId"}}``.
Both need HTTP Basic with the customer's API key as the user name and a blank password (else 401); an unknown
opportunity is 404. Errors are ``{"code", "message"}``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
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
    expect_success,
    media_type,
)

OPPORTUNITY = re.compile(r"^/v1/opportunities/(?P<id>[^/]+)(?P<notes>/notes)?$")
NOTE_KEYS = {"value", "secret", "score", "notifyFollowers", "createdAt"}
NEW_APPLICANT = "applicant-new"
_SCORE = re.compile(r"^Score: (-?[\d.]+)(?:/(-?[\d.]+))?$", re.M)


def sign(signature_token: str, token: str, triggered_at: int) -> str:
    return hmac.new(signature_token.encode(), f"{token}{triggered_at}".encode(), hashlib.sha256).hexdigest()


def note_problems(body: Any) -> list[str]:
    """Why ``body`` is not a note Lever takes (empty when it is)."""
    if not isinstance(body, dict):
        return ["the body must be a JSON object (a note)"]
    problems = [f"{k}: not a note field" for k in sorted(set(body) - NOTE_KEYS)]
    if not isinstance(body.get("value"), str) or not body["value"].strip():
        problems.append("value: required, non-empty text")
    if "secret" in body and not isinstance(body["secret"], bool):
        problems.append("secret: true or false")
    if "score" in body and body["score"] not in (1, 2, 3, 4):
        problems.append("score: 1 to 4")
    if "createdAt" in body and (not isinstance(body["createdAt"], int) or body["createdAt"] > time.time() * 1000):
        problems.append("createdAt: Unix milliseconds, not in the future")
    return problems


def note_result(text: str) -> dict[str, Any]:
    """What a hub note says, read back: ``{"status", "score", "max_score"}`` (the demo's write-back view)."""
    status = "COMPLETED" if text.startswith("Assessment completed") else "CANCELLED"
    if text.startswith("Assessment rejected"):
        status = "REJECTED"
    found = _SCORE.search(text)
    score = float(found.group(1)) if found else None
    maximum = float(found.group(2)) if found and found.group(2) else None
    return {"status": status, "score": score, "max_score": maximum}


class LeverSimulator(Simulator):
    tool: ClassVar[str] = "lever"
    label: ClassVar[str] = "Lever"
    setup_keys: ClassVar[tuple[str, ...]] = ("webhook_url",)

    def __init__(self, *, packages: tuple[str, ...] = ("1001",), **kwargs: Any) -> None:
        """``packages``: the vendor's package ids the customer's stages order (one stage each)."""
        super().__init__(**kwargs)
        self.api_key = secrets.token_urlsafe(24)
        """The customer's Lever API key: the hub's ``api_key`` setting."""
        self.signature_token = secrets.token_hex(16)
        """The webhook's ``signatureToken``, shown once the webhook exists: the hub's ``signature_token``."""
        self.stages: dict[str, str] = {NEW_APPLICANT: "New applicant", "phone-screen": "Phone screen"}
        self.stage_packages: dict[str, str] = {}
        for package_id in packages:
            self.add_stage(package_id)
        self.opportunities: dict[str, dict[str, Any]] = {}
        self.notes: dict[str, list[dict[str, Any]]] = {}  # opportunity id -> notes as received
        self.deliveries: list[dict[str, Any]] = []

    def add_stage(self, package_id: str) -> str:
        """A stage the customer picked to order ``package_id``; returns its id."""
        stage_id = "stage-" + uuid.uuid4().hex[:12]
        self.stages[stage_id] = f"Assessment {package_id}"
        self.stage_packages[stage_id] = package_id
        return stage_id

    def stage_for(self, package_id: str) -> str:
        return next((s for s, p in self.stage_packages.items() if p == package_id), None) or self.add_stage(package_id)

    def hub_settings(self) -> dict[str, str]:
        """The ``integrations create --setting`` values for an integration against this simulator."""
        return {
            "api_key": self.api_key,
            "signature_token": self.signature_token,
            "stage_packages": ",".join(f"{s}={p}" for s, p in self.stage_packages.items()),
            "api_base_url": f"{self.url}/v1",
        }

    def instructions(self, hub_url: str = "http://127.0.0.1:8000") -> list[str]:
        lines = super().instructions(hub_url)
        stages = ", ".join(f"{s} ({self.stages[s]})" for s in self.stage_packages)
        lines[3:3] = [
            f"   stage_packages maps this Lever's stage {stages} to package "
            f"{', '.join(self.stage_packages.values())}: put your own package id after the '='",
            "   signature_token is the token Lever shows once the webhook exists (here: given at once; in Lever "
            "you set it later with `assessment-hub integrations update ID --setting signature_token=...`)",
        ]
        return lines

    def break_credentials(self) -> None:
        """The customer revokes the API key the hub holds."""
        self.api_key = secrets.token_urlsafe(24)

    def configure(self, setup: dict[str, str]) -> None:
        super().configure(setup)
        self.note(f"webhook created for candidateStageChange; its signatureToken is {self.signature_token}")

    # ================================================================== client side: Lever -> hub

    def signed(
        self,
        data: dict[str, Any] | None,
        *,
        token: str | None = None,
        key: str | None = None,
        triggered_at: int | None = None,
    ) -> dict[str, Any]:
        """A delivery body signed with the webhook's token (or ``key``), triggered now (or at ``triggered_at``,
        Unix ms: a delivery Lever sends late)."""
        triggered_at = int(time.time() * 1000) if triggered_at is None else triggered_at
        token = token or secrets.token_hex(16)
        body: dict[str, Any] = {
            "triggeredAt": triggered_at,
            "event": "candidateStageChange",
            "signature": sign(self.signature_token if key is None else key, token, triggered_at),
            "token": token,
        }
        if data is not None:
            body["data"] = data
        return body

    def deliver(self, body: Any, **kwargs: Any) -> httpx.Response:
        """``POST {webhook_url}`` with ``body`` as it is."""
        self.require_setup()
        response = self.call_hub("POST", self.setup["webhook_url"], {}, json=body, **kwargs)
        self.deliveries.append({"body": body, "status": response.status_code})
        return response

    def _delivered(self, body: dict[str, Any]) -> httpx.Response:
        response = self.deliver(body)
        expect_success(response, "POST webhook_url")
        return response

    def ping(self) -> None:
        """The signed connection test Lever may send when the webhook is created."""
        self._delivered(self.signed(None))

    def new_opportunity(
        self, email: str = "jane@example.com", name: str = "Jane Doe", phone: str | None = "+1 415 555 0100"
    ) -> str:
        opportunity_id = str(uuid.uuid4())
        contact = str(uuid.uuid4())
        self.opportunities[opportunity_id] = {
            "id": opportunity_id,
            "name": name,
            "contact": contact,
            "headline": "",
            "stage": NEW_APPLICANT,
            "emails": [email] if email else [],
            "phones": [{"type": "mobile", "value": phone}] if phone else [],
            "tags": [],
            "applications": [str(uuid.uuid4())],
            "createdAt": int(time.time() * 1000),
        }
        self.notes[opportunity_id] = []
        return opportunity_id

    def move(self, opportunity_id: str, stage_id: str, *, token: str | None = None) -> httpx.Response:
        """Move the opportunity to ``stage_id``: Lever posts the signed Candidate Stage Change delivery."""
        opportunity = self.opportunities[opportunity_id]
        from_stage, opportunity["stage"] = opportunity["stage"], stage_id
        data = {
            "opportunityId": opportunity_id,
            "candidateId": opportunity["contact"],  # Lever's candidate id is the contact (legacy naming)
            "contactId": opportunity["contact"],
            "toStageId": stage_id,
            "fromStageId": from_stage,
        }
        response = self._delivered(self.signed(data, token=token))
        self.note(f"opportunity {opportunity_id} moved to {self.stages.get(stage_id, stage_id)}")
        return response

    def order(self, package_id: str, email: str, first_name: str = "Ada", last_name: str = "Lovelace") -> str:
        """A new opportunity moved into the stage that orders ``package_id`` (a stage id is taken as it is);
        returns the opportunity id."""
        opportunity_id = self.new_opportunity(email, f"{first_name} {last_name}".strip())
        stage = package_id if package_id in self.stages else self.stage_for(package_id)
        self.move(opportunity_id, stage)
        return opportunity_id

    def packages_for_page(self) -> list[tuple[str, str]]:
        """The page orders by stage: each stage that orders a package."""
        return [(s, f"{self.stages[s]} -> package {p}") for s, p in self.stage_packages.items()]

    def writebacks(self, key: str) -> list[dict[str, Any]]:
        return [note_result(n["value"]) for n in self.notes.get(key, [])]

    def orders_view(self) -> list[dict[str, Any]]:
        rows = []
        for opportunity_id, opportunity in self.opportunities.items():
            notes = self.notes.get(opportunity_id, [])
            last = note_result(notes[-1]["value"]) if notes else {}
            score = last.get("score")
            rows.append(
                {
                    "opportunity": opportunity_id,
                    "candidate": ", ".join(opportunity["emails"]),
                    "stage": self.stages.get(opportunity["stage"], opportunity["stage"]),
                    "notes": len(notes),
                    "score": (
                        f"{score:g}/{last['max_score']:g}" if score is not None and last.get("max_score") else ""
                    ),
                    "last note": notes[-1]["value"] if notes else "",
                }
            )
        return rows

    # ================================================================== server side: hub -> Lever

    def _authorized(self, rec: RecordedRequest) -> bool:
        scheme, _, encoded = (rec.headers.get("authorization") or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return hmac.compare_digest(user, self.api_key) and password == ""

    def handle(self, rec: RecordedRequest) -> Reply:
        found = OPPORTUNITY.match(rec.path)
        if found is None:
            return Reply(
                404, {"code": "NotFound", "message": f"No route {rec.path}"}, reason=f"unknown path {rec.path}"
            )
        if not self._authorized(rec):
            return Reply(
                401,
                {"code": "Unauthorized", "message": "Invalid API key"},
                reason="no HTTP Basic with the API key and a blank password",
            )
        opportunity = self.opportunities.get(found["id"])
        if found["notes"] is None:
            if rec.method != "GET":
                return Reply(
                    405, {"code": "MethodNotAllowed", "message": rec.method}, reason=f"opportunity {rec.method}"
                )
            if opportunity is None:
                return Reply(
                    404, {"code": "NotFound", "message": "Opportunity not found"}, reason="unknown opportunity"
                )
            return Reply(200, {"data": opportunity})
        if rec.method != "POST":
            return Reply(405, {"code": "MethodNotAllowed", "message": rec.method}, reason=f"notes: {rec.method}")
        if media_type(rec.headers.get("content-type")) != "application/json":
            return Reply(
                415,
                {"code": "UnsupportedMediaType", "message": "JSON only"},
                reason=f"notes: content-type {rec.headers.get('content-type')!r}",
            )
        problems = note_problems(rec.json)
        if problems:
            message = "; ".join(problems)
            return Reply(400, {"code": "BadRequest", "message": message}, reason=message)
        if opportunity is None:
            return Reply(404, {"code": "NotFound", "message": "Opportunity not found"}, reason="unknown opportunity")
        note_id = str(uuid.uuid4())
        self.notes[found["id"]].append({"id": note_id, **rec.json})
        self.note(f"note added to opportunity {found['id']} by the hub")
        return Reply(200, {"data": {"noteId": note_id}})


SIMULATOR = LeverSimulator

__all__ = ["LeverSimulator", "ProtocolViolation", "note_problems", "note_result", "sign"]
