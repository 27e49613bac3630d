"""The response bodies the vendor API promises, as JSON Schema (draft 2020-12) written for this project.

Field names, types, required keys and enum values follow the Kombo Assessment API contract (the team's
reference: Kombo's OpenAPI for the assessment endpoints, and kombo-contract.md §3-§6); the wording and
the layout are ours. Like the contract, an object may carry fields beyond the ones listed (the hub adds
``result`` to an order, for instance); what is listed must be there, with that type.

A field that is "nullable text from a list" accepts ``null`` as well as the listed values: the contract
writes those as ``type: [string, null]`` next to an enum, and the official SDKs read them as nullable
(package ``type``, error ``code``; kombo-contract.md §4.1).

``RESPONSES[(path, method)]`` is ``(success schema, error schema)``; ``schema_for`` picks one by status.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

# --- building blocks --------------------------------------------------------------------------------

TEXT: Schema = {"type": "string"}
TEXT_OR_NULL: Schema = {"type": ["string", "null"]}
FLAG: Schema = {"type": "boolean"}
INSTANT: Schema = {"type": "string", "format": "date-time"}
INSTANT_OR_NULL: Schema = {"type": ["string", "null"], "format": "date-time"}
LINK: Schema = {"type": "string", "format": "uri"}
LINK_OR_NULL: Schema = {"type": ["string", "null"], "format": "uri"}


def record(fields: dict[str, Schema], *, required: list[str] | None = None) -> Schema:
    """An object with ``fields``; all of them required unless ``required`` names fewer (or more)."""
    return {"type": "object", "properties": fields, "required": list(fields) if required is None else required}


def one_of(*values: str) -> Schema:
    return {"type": "string", "enum": list(values)}


def one_of_or_null(*values: str) -> Schema:
    return {"type": ["string", "null"], "enum": [*values, None]}


def list_of(item: Schema) -> Schema:
    return {"type": "array", "items": item}


def success(data: Schema, *, warnings: bool = False) -> Schema:
    """The success envelope: ``status: "success"``, ``data``, and ``warnings`` where the endpoint has them."""
    fields: dict[str, Schema] = {"status": {"type": "string", "const": "success"}, "data": data}
    if warnings:
        fields["warnings"] = list_of(record({"message": TEXT}))
    return record(fields)


ANY_OBJECT: Schema = {"type": "object"}

# --- errors (kombo-contract.md §3.2) ----------------------------------------------------------------

PLATFORM_CODES = (
    "PLATFORM.RATE_LIMIT_EXCEEDED",
    "PLATFORM.CONCURRENCY_LIMIT_EXCEEDED",
    "PLATFORM.INTEGRATION_NOT_FOUND",
    "PLATFORM.INPUT_INVALID",
    "PLATFORM.UNKNOWN_ERROR",
    "PLATFORM.IP_NOT_WHITELISTED",
    "PLATFORM.AUTHENTICATION_INVALID",
    "PLATFORM.TASK_TIMED_OUT",
)
"""The codes a general endpoint (``/check-api-key``, ``/integrations/...``) may answer with."""

ATS_CODES = (
    *PLATFORM_CODES,
    "INTEGRATION.PERMISSION_MISSING",
    "INTEGRATION.AUTHENTICATION_INVALID",
    "INTEGRATION.QA_FAILED",
    "INTEGRATION.SETUP_SYNC_PENDING",
    "INTEGRATION.SETUP_INCOMPLETE",
    "INTEGRATION.INACTIVE",
    "INTEGRATION.MODEL_NOT_AVAILABLE",
    "INTEGRATION.MODEL_DISABLED",
    "INTEGRATION.ACTION_NOT_AVAILABLE",
    "INTEGRATION.ACTION_DISABLED",
    "REMOTE.SERVICE_UNAVAILABLE",
    "REMOTE.RATE_LIMIT_EXCEEDED",
    "REMOTE.INPUT_INVALID",
    "REMOTE.UNKNOWN_HTTP_ERROR",
    "ATS.JOB_CLOSED",
    "ATS.APPLICATION_ALREADY_EXISTS",
)
"""The codes an assessment endpoint may answer with."""


def error(codes: tuple[str, ...]) -> Schema:
    """The error envelope: ``status: "error"`` and an ``error`` with all four keys (code, title, message,
    log_url); ``title`` and ``log_url`` may be null, ``code`` is one of ``codes`` or null."""
    return record(
        {
            "status": one_of("error"),
            "error": record(
                {"code": one_of_or_null(*codes), "title": TEXT_OR_NULL, "message": TEXT, "log_url": LINK_OR_NULL}
            ),
        }
    )


GENERAL_ERROR = error(PLATFORM_CODES)
ASSESSMENT_ERROR = error(ATS_CODES)

# --- general endpoints (kombo-contract.md §6) -------------------------------------------------------

API_KEY_CHECK = success(record({"environment_id": TEXT, "customer_id": TEXT}))

COVERAGE = one_of("SUPPORTED", "UNSUPPORTED", "NOT_IMPLEMENTED", "UNKNOWN")
SCOPE_SETTING = one_of("ENABLED", "DISABLED", "OPTIONAL")


def capability(field: Schema) -> Schema:
    """A read model or write action of the integration, with its fields."""
    return record(
        {
            "id": TEXT,
            "label": TEXT,
            "is_available": FLAG,
            "coverage_status": COVERAGE,
            "scope_config_setting": SCOPE_SETTING,
            "opted_out_by_customer": FLAG,
            "fields": list_of(field),
        }
    )


READ_MODEL_FIELD = record(
    {
        "id": TEXT,
        "is_available": FLAG,
        "coverage_status": COVERAGE,
        "scope_config_setting": SCOPE_SETTING,
        "opted_out_by_customer": FLAG,
    }
)
WRITE_ACTION_FIELD = record({"id": TEXT, "is_available": FLAG, "coverage_status": COVERAGE})

INTEGRATION = record(
    {
        "id": TEXT,
        "tool": record({"id": TEXT, "label": TEXT, "internal_label": TEXT_OR_NULL, "logo_url": LINK, "icon_url": LINK}),
        "category": one_of("HRIS", "ATS", "ASSESSMENT", "LMS"),
        "status": one_of("ACTIVE", "INVALID", "INACTIVE"),
        "setup_status": one_of("INCOMPLETE", "FINAL_SYNC_PENDING", "COMPLETED"),
        "end_user": record({"organization_name": TEXT, "creator_email": TEXT_OR_NULL, "origin_id": TEXT_OR_NULL}),
        "scope_config": record({"id": TEXT, "name": TEXT_OR_NULL}),
        "data_expired_at": INSTANT_OR_NULL,
        "created_at": INSTANT,
        "beta": FLAG,
        "read_models": list_of(capability(READ_MODEL_FIELD)),
        "write_actions": list_of(capability(WRITE_ACTION_FIELD)),
    }
)

# --- assessment endpoints (kombo-contract.md §4) ----------------------------------------------------

PACKAGE_TYPES = ("BEHAVIORAL", "VIDEO_INTERVIEW", "SKILLS_TEST", "BACKGROUND_CHECK", "REFERENCE_CHECK")
PACKAGE = record(
    {
        "id": TEXT,
        "name": TEXT,
        "description": TEXT,
        "updated_at": INSTANT_OR_NULL,
        "type": one_of_or_null(*PACKAGE_TYPES),
    }
)

CANDIDATE = record(
    {
        "remote_id": TEXT_OR_NULL,
        "email": {"type": "string", "format": "email"},
        "first_name": TEXT_OR_NULL,
        "last_name": TEXT_OR_NULL,
        "phone": TEXT_OR_NULL,
    }
)
LOCATION = {
    "type": ["object", "null"],
    "properties": {
        name: TEXT_OR_NULL for name in ("street_1", "street_2", "city", "state", "zip_code", "country", "raw")
    },
}
HIRING_TEAM_MEMBER = record(
    {
        "remote_id": TEXT_OR_NULL,
        "email": TEXT_OR_NULL,
        "first_name": TEXT_OR_NULL,
        "last_name": TEXT_OR_NULL,
        "hiring_team_roles": list_of(one_of("RECRUITER", "HIRING_MANAGER")),
    }
)
JOB = record(
    {
        "remote_id": TEXT_OR_NULL,
        "name": TEXT_OR_NULL,
        "job_code": TEXT_OR_NULL,
        "description": TEXT_OR_NULL,
        "location": LOCATION,
        "hiring_team": list_of(HIRING_TEAM_MEMBER),
    }
)
ORDER_STATUSES = ("OPEN", "COMPLETED", "CANCELLED", "REJECTED")
OPEN_ORDER = record(
    {
        "id": TEXT,
        "package_id": TEXT,
        "candidate": CANDIDATE,
        "application": record({"remote_id": TEXT_OR_NULL}),
        "job": JOB,
    }
)
ORDER = record(
    {**OPEN_ORDER["properties"], "status": one_of(*ORDER_STATUSES)},
    required=["id", "package_id", "status", "candidate", "application", "job"],
)


def page_of(item: Schema) -> Schema:
    """A page of a listing: ``next`` is the cursor of the following page, null on the last one."""
    return record({"next": TEXT_OR_NULL, "results": list_of(item)})


# --- the endpoints --------------------------------------------------------------------------------

RESPONSES: dict[tuple[str, str], tuple[Schema, Schema]] = {
    ("/check-api-key", "get"): (API_KEY_CHECK, GENERAL_ERROR),
    ("/integrations/{integration_id}", "get"): (success(INTEGRATION), GENERAL_ERROR),
    ("/integrations/{integration_id}", "delete"): (success(ANY_OBJECT), GENERAL_ERROR),
    ("/assessment/packages", "get"): (success(record({"packages": list_of(PACKAGE)})), ASSESSMENT_ERROR),
    ("/assessment/packages", "put"): (success(ANY_OBJECT, warnings=True), ASSESSMENT_ERROR),
    ("/assessment/orders", "get"): (success(page_of(ORDER)), ASSESSMENT_ERROR),
    ("/assessment/orders/open", "get"): (success(page_of(OPEN_ORDER)), ASSESSMENT_ERROR),
    ("/assessment/orders/{assessment_order_id}/result", "put"): (
        success(ANY_OBJECT, warnings=True),
        ASSESSMENT_ERROR,
    ),
}


def schema_for(path: str, method: str, status_code: int) -> Schema:
    """The schema of the body ``method path`` answers with ``status_code`` (200: success, else error).

    Raises ``KeyError`` for an endpoint not listed in ``RESPONSES``."""
    ok, failed = RESPONSES[(path, method)]
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **(ok if status_code == 200 else failed)}
