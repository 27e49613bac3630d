"""Greenhouse <-> unified shapes (docs/connectors/greenhouse.md §4).

In: a ``send_test`` body becomes the unified candidate, application and job. Greenhouse sends no
candidate, application or job ids of their own: the candidate id is the ``/people/{id}`` part of
``greenhouse_profile_url`` and the application id its ``application_id`` query parameter.

Out: the order's latest result becomes the ``test_status`` answer: ``partner_status`` is
``"complete"`` only for a COMPLETED result with an http(s) ``result_url``; ``metadata`` is flat
(primitives only), SUB_RESULTs flattened by ``connectors.text``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from assessment_hub.assessment.intake import UnifiedOrder
from assessment_hub.connectors.greenhouse.schemas import SendTestIn
from assessment_hub.connectors.numbers import whole
from assessment_hub.connectors.text import attribute_pairs
from assessment_hub.connectors.urls import is_http_url
from assessment_hub.kit.states import OrderStatus, ResultStatus
from assessment_hub.kit.timestamps import format_instant

COMPLETE = "complete"
"""The only ``partner_status`` Greenhouse treats as done (§2.6)."""
STATUS_BY_RESULT: dict[str, str] = {ResultStatus.OPEN: "in_progress", ResultStatus.CANCELLED: "cancelled"}
"""Other states: any non-``complete`` string means "not done yet" to Greenhouse (strings UNCONFIRMED)."""
NO_RESULT_STATUS = "in_progress"
REJECTED_STATUS = "rejected"
COMPLETED_WITHOUT_LINK_STATUS = "completed_without_link"
"""COMPLETED but ``result_url`` is not http(s): ``complete`` would be an invalid answer (§2.6)."""

MAX_SCORE_KEY = "Max Score"
COMPLETED_AT_KEY = "Completed At"
REJECTION_KEY = "Rejected"

_PEOPLE = re.compile(r"/people/(\d+)")


# ------------------------------------------------------------------ in


def profile_ids(profile_url: str | None) -> tuple[str | None, str | None]:
    """``(candidate id, application id)`` from ``https://app.greenhouse.io/people/{id}?application_id={id}``."""
    if not profile_url:
        return None, None
    parts = urlsplit(profile_url)
    match = _PEOPLE.search(parts.path)
    applications = parse_qs(parts.query).get("application_id") or []
    return (match.group(1) if match else None), (applications[0] if applications else None) or None


def unified_order(body: SendTestIn) -> UnifiedOrder:
    """The unified ``candidate``, ``application`` and ``job`` of a ``send_test`` body."""
    candidate_id, application_id = profile_ids(body.candidate.greenhouse_profile_url)
    hiring_team: list[dict[str, Any]] = []
    if body.sent_by:
        # The sender's email is all Greenhouse tells; its role is unknown (UNCONFIRMED mapping).
        hiring_team.append(
            {"remote_id": None, "email": body.sent_by, "first_name": None, "last_name": None, "hiring_team_roles": []}
        )
    return {
        "candidate": {
            "remote_id": candidate_id,
            "email": body.candidate.email,
            "first_name": body.candidate.first_name,
            "last_name": body.candidate.last_name,
            "phone": body.candidate.phone_number,
        },
        "application": {"remote_id": application_id},
        "job": {
            "remote_id": None,
            "name": None,
            "job_code": None,
            "description": None,
            "location": None,
            "hiring_team": hiring_team,
        },
    }


# ------------------------------------------------------------------ out


def _number(value: float | None) -> int | float | None:
    if value is None:
        return None
    exact = whole(value) if float(value).is_integer() else None  # a whole number within int64 as an integer
    return exact if exact is not None else value


def _put(metadata: dict[str, Any], key: str, value: Any) -> None:
    """Add ``key`` without overwriting an earlier one (a repeated label gets `` (2)``, `` (3)``...)."""
    name, n = key, 2
    while name in metadata:
        name, n = f"{key} ({n})", n + 1
    metadata[name] = value


def result_metadata(result: Any) -> dict[str, Any]:
    """Greenhouse's flat ``metadata``: max score, completion time, then each attribute as text."""
    metadata: dict[str, Any] = {}
    if result.max_score is not None:
        metadata[MAX_SCORE_KEY] = _number(result.max_score)
    if result.completed_at is not None:
        metadata[COMPLETED_AT_KEY] = format_instant(result.completed_at)
    for label, text in attribute_pairs(result.attributes or []):
        _put(metadata, label, text)
    return metadata


def partner_status(status: str, result_url: str | None) -> str:
    if status == ResultStatus.COMPLETED:
        return COMPLETE if is_http_url(result_url) else COMPLETED_WITHOUT_LINK_STATUS
    return STATUS_BY_RESULT.get(status, status.lower())


def status_answer(order_status: str, rejection_message: str | None, result: Any | None) -> dict[str, Any]:
    """The ``test_status`` body for an order and its latest result (None before the first result).

    Every key is present, ``null`` where there is no value (Greenhouse's own convention, §2.8).
    """
    if order_status == OrderStatus.REJECTED:
        return {
            "partner_status": REJECTED_STATUS,
            "partner_profile_url": None,
            "partner_score": None,
            "metadata": {REJECTION_KEY: rejection_message} if rejection_message else None,
        }
    if result is None:
        return {
            "partner_status": NO_RESULT_STATUS,
            "partner_profile_url": None,
            "partner_score": None,
            "metadata": None,
        }
    status = partner_status(result.status, result.result_url)
    return {
        "partner_status": status,
        "partner_profile_url": result.result_url if is_http_url(result.result_url) else None,
        "partner_score": _number(result.score),
        "metadata": result_metadata(result) or None,
    }
