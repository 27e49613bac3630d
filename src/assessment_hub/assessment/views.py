"""Rows to API objects, in the exact shapes of kombo-contract.md §4.1 and §4.3.

Every key of the Kombo order object is present (null where unknown); the hub adds ``created_at``,
``updated_at``, ``rejection_message`` and ``result`` (the latest accepted revision), which official
SDKs ignore.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from orjson import Fragment
from sqlalchemy import Row

from assessment_hub.assessment.models import AttachmentRow, OrderRow, PackageRow, ResultRevisionRow
from assessment_hub.kit.envelope import json_fragment
from assessment_hub.kit.timestamps import format_instant, format_listed_instant

CANDIDATE_KEYS = ("remote_id", "email", "first_name", "last_name", "phone")
JOB_KEYS = ("remote_id", "name", "job_code", "description", "location", "hiring_team")
LOCATION_KEYS = ("street_1", "street_2", "city", "state", "zip_code", "country", "raw")
HIRING_TEAM_KEYS = ("remote_id", "email", "first_name", "last_name", "hiring_team_roles")


def package_view(row: PackageRow) -> dict[str, Any]:
    return {
        "id": row.package_id,
        "name": row.name,
        "description": row.description,
        "updated_at": format_instant(row.updated_at),
        "type": row.type,
    }


def normalize_candidate(data: dict[str, Any]) -> dict[str, Any]:
    """All candidate keys present; ``email`` is required by the contract and defaults to ``""`` only if absent."""
    out = {key: data.get(key) for key in CANDIDATE_KEYS}
    if out["email"] is None:
        out["email"] = ""
    return out


def normalize_application(data: dict[str, Any]) -> dict[str, Any]:
    return {"remote_id": data.get("remote_id")}


def normalize_job(data: dict[str, Any]) -> dict[str, Any]:
    out = {key: data.get(key) for key in JOB_KEYS}
    if isinstance(out["location"], dict):
        out["location"] = {key: out["location"].get(key) for key in LOCATION_KEYS}
    out["hiring_team"] = [
        {
            **{key: member.get(key) for key in HIRING_TEAM_KEYS},
            "hiring_team_roles": list(member.get("hiring_team_roles") or []),
        }
        for member in (out["hiring_team"] or [])
    ]
    return out


def result_view(row: ResultRevisionRow | Row[Any], attachments: Sequence[AttachmentRow | Row[Any]]) -> dict[str, Any]:
    """The latest result of an order: a revision (ORM or Core row) and its attachments in position order."""
    return {
        "revision": row.revision,
        "status": row.status,
        "score": row.score,
        "max_score": row.max_score,
        "result_url": row.result_url,
        "completed_at": format_instant(row.completed_at),
        "attributes": row.attributes,
        "attachments": [
            {"name": a.name, "content_type": a.content_type, "sha256": a.sha256, "size_bytes": a.size_bytes}
            for a in attachments
        ],
        "remote_fields": row.remote_fields,
        "received_at": format_instant(row.created_at),
    }


def order_view(row: OrderRow, *, with_status: bool = True) -> dict[str, Any]:
    """The order object; ``with_status=False`` for the deprecated ``/orders/open`` listing (§4.4)."""
    view: dict[str, Any] = {"id": row.id, "package_id": row.package_id}
    if with_status:
        view["status"] = row.status
    view.update(
        candidate=row.candidate,
        application=row.application,
        job=row.job,
        created_at=format_instant(row.created_at),
        updated_at=format_instant(row.updated_at),
        rejection_message=row.rejection_message,
        result=result_view(row.latest_result, row.latest_result.attachments) if row.latest_result is not None else None,
    )
    return view


def listed_result(row: Row[Any], attachments: Sequence[Row[Any]]) -> dict[str, Any]:
    """``result_view`` of a listed revision (``service.list_orders``), for ``success_with_fragments``: its
    ``attributes`` and ``remote_fields`` are the stored JSON text, spliced in (decoding and encoding them
    again was ~40 % of a page of COMPLETED orders), and its scores pre-encoded as ``success`` encodes
    them. The same JSON values as ``result_view``; the spliced text keeps the database's spacing."""
    return {
        "revision": row.revision,
        "status": row.status,
        "score": None if row.score is None else json_fragment(row.score),
        "max_score": None if row.max_score is None else json_fragment(row.max_score),
        "result_url": row.result_url,
        "completed_at": None if row.completed_at is None else format_listed_instant(row.completed_at),
        "attributes": Fragment(row.attributes),
        "attachments": [
            {"name": a.name, "content_type": a.content_type, "sha256": a.sha256, "size_bytes": a.size_bytes}
            for a in attachments
        ],
        "remote_fields": None if row.remote_fields is None else Fragment(row.remote_fields),
        "received_at": format_listed_instant(row.created_at),
    }


def listed_orders(
    orders: Sequence[Any], results: Mapping[str, tuple[Any, list[Any]]], *, with_status: bool = True
) -> list[dict[str, Any]]:
    """``order_view`` of each row of a page of ``assessment.service.list_orders`` (``OrderPage``), for
    ``success_with_fragments``: the stored JSON text of ``candidate``/``application``/``job`` is spliced
    in as is (``Fragment``), and so are each latest result's (``listed_result``)."""
    views = []
    for (
        order_id,
        package_id,
        status,
        candidate,
        application,
        job,
        created_at,
        updated_at,
        rejection_message,
        result_id,
    ) in orders:
        result = results.get(result_id) if result_id is not None else None
        view = {
            "id": order_id,
            "package_id": package_id,
            "status": status,
            "candidate": Fragment(candidate),
            "application": Fragment(application),
            "job": Fragment(job),
            "created_at": format_listed_instant(created_at),
            "updated_at": format_listed_instant(updated_at),
            "rejection_message": rejection_message,
            "result": listed_result(*result) if result is not None else None,
        }
        if not with_status:
            del view["status"]
        views.append(view)
    return views
