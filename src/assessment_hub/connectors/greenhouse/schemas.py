"""Greenhouse's request bodies (ats-protocols.md §2.4, §2.7), read tolerantly.

Greenhouse writes absent values as ``null`` and may add keys at any time (§2.8): every optional field
accepts ``null`` and unknown keys are ignored. ``partner_test_id`` is a string in the docs' table but a
number in an old example: both are accepted and read as a string.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Tolerant(BaseModel):
    model_config = ConfigDict(extra="ignore")


class CandidateIn(_Tolerant):
    first_name: str = Field(min_length=1)
    last_name: str = Field(min_length=1)
    preferred_name: str | None = None
    resume_url: str | None = None
    phone_number: str | None = None
    email: str = Field(min_length=1)
    greenhouse_profile_url: str | None = None


class SendTestIn(_Tolerant):
    partner_test_id: str
    candidate: CandidateIn
    sent_by: str | None = None
    url: str = Field(min_length=1)

    @field_validator("partner_test_id", mode="before")
    @classmethod
    def _number_as_string(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value


class ResponseErrorIn(_Tolerant):
    api_call: str
    errors: list[str]
    partner_test_id: str | None = None
    partner_test_name: str | None = None
    partner_interview_id: str | None = None
    candidate_email: str | None = None

    @field_validator("partner_test_id", "partner_interview_id", mode="before")
    @classmethod
    def _number_as_string(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value
