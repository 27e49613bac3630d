"""Request bodies of the vendor API, as the official SDKs and older clients send them.

Source: kombo-contract.md §4.2 (packages) and §4.5 (result, with its older shapes), and the
reference OpenAPI. Parsing is tolerant of the documented legacy shapes; everything else that breaks
a rule is a 400 ``PLATFORM.INPUT_INVALID`` naming the field (see ``errors.describe_validation_error``).
Normalizing to today's shape, with warnings, is ``assessment.results``'s job.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    ConfigDict,
    Discriminator,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    Tag,
    field_validator,
    model_validator,
)

from assessment_hub.kit.body import NUMBER_RULE, KeepsMemberText
from assessment_hub.kit.states import OrderStatus

PACKAGE_TYPES = ("BEHAVIORAL", "VIDEO_INTERVIEW", "SKILLS_TEST", "BACKGROUND_CHECK", "REFERENCE_CHECK")
ORDER_STATUSES = tuple(status.value for status in OrderStatus)
"""Every order status as plain strings, in the order the vendor API names them (``kit.states.OrderStatus``)."""
CONTENT_TYPE_PATTERN = re.compile(r"^[\w.-]+/[\w.-]+$")
MAX_ATTACHMENTS = 5
UNSAFE_URL_SCHEMES = frozenset({"javascript", "vbscript", "data", "file"})

Number = StrictInt | StrictFloat


def _finite(value: float | None, _info: Any = None) -> float | None:
    """A score as a finite float, ``-0.0`` as ``0.0``: SQLite stores a zero without its sign, PostgreSQL with
    it, so the same result would list ``0.0`` on one and ``-0.0`` on the other (a score has no sign to keep
    at zero). Raises ``ValueError`` (a 400 naming the field) for NaN, infinities and integers beyond the
    double range."""
    if value is None:
        return None
    if value == 0:  # -0.0 included
        return 0.0
    try:
        number = float(value)
    except OverflowError:  # an integer beyond the double range, e.g. 1 followed by 309 zeros
        raise ValueError(f"a number is out of range; {NUMBER_RULE}") from None
    if not math.isfinite(number):
        raise ValueError(f"a number is out of range; {NUMBER_RULE}")
    return number


class _Body(KeepsMemberText):
    """Strict about types (a number is never taken for a string, nor a string for a number or a boolean);
    unknown fields are kept and reported as warnings. A body names in ``KEPT_TEXT`` the members whose
    JSON text as sent ``kit.body.json_body`` keeps (``member_text``)."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=False, strict=True)


# ---------------------------------------------------------------- packages (§4.2)


class PackageIn(_Body):
    id: StrictStr = Field(min_length=1, max_length=255)
    name: StrictStr
    description: StrictStr
    type: Literal[PACKAGE_TYPES] | None = None  # type: ignore[valid-type]
    """Missing or null for legacy clients (kombo-contract.md §4.2, "Legacy shape")."""


class PackagesIn(_Body):
    packages: list[PackageIn]

    @model_validator(mode="after")
    def _unique_ids(self) -> PackagesIn:
        seen: set[str] = set()
        for index, package in enumerate(self.packages):
            if package.id in seen:
                raise ValueError(f"packages[{index}].id: duplicate package id {package.id!r}")
            seen.add(package.id)
        return self


# ---------------------------------------------------------------- result (§4.5)


class SubResultScore(_Body):
    value: Number
    max: Number = Field(ge=1)

    _check = field_validator("value", "max")(_finite)


class TextAttributeIn(_Body):
    type: Literal["TEXT"]
    label: StrictStr
    value: StrictStr


class SubResultAttributeIn(_Body):
    type: Literal["SUB_RESULT"]
    id: StrictStr = Field(min_length=1)
    label: StrictStr
    score: SubResultScore
    status: Literal["COMPLETED", "CANCELLED"]


class LegacyAttributeIn(_Body):
    """The oldest attribute shape: ``{"field", "value"}`` (shared/cases/seed-legacy-result-body.json)."""

    field: StrictStr
    value: StrictStr


def _attribute_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        if "type" in value:  # an object or array as the type is no known kind (and cannot be a dict key)
            kind = value["type"]
            return kind if isinstance(kind, str) and kind in ("TEXT", "SUB_RESULT") else None
        if "field" in value:
            return "LEGACY"
    return None


AttributeIn = Annotated[
    Annotated[TextAttributeIn, Tag("TEXT")]
    | Annotated[SubResultAttributeIn, Tag("SUB_RESULT")]
    | Annotated[LegacyAttributeIn, Tag("LEGACY")],
    Discriminator(
        _attribute_kind,
        custom_error_type="attribute_shape",
        custom_error_message="must be a TEXT or SUB_RESULT attribute (or a legacy {field, value} pair)",
    ),
]


class LegacySubResultIn(_Body):
    """The middle-era top-level ``sub_results`` item (kombo-contract.md §4.5, "Older body shapes")."""

    id: StrictStr = Field(min_length=1)
    title: StrictStr
    score: Number
    max_score: Number = Field(ge=1)
    status: Literal["COMPLETED", "CANCELLED"] = "COMPLETED"

    _check = field_validator("score", "max_score")(_finite)


class AttachmentIn(_Body):
    """``name`` plus exactly one of ``data`` (base64, needs ``content_type``) or ``data_url``."""

    name: StrictStr = Field(min_length=1, max_length=255)
    content_type: StrictStr | None = None
    data: StrictStr | None = None
    data_url: StrictStr | None = None

    @model_validator(mode="after")
    def _one_source(self) -> AttachmentIn:
        if (self.data is None) == (self.data_url is None):
            raise ValueError("exactly one of data or data_url is required")
        if self.data is not None and self.content_type is None:
            raise ValueError("content_type is required when data is given")
        if self.content_type is not None and not CONTENT_TYPE_PATTERN.match(self.content_type):
            raise ValueError(f"content_type {self.content_type!r} must look like type/subtype, e.g. application/pdf")
        return self


class ResultIn(_Body):
    """``PUT /assessment/orders/{id}/result`` body (current, middle and oldest shapes)."""

    status: Literal["COMPLETED", "CANCELLED", "OPEN", "COMPLETE"]
    """The wire spellings (``kit.states.ResultStatus`` and the legacy COMPLETE), kept as a string ``Literal`` so
    that validation errors name them exactly as the vendor sends them."""
    result_url: StrictStr = Field(min_length=1)
    completed_at: StrictStr | None = None
    score: Number | None = None
    max_score: Number | None = None
    attributes: list[AttributeIn] = Field(default_factory=list)
    sub_results: list[LegacySubResultIn] | None = None
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)
    remote_fields: dict[str, Any] | None = None
    """The vendor's own fields: stored and listed as the JSON text the vendor sent (``member_text``)."""

    KEPT_TEXT: ClassVar[tuple[str, ...]] = ("remote_fields",)

    _check = field_validator("score", "max_score")(_finite)

    @field_validator("result_url")
    @classmethod
    def _uri(cls, value: str) -> str:
        if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$", value):
            raise ValueError("must be an absolute URI such as https://vendor.example/results/1")
        if re.match(r"^https?:", value, re.I) and not re.match(r"^https?://[^/?#\s]+", value, re.I):
            raise ValueError("must be an absolute URI with a host")
        if value.split(":", 1)[0].lower() in UNSAFE_URL_SCHEMES:
            raise ValueError("must not use a script, data or file scheme; recruiters open it in a browser")
        return value
