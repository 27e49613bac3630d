"""Field mapping both ways (docs/connectors/recruitee.md).

- ``test``: a hub package -> an entry of ``GET tests_url`` (``{"id", "name"}``).
- ``unified_order``: a send-candidate body -> the hub's candidate/application/job.
- ``report_patch`` / ``rejection_patch``: a result revision / a vendor rejection -> the report ``PATCH`` body
  (ats-protocols-2.md §3.2: ``status`` ``completed``|``canceled``, ``score`` as text, ``completed_at``,
  ``subtitle``); an OPEN result has no report body (Recruitee shows no interim state): ``None``.
- ``warnings``: what Recruitee cannot show of a result, told to the vendor at PUT time.
"""

from __future__ import annotations

from typing import Any

from assessment_hub.assessment.intake import Package, UnifiedOrder
from assessment_hub.connectors.base import ResultSnapshot
from assessment_hub.connectors.recruitee.schemas import SendCandidate
from assessment_hub.connectors.text import score_text
from assessment_hub.kit.timestamps import format_instant

REMOTE_KEY = "recruitee"
STATUS = {"COMPLETED": "completed", "CANCELLED": "canceled"}
"""Result status -> report ``status`` (Recruitee spells ``canceled`` with one l); OPEN sends nothing."""
REJECTED_SUBTITLE = "Rejected by the assessment vendor"


# ------------------------------------------------------------------ Recruitee -> hub


def test(package: Package) -> dict[str, str]:
    """One entry of the tests list: the vendor's package id (a string: Recruitee sends it back as ``test_id``)."""
    return {"id": package.package_id, "name": package.name}


def unified_order(body: SendCandidate) -> UnifiedOrder:
    """``candidate_id`` -> the candidate's remote id; Recruitee sends no application nor job."""
    return {
        "candidate": {
            "remote_id": body.candidate_id,
            "email": body.email,
            "first_name": body.first_name,
            "last_name": body.last_name,
            "phone": body.phone,
        },
        "application": {"remote_id": None},
        "job": {"remote_id": None, "name": None},
    }


# ------------------------------------------------------------------ hub -> Recruitee


def _own_fields(result: ResultSnapshot) -> dict[str, Any]:
    own = (result.remote_fields or {}).get(REMOTE_KEY)
    return own if isinstance(own, dict) else {}


def subtitle(result: ResultSnapshot) -> str | None:
    """``remote_fields.recruitee.subtitle`` when it is a non-empty string (Kombo's field for the report subtitle)."""
    value = _own_fields(result).get("subtitle")
    return value.strip() if isinstance(value, str) and value.strip() else None


def report_patch(result: ResultSnapshot) -> dict[str, Any] | None:
    """The report ``PATCH`` body for one revision; None for an OPEN result (nothing to send)."""
    status = STATUS.get(result.status)
    if status is None:
        return None
    body: dict[str, Any] = {"status": status}
    if status == "completed":
        score = score_text(result.score, result.max_score)
        if score is not None:
            body["score"] = score
    if result.completed_at is not None:
        body["completed_at"] = format_instant(result.completed_at)
    shown = subtitle(result)
    if shown is not None:
        body["subtitle"] = shown
    return body


def rejection_patch(message: str) -> dict[str, Any]:
    """The vendor refused the order: the report is ``canceled`` with the vendor's message as its subtitle
    (UNCONFIRMED choice: Recruitee has no "rejected" status)."""
    return {"status": "canceled", "subtitle": message.strip() or REJECTED_SUBTITLE}


def warnings(result: ResultSnapshot) -> list[str]:
    out: list[str] = []
    if result.status == "OPEN":
        out.append(
            "Recruitee shows no interim results: an OPEN result is stored in the hub and nothing is sent to Recruitee."
        )
        return out
    out.append("Recruitee's report has no result link: result_url is stored in the hub, not shown in Recruitee.")
    if result.attributes:
        out.append(
            "Recruitee's report shows a score and a subtitle only: attributes are stored in the hub, not shown in "
            "Recruitee (remote_fields.recruitee.subtitle sets the subtitle)."
        )
    if result.attachments:
        names = ", ".join(a.name for a in result.attachments)
        out.append(f"Recruitee reports take no attachments: {names} stored in the hub only.")
    own = _own_fields(result)
    if own.get("subtitle") is not None and subtitle(result) is None:
        out.append("remote_fields.recruitee.subtitle must be a non-empty string: it is not sent.")
    extra = sorted(set(own) - {"subtitle"})
    if extra:
        out.append(f"Recruitee takes only remote_fields.recruitee.subtitle: {', '.join(extra)} stored in the hub only.")
    return out
