"""Field mapping both ways (docs/connectors/teamtailor.md §4).

Teamtailor partner event -> unified order; unified result revision -> partner-result attributes.
"""

from __future__ import annotations

from typing import Any

from assessment_hub.assessment.intake import UnifiedOrder
from assessment_hub.connectors.base import ResultSnapshot
from assessment_hub.connectors.numbers import percent
from assessment_hub.connectors.teamtailor.schemas import Candidate, PartnerEvent, Person, text_id
from assessment_hub.connectors.text import attribute_pairs, score_text
from assessment_hub.connectors.urls import is_http_url
from assessment_hub.kit.states import ResultStatus
from assessment_hub.kit.timestamps import format_instant

PACKAGE_FIELD = "test"
"""The ``/config`` select field listing the vendor's packages; its choice arrives as ``webhook-data["test"]``."""

STATUS: dict[str, str] = {
    ResultStatus.OPEN: "pending",
    ResultStatus.COMPLETED: "completed",
    ResultStatus.CANCELLED: "failed",
}
CANCELLED_SUMMARY = "Cancelled"


# ---------------------------------------------------------------- Teamtailor -> unified order


def package_choice(event: PartnerEvent) -> str | None:
    value = event.webhook_data.get(PACKAGE_FIELD)
    if isinstance(value, list) and len(value) == 1:  # a multiselect with one choice
        value = value[0]
    if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
        return str(value).strip()
    return None


def _split_name(name: str | None) -> tuple[str | None, str | None]:
    parts = (name or "").strip().split(None, 1)
    if not parts:
        return None, None
    return parts[0], parts[1] if len(parts) > 1 else None


def _hiring_team(candidate: Candidate) -> list[dict[str, Any]]:
    recruiter: Person | None = candidate.recruiter
    if recruiter is None or not (recruiter.email or recruiter.name):
        return []
    triggered_by = candidate.job.triggered_by if candidate.job else None
    remote_id = None
    if (
        triggered_by
        and triggered_by.email
        and recruiter.email
        and triggered_by.email.lower() == recruiter.email.lower()
    ):
        remote_id = text_id(triggered_by.id)  # the recruiter object has no id; the trigger's user may be them
    first, last = _split_name(recruiter.name)
    return [
        {
            "remote_id": remote_id,
            "email": recruiter.email,
            "first_name": first,
            "last_name": last,
            "hiring_team_roles": ["RECRUITER"],
        }
    ]


def _location(candidate: Candidate) -> dict[str, Any] | None:
    for location in candidate.locations or []:
        raw = ", ".join(p.strip() for p in (location.name, location.address) if p and p.strip())
        if raw:
            return {"raw": raw}
    return None


def unified_order(event: PartnerEvent) -> UnifiedOrder:
    """Candidate, application and job of the unified order (keys normalized by ``create_order``)."""
    c = event.candidate
    job = c.job
    return {
        "candidate": {
            "remote_id": text_id(c.id),
            "email": c.email or "",
            "first_name": c.first_name,
            "last_name": c.last_name,
            "phone": c.phone,
        },
        "application": {"remote_id": None},  # Teamtailor sends no application (job-application) id: UNCONFIRMED
        "job": {
            "remote_id": text_id(job.id) if job else None,
            "name": job.title if job else None,
            "job_code": None,
            "description": None,
            "location": _location(c),
            "hiring_team": _hiring_team(c),
        },
    }


# ---------------------------------------------------------------- unified result -> Teamtailor


def normalized_score(score: float | None, max_score: float | None) -> int | None:
    """Integer 0..100 (Teamtailor's ``assessment.score``), or None when it cannot be derived."""
    if score is None:
        return None
    if max_score is None:
        return round(score) if 0 <= score <= 100 else None
    scaled = percent(score, max_score)  # None for a max_score that is not positive, or past the double range
    return None if scaled is None else max(0, min(100, round(scaled)))


def _details(result: ResultSnapshot) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if result.score is not None:
        details["Score"] = score_text(result.score, result.max_score)
    if result.completed_at is not None and result.status == ResultStatus.COMPLETED:
        details["Completed at"] = format_instant(result.completed_at)
    for label, text in attribute_pairs(result.attributes):
        key, n = label, 2
        while key in details:
            key, n = f"{label} ({n})", n + 1
        details[key] = text
    return details


def _criteria(result: ResultSnapshot, criteria_ids: set[str]) -> list[dict[str, Any]]:
    out = []
    for attribute in result.attributes:
        if attribute.get("type") != "SUB_RESULT" or attribute.get("id") not in criteria_ids:
            continue
        if attribute.get("status") == ResultStatus.CANCELLED:
            continue
        value, maximum = attribute["score"]["value"], attribute["score"]["max"]
        score = normalized_score(value, maximum)
        if score is not None:
            out.append({"id": attribute["id"], "score": score})
    return out


def summary(result: ResultSnapshot) -> str:
    if result.status == ResultStatus.CANCELLED:
        return CANCELLED_SUMMARY
    scored = score_text(result.score, result.max_score)
    if result.status == ResultStatus.OPEN:
        return f"In progress (score so far {scored})" if scored else "In progress"
    return f"Score {scored}" if scored else "Completed"


def result_attributes(result: ResultSnapshot, criteria_ids: set[str]) -> dict[str, Any]:
    """The ``data.attributes`` of the partner-results ``PUT`` for one revision."""
    attrs: dict[str, Any] = {"status": STATUS[result.status], "summary": summary(result)}
    if is_http_url(result.result_url):
        attrs["url"] = result.result_url
    score = normalized_score(result.score, result.max_score)
    if score is not None:
        attrs["assessment"] = {"score": score}
    attrs["details"] = _details(result)
    attrs["attachments"] = [{"url": a.url, "description": a.name} for a in result.attachments]
    criteria = _criteria(result, criteria_ids)
    if criteria:
        attrs["assessment-criteria"] = criteria
    return attrs


def rejection_attributes(message: str) -> dict[str, Any]:
    return {"status": "failed", "summary": message, "details": {"Rejected by the vendor": message}}


def warnings(result: ResultSnapshot) -> list[str]:
    """What Teamtailor cannot show of ``result`` (returned to the vendor on the result PUT)."""
    out: list[str] = []
    if result.status == ResultStatus.CANCELLED:
        out.append("Teamtailor has no cancelled state: the result is shown as failed with the summary 'Cancelled'.")
    if result.score is not None:
        score = normalized_score(result.score, result.max_score)
        if score is None:
            why = (
                "there is no max_score and the score is outside 0-100"
                if result.max_score is None
                else "max_score is not positive"
                if result.max_score <= 0
                else "the score cannot be scaled to it (it overflows the number range)"
            )
            out.append(
                f"Teamtailor shows scores as integers from 0 to 100 and {why}: no score is shown "
                f"(only the text '{score_text(result.score, result.max_score)}' in the details)."
            )
        elif result.max_score not in (None, 100) or score != result.score:
            out.append(
                f"Teamtailor shows scores as integers from 0 to 100: "
                f"{score_text(result.score, result.max_score)} is shown as {score}."
            )
    if not is_http_url(result.result_url):
        out.append("Teamtailor only links http(s) URLs: result_url is not shown as a link.")
    if result.attachments:
        out.append(
            "Teamtailor shows attachments as links to the hub; the links expire after 7 days and need the "
            "hub's public_base_url to be reachable from the internet."
        )
    return out
