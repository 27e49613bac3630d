"""Field mapping both ways (docs/connectors/workable.md).

- ``unified_order``: Workable's ``POST /assessments`` body -> the hub's candidate/application/job.
- ``result_body`` / ``rejection_body``: a result revision / a vendor rejection -> the ``PUT {callback_url}`` body.
- ``warnings``: what Workable cannot show of a result, told to the vendor at PUT time.
"""

from __future__ import annotations

from typing import Any

from assessment_hub.assessment.intake import UnifiedOrder
from assessment_hub.connectors.base import ResultSnapshot
from assessment_hub.connectors.text import attributes_as_text, format_number, percent_text, sub_result_text
from assessment_hub.connectors.urls import is_http_url
from assessment_hub.connectors.workable.schemas import AssessmentIn

STATUS = {"OPEN": "pending", "COMPLETED": "completed", "CANCELLED": "expired"}
"""Result status -> Workable's callback ``status``; a CANCELLED result is ``expired`` (UNCONFIRMED choice)."""


# ------------------------------------------------------------------ Workable -> hub


def unified_order(body: AssessmentIn) -> UnifiedOrder:
    """``job_shortcode`` and ``job_title`` become the job's remote id and name; Workable sends no candidate or
    application id."""
    c = body.candidate
    return {
        "candidate": {
            "remote_id": None,
            "email": c.email,
            "first_name": c.first_name,
            "last_name": c.last_name,
            "phone": c.phone,
        },
        "application": {"remote_id": None},
        "job": {
            "remote_id": body.job_shortcode,
            "name": body.job_title,
            "job_code": body.job_shortcode,
            "description": None,
            "location": None,
            "hiring_team": [],
        },
    }


# ------------------------------------------------------------------ hub -> Workable


def score_text(result: ResultSnapshot) -> str | None:
    """``assessment.score``: the score as a percentage of ``max_score``, as text (``"82"``); without
    ``max_score`` the score itself (read as a percentage, as Kombo does)."""
    if result.score is None:
        return None
    if result.max_score is None:
        return format_number(result.score)
    return percent_text(result.score, result.max_score)


def details(result: ResultSnapshot) -> dict[str, str]:
    """One ``label: "9/10 (90%)"`` per SUB_RESULT (a repeated label gets `` (2)``, `` (3)``, ...)."""
    out: dict[str, str] = {}
    for attribute in result.attributes:
        if attribute["type"] != "SUB_RESULT":
            continue
        label, key, n = attribute["label"], attribute["label"], 2
        while key in out:
            key, n = f"{label} ({n})", n + 1
        out[key] = sub_result_text(attribute)
    return out


def result_body(result: ResultSnapshot) -> dict[str, Any]:
    """The ``PUT {callback_url}`` body for one revision. OPEN: ``{"status": "pending"}``.

    Raises ``ValueError`` for a COMPLETED result without an http(s) ``result_url`` (Workable's ``results_url``
    is mandatory on ``completed``)."""
    status = STATUS.get(result.status, "pending")
    if status != "completed":
        return {"status": status}
    if not is_http_url(result.result_url):
        raise ValueError(f"Workable needs an http(s) results_url with a completed result, got {result.result_url!r}")
    assessment: dict[str, Any] = {}
    score = score_text(result)
    if score is not None:
        assessment["score"] = score
    summary = attributes_as_text([a for a in result.attributes if a["type"] == "TEXT"])
    if summary:
        assessment["summary"] = summary
    sub_results = details(result)
    if sub_results:
        assessment["details"] = sub_results
    body: dict[str, Any] = {"status": "completed", "results_url": result.result_url, "assessment": assessment}
    if result.attachments:
        body["attachments"] = [{"description": a.name, "url": a.url} for a in result.attachments]
    return body


def rejection_body(message: str) -> dict[str, Any]:
    """The vendor refused the order: ``rejected`` (Workable's callback has no field for the vendor's message)."""
    return {"status": "rejected"}


def warnings(result: ResultSnapshot) -> list[str]:
    out = []
    if result.status == "OPEN" and result.score is not None:
        out.append("Workable shows an OPEN result as pending only: the score is shown once the result is COMPLETED.")
    if result.status == "COMPLETED" and not is_http_url(result.result_url):
        out.append(
            "Workable requires an http(s) result_url (its results_url) with a completed result: this result "
            "cannot be written to Workable; send it again with an http(s) result_url."
        )
    if result.status == "COMPLETED" and result.score is not None and result.max_score is not None:
        shown = score_text(result)
        out.append(
            f"Workable shows the score as a percentage: {format_number(result.score)}/"
            f"{format_number(result.max_score)} is shown as {shown}."
        )
    if result.attachments:
        out.append(
            "Workable shows attachments as links to the hub; the links expire after 7 days and need the "
            "hub's public_base_url to be reachable from the internet."
        )
    if result.remote_fields:
        out.append("Workable takes no remote_fields: they are stored in the hub only.")
    return out
