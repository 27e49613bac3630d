"""Field mapping, both directions (docs/connectors/ashby.md §4).

- ``unified_order``: Ashby's ``assessment.start`` body -> the hub's candidate/application/job.
- ``result_update`` / ``rejection_update``: a result revision or a vendor rejection -> the body of
  Ashby's ``assessment.update`` (typed data blobs), without ``timestamp`` (``writeback`` adds it).
- ``warnings``: what Ashby cannot show of a result, told to the vendor at PUT time.
"""

from __future__ import annotations

import re
from typing import Any

from assessment_hub.assessment.intake import UnifiedOrder
from assessment_hub.connectors.ashby.schemas import HiringTeamMemberIn, StartIn
from assessment_hub.connectors.base import ResultSnapshot
from assessment_hub.connectors.text import sub_result_text
from assessment_hub.connectors.urls import is_http_url
from assessment_hub.kit.states import ResultStatus
from assessment_hub.kit.timestamps import format_instant

# Ashby's hiring-team role strings (UNCONFIRMED) -> Kombo's roles.
ROLES = {"recruiter": "RECRUITER", "hiring manager": "HIRING_MANAGER", "hiring_manager": "HIRING_MANAGER"}

REJECTED_LABEL = "Rejected by the assessment vendor"
CANCELLED_LABEL = "Cancelled by the assessment vendor"


# ------------------------------------------------------------------ Ashby -> hub


def _member(member: HiringTeamMemberIn) -> dict[str, Any]:
    role = ROLES.get((member.role or "").strip().lower())
    return {
        "remote_id": member.userId,
        "email": member.email,
        "first_name": member.firstName,
        "last_name": member.lastName,
        "hiring_team_roles": [role] if role else [],
    }


def unified_order(start: StartIn) -> UnifiedOrder:
    """``candidate``, ``application`` and ``job`` for ``assessment.service.create_order``."""
    return {
        "candidate": {
            "remote_id": start.candidate.ashby_id,
            "email": start.candidate.email,
            "first_name": start.candidate.first_name,
            "last_name": start.candidate.last_name,
            "phone": None,
        },
        "application": {"remote_id": start.application.ashby_id},
        "job": {
            "remote_id": start.job.ashby_id,
            "name": start.job.name,
            "job_code": start.job.req_id or None,
            "description": None,
            "location": None,
            "hiring_team": [_member(m) for m in start.job.hiringTeam],
        },
    }


# ------------------------------------------------------------------ hub -> Ashby


def blob(identifier: str, label: str, type_: str, value: Any) -> dict[str, Any]:
    return {"identifier": identifier, "label": label, "type": type_, "value": value}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def metadata(result: ResultSnapshot) -> list[dict[str, Any]]:
    """``max_score``, ``completed_at`` and every attribute as blobs with unique, stable identifiers
    (the same identifier in a later update replaces the value shown in Ashby)."""
    blobs: list[dict[str, Any]] = []
    if result.max_score is not None:
        blobs.append(blob("max_score", "Max score", "numeric_score", result.max_score))
    if result.completed_at is not None:
        blobs.append(blob("completed_at", "Completed at", "string", format_instant(result.completed_at)))
    seen: set[str] = {b["identifier"] for b in blobs}
    for attribute in result.attributes:
        if attribute["type"] == "SUB_RESULT":
            base, value = f"sub-{_slug(str(attribute['id']))}", sub_result_text(attribute)
        else:
            base, value = f"attr-{_slug(attribute['label'])}", str(attribute["value"])
        identifier, n = base, 2
        while identifier in seen:
            identifier, n = f"{base}-{n}", n + 1
        seen.add(identifier)
        blobs.append(blob(identifier, attribute["label"], "string", value))
    return blobs


def result_update(assessment_id: str, result: ResultSnapshot) -> dict[str, Any]:
    """The ``assessment.update`` body for one result revision (no ``timestamp`` yet).

    Raises ``ValueError`` when a COMPLETED result has no http(s) ``result_url`` (Ashby requires
    ``assessment_profile_url`` of type ``url`` with a result)."""
    body: dict[str, Any] = {"assessment_id": assessment_id}
    if result.status == ResultStatus.OPEN:
        body["assessment_status"] = blob("status", "Status", "string", "Started")
    elif result.status == ResultStatus.CANCELLED:
        body["assessment_status"] = blob("status", "Status", "string", "Cancelled")
        body["cancelled_reason"] = blob("cancelled_reason", CANCELLED_LABEL, "string", "Cancelled")
    else:
        if not is_http_url(result.result_url):
            raise ValueError(f"Ashby needs an http(s) result_url for the report link, got {result.result_url!r}")
        body["assessment_status"] = blob("status", "Status", "string", "Completed")
        body["assessment_result"] = (
            blob("score", "Score", "numeric_score", result.score)
            if result.score is not None
            else blob("result", "Result", "string", "Completed")
        )
    if is_http_url(result.result_url):
        body["assessment_profile_url"] = blob("result_url", "Report", "url", result.result_url)
    meta = metadata(result)
    if meta:
        body["metadata"] = meta
    return body


def rejection_update(assessment_id: str, message: str) -> dict[str, Any]:
    """The vendor refused the order: Ashby's ``cancelled_reason`` carries the vendor's message."""
    return {
        "assessment_id": assessment_id,
        "cancelled_reason": blob("cancelled_reason", REJECTED_LABEL, "string", message or "Rejected"),
    }


def warnings(result: ResultSnapshot) -> list[str]:
    out = []
    if result.status == ResultStatus.OPEN and result.score is not None:
        out.append("Ashby shows an OPEN result as 'Started' only: the score is shown once the result is COMPLETED.")
    if result.status == ResultStatus.COMPLETED and not is_http_url(result.result_url):
        out.append(
            "Ashby requires an http(s) result_url (the report link) with a completed result: "
            "this result cannot be written to Ashby; send it again with an http(s) result_url."
        )
    if any(a["type"] == "SUB_RESULT" for a in result.attributes):
        out.append("Ashby shows SUB_RESULT attributes as text (e.g. 'Logic: 40/50 (80%)'), not as structured scores.")
    if result.attachments:
        names = ", ".join(a.name for a in result.attachments)
        out.append(
            f"Ashby cannot store attachments: {names} not sent to Ashby (kept in the hub); "
            "link the report from result_url instead."
        )
    if result.remote_fields:
        out.append("Ashby takes no remote_fields: they are stored in the hub only.")
    return out
