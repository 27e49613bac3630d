"""Validate hub responses against the project's own response schema (``tests/response_schema.py``)."""

from __future__ import annotations

import httpx
from jsonschema import Draft202012Validator, FormatChecker

from tests.response_schema import schema_for


def assert_matches_reference(response: httpx.Response, path: str, method: str) -> None:
    """``response``'s JSON body must satisfy the schema of ``method path`` for its status (200: the
    success envelope, anything else: the error envelope). ``path`` is the route template, e.g.
    ``/assessment/orders/{assessment_order_id}/result``."""
    validator = Draft202012Validator(schema_for(path, method, response.status_code), format_checker=FormatChecker())
    errors = sorted(validator.iter_errors(response.json()), key=lambda e: list(e.path))
    assert not errors, f"{method.upper()} {path} -> {response.status_code}: " + "; ".join(
        f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors[:5]
    )
