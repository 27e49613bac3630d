"""Normalize an accepted ``ResultIn`` into today's shape, collecting the warnings the vendor gets.

Rules and their sources:
- legacy ``{field, value}`` attributes become TEXT attributes (shared/cases/seed-legacy-result-body.json);
- legacy top-level ``sub_results`` become SUB_RESULT attributes (kombo-contract.md §4.5, middle shape);
- the old spelling ``COMPLETE`` is stored as ``COMPLETED``;
- ``completed_at`` is parsed leniently (``kit.timestamps``); COMPLETED/CANCELLED without it get the
  server time; a naive time is taken as UTC (shared/cases/result-completed-at.json);
- ``remote_fields`` is kept as the vendor wrote it: its values, and its JSON text as sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from assessment_hub.assessment.schemas import (
    LegacyAttributeIn,
    ResultIn,
    SubResultAttributeIn,
    TextAttributeIn,
)
from assessment_hub.errors import InputInvalid
from assessment_hub.kit.states import TERMINAL_RESULT_STATUSES, ResultStatus
from assessment_hub.kit.timestamps import parse_instant, utcnow

KNOWN_FIELDS = frozenset(ResultIn.model_fields)


@dataclass
class NormalizedResult:
    status: ResultStatus
    result_url: str
    completed_at: datetime | None
    score: float | None
    max_score: float | None
    attributes: list[dict[str, Any]]
    remote_fields: dict[str, Any] | None
    warnings: list[str] = field(default_factory=list)
    completed_at_defaulted: bool = False
    """No ``completed_at`` was sent for a terminal status: the receive time stands in (a correction
    keeps the earlier revision's time instead, ``service.record_result``)."""
    remote_fields_text: str | None = None
    """``remote_fields`` as the JSON text the vendor sent (``kit.body.json_body``, after the body validated),
    stored as is, so that the listing gives it back in the vendor's spelling; None (no ``remote_fields``, or
    a result not parsed from a request body): the value is stored through the hub's JSON serializer."""


def normalize_result(body: ResultIn) -> NormalizedResult:
    """Return the result in today's shape; raises ``InputInvalid`` for a ``completed_at`` that names no instant."""
    warnings: list[str] = []
    status = ResultStatus.COMPLETED if body.status == "COMPLETE" else ResultStatus(body.status)
    if body.status == "COMPLETE":
        warnings.append("status: the legacy spelling COMPLETE was stored as COMPLETED.")

    attributes: list[dict[str, Any]] = []
    legacy_pairs = 0
    for attribute in body.attributes:
        if isinstance(attribute, LegacyAttributeIn):
            legacy_pairs += 1
            attributes.append({"type": "TEXT", "label": attribute.field, "value": attribute.value})
        elif isinstance(attribute, TextAttributeIn):
            attributes.append({"type": "TEXT", "label": attribute.label, "value": attribute.value})
        elif isinstance(attribute, SubResultAttributeIn):
            attributes.append(
                _sub_result(attribute.id, attribute.label, attribute.score.value, attribute.score.max, attribute.status)
            )
    if legacy_pairs:
        warnings.append(
            f"attributes: {legacy_pairs} legacy {{field, value}} attribute(s) were stored as TEXT attributes "
            "{type: TEXT, label, value}; send that shape instead."
        )
    if body.sub_results:
        for sub in body.sub_results:
            attributes.append(_sub_result(sub.id, sub.title, sub.score, sub.max_score, sub.status))
        warnings.append(
            "sub_results: the legacy top-level sub_results array was stored as SUB_RESULT attributes; "
            "send attributes of type SUB_RESULT instead."
        )

    completed_at = None
    defaulted = False
    if body.completed_at is not None:
        try:
            parsed = parse_instant(body.completed_at)
        except ValueError as exc:
            raise InputInvalid(f"Invalid request body: completed_at: {exc}") from None
        completed_at = parsed.value
        if parsed.was_naive:
            warnings.append("completed_at: no time zone was given; the time was taken as UTC.")
    elif status in TERMINAL_RESULT_STATUSES:
        completed_at = utcnow()
        warnings.append(f"completed_at: missing for status {status}; the hub's receive time was used.")
        defaulted = True

    unknown = sorted(set(body.model_extra or ()) - KNOWN_FIELDS)
    if unknown:
        warnings.append(f"Unknown field(s) ignored: {', '.join(unknown)}.")

    return NormalizedResult(
        status=status,
        result_url=body.result_url,
        completed_at=completed_at,
        score=body.score,
        max_score=body.max_score,
        attributes=attributes,
        remote_fields=body.remote_fields,
        warnings=warnings,
        completed_at_defaulted=defaulted,
        remote_fields_text=body.member_text("remote_fields") if body.remote_fields is not None else None,
    )


def _sub_result(sub_id: str, label: str, value: float, maximum: float, status: str) -> dict[str, Any]:
    return {
        "type": "SUB_RESULT",
        "id": sub_id,
        "label": label,
        "score": {"value": float(value), "max": float(maximum)},
        "status": status,
    }
