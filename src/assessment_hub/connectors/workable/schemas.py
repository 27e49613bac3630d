"""Workable's ``POST /assessments`` body (ats-protocols.md §4.3, ats-protocols-2.md §2.2: SECONDARY), read
tolerantly: unknown keys kept in the raw payload; test ids may be numbers or strings."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)


class CandidateIn(_Lenient):
    first_name: str | None = None
    last_name: str | None = None
    email: str = Field(min_length=3)
    """Required by the hub: the vendor invites the candidate by email."""
    phone: str | None = None


class AssessmentIn(_Lenient):
    test_id: str = Field(min_length=1)
    job_shortcode: str | None = None
    job_title: str | None = None
    callback_url: str = Field(min_length=1)
    candidate: CandidateIn

    @field_validator("test_id", "job_shortcode", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        """Workable's example ids are numbers; the hub's package ids are text."""
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value
