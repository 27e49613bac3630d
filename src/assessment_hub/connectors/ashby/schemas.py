"""Ashby's request bodies to the hub (ats-protocols.md §5.4, §5.5), read tolerantly: unknown keys are
kept in the raw payload but not needed."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)


class HiringTeamMemberIn(_Lenient):
    """Ashby's hiring-team member object; its exact shape is UNCONFIRMED, so every key is optional."""

    userId: str | None = None
    email: str | None = None
    firstName: str | None = None
    lastName: str | None = None
    role: str | None = None


class CandidateIn(_Lenient):
    ashby_id: str = Field(min_length=1)
    first_name: str
    last_name: str
    email: str
    ashby_profile_url: str


class ApplicationIn(_Lenient):
    ashby_id: str = Field(min_length=1)
    status: str


class JobIn(_Lenient):
    ashby_id: str = Field(min_length=1)
    name: str
    ashby_job_url: str
    req_id: str | None = None
    hiringTeam: list[HiringTeamMemberIn] = Field(default_factory=list)


class StartIn(_Lenient):
    assessment_type_id: str = Field(min_length=1)
    candidate: CandidateIn
    application: ApplicationIn
    job: JobIn
    additional_fields: dict[str, Any] | None = None


class CancelIn(_Lenient):
    assessment_id: str = Field(min_length=1)
