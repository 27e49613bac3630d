"""The vendor API's answers as models, for the OpenAPI document only (``kit.openapi.documented``).

The routes build their answers in ``views`` and encode them themselves; these models describe the same
shapes (Kombo's order object plus what the hub adds) and are never used to validate or serialize.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

PackageType = Literal["BEHAVIORAL", "VIDEO_INTERVIEW", "SKILLS_TEST", "BACKGROUND_CHECK", "REFERENCE_CHECK"]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class PackageOut(_Open):
    id: str
    name: str
    description: str
    updated_at: str = Field(description="When its content last changed, or it was deleted or restored.")
    type: PackageType | None = Field(description="Null for packages published without a type.")


class Packages(_Open):
    packages: list[PackageOut]


class Candidate(_Open):
    remote_id: str | None
    email: str
    first_name: str | None
    last_name: str | None
    phone: str | None


class Application(_Open):
    remote_id: str | None


class Location(_Open):
    street_1: str | None = None
    street_2: str | None = None
    city: str | None = None
    state: str | None = None
    zip_code: str | None = None
    country: str | None = None
    raw: str | None = None


class HiringTeamMember(_Open):
    remote_id: str | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    hiring_team_roles: list[str] = []


class Job(_Open):
    remote_id: str | None = None
    name: str | None = None
    job_code: str | None = None
    description: str | None = None
    location: Location | None = None
    hiring_team: list[HiringTeamMember] = []


class AttachmentOut(_Open):
    name: str
    content_type: str | None
    sha256: str
    size_bytes: int


class ResultOut(_Open):
    """The latest accepted result of an order (a hub addition to Kombo's order object)."""

    revision: int = Field(description="1 for the first result, then 2, 3...")
    status: Literal["OPEN", "COMPLETED", "CANCELLED"]
    score: float | None
    max_score: float | None
    result_url: str
    completed_at: str | None
    attributes: list[dict[str, Any]]
    attachments: list[AttachmentOut]
    remote_fields: dict[str, Any] | None
    received_at: str


class OrderOut(_Open):
    id: str
    package_id: str
    status: Literal["OPEN", "COMPLETED", "CANCELLED", "REJECTED"]
    candidate: Candidate
    application: Application
    job: Job
    created_at: str
    updated_at: str
    rejection_message: str | None = Field(description="The vendor's reason, when it rejected the order.")
    result: ResultOut | None


class OpenOrderOut(_Open):
    """An order of the deprecated open-orders listing (no ``status``: they are all OPEN)."""

    id: str
    package_id: str
    candidate: Candidate
    application: Application
    job: Job


class OrderPage(_Open):
    next: str | None = Field(description="The cursor of the next page; null on the last page.")
    results: list[OrderOut]


class OpenOrderPage(_Open):
    next: str | None
    results: list[OpenOrderOut]
