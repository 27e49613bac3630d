"""Field mapping both ways (docs/connectors/smartrecruiters.md).

- ``unified_order``: an ``AssessmentPackageOrderRequest`` -> the hub's candidate/application/job.
- ``package``: a hub package -> SmartRecruiters' ``AssessmentPackage`` (``type`` in its ``AssessmentType`` enum).
- ``result_patch`` / ``rejection_patch``: a result revision / a vendor rejection -> the ``PackageResult`` merge
  patch (RFC 7396) sent to ``resultCallbackURL``. Every key is sent (``null`` when the revision has no value), so
  each revision replaces what SmartRecruiters shows rather than merging with an older one.
- ``warnings``: what SmartRecruiters cannot show of a result, told to the vendor at PUT time.
"""

from __future__ import annotations

from typing import Any

from assessment_hub.assessment.intake import Package, UnifiedOrder
from assessment_hub.connectors.base import ResultSnapshot
from assessment_hub.connectors.numbers import INT64_MAX, whole
from assessment_hub.connectors.smartrecruiters.schemas import OrderIn
from assessment_hub.connectors.text import attributes_as_text, format_number
from assessment_hub.connectors.urls import is_http_url
from assessment_hub.kit.timestamps import format_instant

PACKAGE_TYPES = {
    "SKILLS_TEST": "SKILL_TEST",
    "BEHAVIORAL": "BEHAVIORAL_ASSESSMENT",
    "VIDEO_INTERVIEW": "VIDEO_INTERVIEW",
    "BACKGROUND_CHECK": "BACKGROUND_CHECK",
    "REFERENCE_CHECK": "REFERENCE_CHECK",
}
"""Kombo's package types -> SmartRecruiters' ``AssessmentType``; a package without a type is a ``SKILL_TEST``."""
DEFAULT_TYPE = "SKILL_TEST"

STATUS = {"OPEN": "IN_PROGRESS", "COMPLETED": "COMPLETED", "CANCELLED": "EXPIRED"}
"""Result status -> ``PackageResult.status``; a CANCELLED result is ``EXPIRED`` (UNCONFIRMED choice: SmartRecruiters'
enum has no "cancelled"), a vendor rejection ``REJECTED``."""
DEFAULT_MAX = 100
"""The ``max`` sent for a score without ``max_score`` (Kombo reads such a score as 0-100)."""
REMOTE_KEY = "smartrecruiters"


# ------------------------------------------------------------------ SmartRecruiters -> hub


def _location(order: OrderIn) -> dict[str, Any] | None:
    loc = order.job.location
    if loc is None:
        return None
    parts = [p for p in (loc.address, loc.city, loc.region, loc.country) if p]
    if not parts:
        return None
    return {
        "street_1": loc.address,
        "city": loc.city,
        "state": loc.region,
        "zip_code": loc.postalCode,
        "country": (loc.countryCode or "").upper() or None,
        "raw": ", ".join(parts),
    }


def unified_order(order: OrderIn) -> UnifiedOrder:
    """``candidate.id``, ``job.id`` and ``job.title`` become the remote ids and the job name; the requester (the
    recruiter who ordered) the hiring team. SmartRecruiters sends no application id."""
    requester = order.requester
    team = (
        [{"remote_id": requester.userId, "email": requester.email, "hiring_team_roles": ["RECRUITER"]}]
        if requester is not None and (requester.userId or requester.email)
        else []
    )
    return {
        "candidate": {
            "remote_id": order.candidate.id,
            "email": order.candidate.email,
            "first_name": order.candidate.firstName,
            "last_name": order.candidate.lastName,
            "phone": None,
        },
        "application": {"remote_id": None},
        "job": {
            "remote_id": order.job.id,
            "name": order.job.title,
            "job_code": order.job.refNumber,
            "description": None,
            "location": _location(order),
            "hiring_team": team,
        },
    }


def package(pkg: Package) -> dict[str, Any]:
    """An ``AssessmentPackage`` with the package itself as its one ``Assessment``."""
    kind = PACKAGE_TYPES.get(pkg.type or "", DEFAULT_TYPE)
    description = pkg.description or ""
    return {
        "id": pkg.package_id,
        "name": pkg.name,
        "description": description,
        "type": kind,
        "assessments": [{"id": pkg.package_id, "name": pkg.name, "description": description, "type": kind}],
    }


# ------------------------------------------------------------------ hub -> SmartRecruiters


def score(value: float | None, maximum: float | None) -> dict[str, int] | None:
    """``Score`` ``{raw, min: 0, max}`` (int64 in SmartRecruiters' schema: non-integers are rounded; ``raw`` kept
    within ``[0, max]``, since SmartRecruiters shows ``(raw - min) / (max - min)`` as a percentage), or None
    (also when a number is beyond int64: ``numbers.whole``; ``warnings`` says so)."""
    raw, top = whole(value), whole(maximum if maximum is not None else DEFAULT_MAX)
    if raw is None or top is None:
        return None
    top = max(0, top)
    return {"raw": min(max(0, raw), top), "min": 0, "max": top}


def _sub_results(result: ResultSnapshot) -> list[dict[str, Any]]:
    subs = []
    for attribute in result.attributes:
        if attribute["type"] != "SUB_RESULT":
            continue
        sub_score = attribute.get("score") or {}
        subs.append(
            {
                "assessmentId": str(attribute["id"]),
                "assessmentName": attribute["label"],
                "score": score(sub_score.get("value"), sub_score.get("max")),
                "status": "EXPIRED" if attribute.get("status") == "CANCELLED" else "COMPLETED",
            }
        )
    return subs


def _attachments(result: ResultSnapshot) -> list[dict[str, str]]:
    links = [{"type": "OTHER_URL", "url": result.result_url}] if is_http_url(result.result_url) else []
    for attachment in result.attachments:
        kind = "PDF_URL" if (attachment.content_type or "").startswith("application/pdf") else "OTHER_URL"
        links.append({"type": kind, "url": attachment.url})
    return links


def _own_fields(result: ResultSnapshot) -> dict[str, Any]:
    """``remote_fields.smartrecruiters`` ({} when absent or not an object)."""
    own = (result.remote_fields or {}).get(REMOTE_KEY)
    return own if isinstance(own, dict) else {}


def score_label(result: ResultSnapshot) -> str | None:
    value = _own_fields(result).get("scoreLabel")
    return value if isinstance(value, str) and value.strip() else None


def result_patch(result: ResultSnapshot) -> dict[str, Any]:
    """The ``PackageResult`` for one revision, every key present (``null``: nothing to show)."""
    texts = [a for a in result.attributes if a["type"] == "TEXT"]
    return {
        "status": STATUS.get(result.status, "IN_PROGRESS"),
        "score": score(result.score, result.max_score),
        "scoreLabel": score_label(result),
        "summary": attributes_as_text(texts) or None,
        "submissionDate": format_instant(result.completed_at) if result.completed_at is not None else None,
        "attachments": _attachments(result),
        "assessmentResults": _sub_results(result),
    }


def rejection_patch(message: str) -> dict[str, Any]:
    """The vendor refused the order: ``REJECTED`` with the vendor's message as the summary."""
    return {"status": "REJECTED", "summary": message or "Rejected by the assessment vendor"}


def warnings(result: ResultSnapshot) -> list[str]:
    out = []
    numbers = [("score", result.score), ("max_score", result.max_score)]
    numbers += [
        (f"{a['label']} score", v)
        for a in result.attributes
        if a["type"] == "SUB_RESULT"
        for v in ((a.get("score") or {}).get("value"), (a.get("score") or {}).get("max"))
    ]
    too_big = [f"{name} {format_number(v)}" for name, v in numbers if v is not None and whole(v) is None]
    if too_big:
        out.append(
            f"SmartRecruiters takes whole-number scores up to {INT64_MAX}: {', '.join(too_big)} is beyond that, "
            "so that score is not sent."
        )
    rounded = [
        f"{name} {format_number(v)}"
        for name, v in numbers
        if v is not None and whole(v) is not None and not float(v).is_integer()
    ]
    if rounded:
        out.append(
            f"SmartRecruiters takes whole-number scores: {', '.join(rounded)} rounded to the nearest whole number."
        )
    sent = score(result.score, result.max_score)
    top = result.max_score if result.max_score is not None else DEFAULT_MAX
    if sent is not None and result.score is not None and not 0 <= result.score <= top:
        out.append(
            f"SmartRecruiters shows scores between 0 and the maximum: {format_number(result.score)}/"
            f"{format_number(top)} is sent as {sent['raw']}/{sent['max']}."
        )
    if result.score is not None and result.max_score is None:
        out.append(f"SmartRecruiters needs a maximum score: the score is sent as {format_number(result.score)}/100.")
    if not is_http_url(result.result_url):
        out.append("SmartRecruiters links only http(s) URLs: result_url is not shown.")
    if result.attachments:
        out.append(
            "SmartRecruiters shows attachments as links to the hub; the links expire after 7 days and need the "
            "hub's public_base_url to be reachable from the internet."
        )
    extra = sorted(set(_own_fields(result)) - {"scoreLabel"})
    if extra:
        out.append(
            f"SmartRecruiters takes only remote_fields.smartrecruiters.scoreLabel: {', '.join(extra)} "
            "stored in the hub only."
        )
    if _own_fields(result).get("scoreLabel") is not None and score_label(result) is None:
        out.append("remote_fields.smartrecruiters.scoreLabel must be a non-empty string: it is not sent.")
    return out
