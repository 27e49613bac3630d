"""Validate hub responses against Kombo's reference OpenAPI (../shared/reference), read at test time."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import httpx
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

from tests.support import SHARED

DOC_URI = "urn:kombo-openapi"


@lru_cache(maxsize=1)
def _document() -> dict[str, Any]:
    return _nullable_enums(json.loads((SHARED / "reference" / "kombo-openapi-assessment.json").read_text()))


def _nullable_enums(node: Any) -> Any:
    """Read ``{"type": ["string", "null"], "enum": [...]}`` as the OpenAPI 3.1 authors meant it: null allowed.

    Plain JSON Schema would reject null there (it is not in the enum), yet the same document and the
    official SDKs treat these fields (package ``type``, error ``code``) as nullable (kombo-contract.md §4.1).
    """
    if isinstance(node, dict):
        types = node.get("type")
        if (
            isinstance(types, list)
            and "null" in types
            and isinstance(node.get("enum"), list)
            and None not in node["enum"]
        ):
            node["enum"] = [*node["enum"], None]
        for value in node.values():
            _nullable_enums(value)
    elif isinstance(node, list):
        for value in node:
            _nullable_enums(value)
    return node


@lru_cache(maxsize=1)
def _registry() -> Registry:
    return Registry().with_resource(DOC_URI, Resource.opaque(_document()))


def _schema_ref(path: str, method: str, status: str) -> dict[str, Any]:
    responses = _document()["paths"][path][method]["responses"]
    response = responses.get(status) or responses["default"]
    if "$ref" in response:
        name = response["$ref"].rsplit("/", 1)[-1]
        return {"$ref": f"{DOC_URI}#/components/responses/{name}/content/application~1json/schema"}
    pointer = f"/paths/{path.replace('/', '~1')}/{method}/responses/{status if status in responses else 'default'}"
    return {"$ref": f"{DOC_URI}#{pointer}/content/application~1json/schema"}


def assert_matches_reference(response: httpx.Response, path: str, method: str) -> None:
    """``response``'s JSON body must satisfy the reference schema for its status (200 or ``default``)."""
    status = "200" if response.status_code == 200 else "default"
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **_schema_ref(path, method, status)}
    validator = Draft202012Validator(schema, registry=_registry(), format_checker=FormatChecker())
    errors = sorted(validator.iter_errors(response.json()), key=lambda e: list(e.path))
    assert not errors, f"{method.upper()} {path} -> {response.status_code}: " + "; ".join(
        f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors[:5]
    )
