"""Pydantic models of what Recruitee sends the hub (ats-protocols.md §6.2, ats-protocols-2.md §3.3).

``POST {send_candidate_url}``::

    {"first_name": "Jon", "last_name": "Snow", "email": "...", "candidate_id": 1, "company_id": 1,
     "report_id": "bb83dc83-91b2-46a5-8a21-824067f29c68", "test_id": "2", "test_name": "Ruby"}

Ids arrive as numbers or strings (``test_id`` is a string although ``GET tests_url`` lists integer ids): each is
read as text. Extra inputs the customer configured arrive as one key per input ``name`` (UNCONFIRMED: ``phone``
is read as the candidate's phone); every other key is kept as received (``extra="allow"``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


def as_text(value: Any) -> Any:
    """An integer or string id as text; anything else is left for validation to refuse."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value.strip()
    return value


class SendCandidate(BaseModel):
    """The send-candidate body. ``first_name``, ``last_name`` and ``email`` are Recruitee's required default
    inputs; ``report_id`` (minted by Recruitee) keys the order; ``test_id`` names the vendor's package."""

    model_config = ConfigDict(extra="allow")

    report_id: str = Field(min_length=1, max_length=200)
    test_id: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=320)
    first_name: str | None = None
    last_name: str | None = None
    candidate_id: str | None = None
    company_id: str | None = None
    test_name: str | None = None
    phone: str | None = None

    @field_validator("report_id", "test_id", "candidate_id", "company_id", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        return as_text(value)
