"""SmartRecruiters' order body to the hub, ``AssessmentPackageOrderRequest`` (ats-protocols-2.md §1.4,
SPEC-DERIVED with merge-risk on ``Candidate`` and ``Job``): read tolerantly, unknown keys kept in the raw payload."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)


class LocationIn(_Lenient):
    country: str | None = None
    countryCode: str | None = None
    region: str | None = None
    regionCode: str | None = None
    city: str | None = None
    address: str | None = None
    postalCode: str | None = None
    remote: bool | None = None


class JobIn(_Lenient):
    id: str = Field(min_length=1)
    title: str | None = None
    refNumber: str | None = None
    location: LocationIn | None = None


class CandidateIn(_Lenient):
    id: str | None = None
    email: str = Field(min_length=3)
    """Required by the hub (SmartRecruiters' schema lists it): the vendor invites the candidate by email."""
    firstName: str | None = None
    lastName: str | None = None


class RequesterIn(_Lenient):
    userId: str | None = None
    email: str | None = None


class OrderIn(_Lenient):
    resultCallbackURL: str = Field(min_length=1)
    assessmentPackageId: str = Field(min_length=1)
    companyId: str | None = None
    """Required in SmartRecruiters' schema; not needed by the hub, so not refused when missing (tolerant)."""
    jobId: str | None = None
    job: JobIn
    candidate: CandidateIn
    requester: RequesterIn | None = None
    fields: dict[str, Any] | None = None
