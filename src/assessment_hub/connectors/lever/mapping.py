"""Field mapping both ways (docs/connectors/lever.md).

- ``parse_stage_packages``: the ``stage_packages`` setting ``stageId=packageId,...`` -> a mapping.
- ``unified_order``: a stage change and the opportunity Lever answers -> the hub's candidate/application/job.
- ``result_note`` / ``rejection_note``: a result revision / a vendor rejection -> the text of a Lever note; an
  OPEN result has none (Lever shows no interim state).
- ``warnings``: what Lever cannot show of a result, told to the vendor at PUT time.
"""

from __future__ import annotations

from typing import Any

from assessment_hub.assessment.intake import UnifiedOrder
from assessment_hub.connectors.base import OrderSnapshot, ResultSnapshot, SettingsError
from assessment_hub.connectors.lever.schemas import Opportunity, StageChange
from assessment_hub.connectors.text import attributes_as_text, score_text
from assessment_hub.kit.timestamps import format_instant

COMPLETED_TITLE = "Assessment completed"
CANCELLED_TITLE = "Assessment cancelled by the vendor"
REJECTED_TITLE = "Assessment rejected by the vendor"


def parse_stage_packages(raw: str | None) -> dict[str, str]:
    """``"stage-a=pkg-1, stage-b=pkg-2"`` -> ``{"stage-a": "pkg-1", "stage-b": "pkg-2"}``; raises ``SettingsError``
    naming an entry without both parts or a stage listed twice."""
    mapping: dict[str, str] = {}
    for part in (raw or "").split(","):
        if not part.strip():
            continue
        stage, _, package = (p.strip() for p in part.partition("="))
        if not stage or not package:
            raise SettingsError(f"stage_packages: {part.strip()!r} is not stageId=packageId")
        if stage in mapping:
            raise SettingsError(f"stage_packages: stage {stage!r} is listed twice")
        mapping[stage] = package
    return mapping


# ------------------------------------------------------------------ Lever -> hub


def _split_name(name: str | None) -> tuple[str | None, str | None]:
    parts = (name or "").strip().split(None, 1)
    if not parts:
        return None, None
    return parts[0], parts[1] if len(parts) > 1 else None


def unified_order(change: StageChange, opportunity: Opportunity) -> UnifiedOrder:
    """``opportunityId`` -> the application's remote id, ``contactId`` -> the candidate's; name, first email and
    first phone from the opportunity. Lever's stage change names no job: null."""
    first, last = _split_name(opportunity.name)
    phone = next((p.value for p in opportunity.phones if p.value), None)
    return {
        "candidate": {
            "remote_id": change.contactId or opportunity.contact,
            "email": opportunity.emails[0].strip() if opportunity.emails else "",
            "first_name": first,
            "last_name": last,
            "phone": phone,
        },
        "application": {"remote_id": change.opportunityId},
        "job": {"remote_id": None, "name": None},
    }


# ------------------------------------------------------------------ hub -> Lever


def result_note(order: OrderSnapshot, result: ResultSnapshot) -> str | None:
    """The note of one COMPLETED (or CANCELLED) revision; None for an OPEN one::

    Assessment completed (package pkg-1)
    Score: 41/50
    Completed at: 2024-05-01T10:00:00.000Z
    Result: https://vendor.example/results/1
    Logic: 9/10 (90%)
    """
    if result.status == "OPEN":
        return None
    title = COMPLETED_TITLE if result.status == "COMPLETED" else CANCELLED_TITLE
    lines = [f"{title} (package {order.package_id})"]
    score = score_text(result.score, result.max_score)
    if score is not None and result.status == "COMPLETED":
        lines.append(f"Score: {score}")
    if result.completed_at is not None:
        lines.append(f"Completed at: {format_instant(result.completed_at)}")
    lines.append(f"Result: {result.result_url}")
    attributes = attributes_as_text(result.attributes)
    if attributes:
        lines.append(attributes)
    return "\n".join(lines)


def rejection_note(order: OrderSnapshot, message: str) -> str:
    return f"{REJECTED_TITLE} (package {order.package_id})\n{message.strip() or 'No reason given'}"


def note_body(text: str) -> dict[str, Any]:
    """The ``POST /opportunities/{id}/notes`` body: the text alone (``value`` is the one required field)."""
    return {"value": text}


def warnings(result: ResultSnapshot) -> list[str]:
    out: list[str] = []
    if result.status == "OPEN":
        out.append("Lever shows no interim results: an OPEN result is stored in the hub and nothing is sent to Lever.")
        return out
    if result.attachments:
        names = ", ".join(a.name for a in result.attachments)
        out.append(f"Lever notes are text only: the attachments ({names}) are stored in the hub, not sent to Lever.")
    if any(a["type"] == "SUB_RESULT" for a in result.attributes):
        out.append(
            "Lever notes are text only: SUB_RESULT attributes are written as 'label: score/max (percent)' lines."
        )
    if result.remote_fields:
        out.append("Lever takes no remote_fields: they are stored in the hub only.")
    return out
