"""Pydantic models of what Lever sends and answers (ats-protocols-2.md §4.2, §4.4; SECONDARY, corroborated).

A webhook delivery (``POST {webhook_url}``)::

    {"triggeredAt": 1714000000000, "event": "candidateStageChange", "signature": "<hex>", "token": "<per delivery>",
     "data": {"opportunityId": "...", "candidateId": "...", "contactId": "...", "toStageId": "...",
              "fromStageId": "..."}}

``GET /opportunities/{id}`` answers ``{"data": {"id", "name", "contact", "emails": [...], "phones": [{"type",
"value"}], ...}}``. Only what the hub reads is declared; everything else is kept (``extra="allow"``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from assessment_hub.connectors.lever.replay import MAX_TRIGGERED_AT_MS, digits_ms


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow")


def _text(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value.strip() if isinstance(value, str) else value


class StageChange(_Model):
    opportunityId: str | None = None
    candidateId: str | None = None
    contactId: str | None = None
    toStageId: str | None = None
    fromStageId: str | None = None

    @field_validator("opportunityId", "candidateId", "contactId", "toStageId", "fromStageId", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        return _text(value) or None


class Delivery(_Model):
    """The signed fields are required; ``data`` is absent on a connection-test delivery (SECONDARY)."""

    triggeredAt: int | str
    token: str = Field(min_length=1)
    signature: str = Field(min_length=1)
    event: str | None = None
    data: StageChange | None = None

    @field_validator("triggeredAt", mode="before")
    @classmethod
    def _instant(cls, value: Any) -> Any:
        """Unix milliseconds from 0 to ``replay.MAX_TRIGGERED_AT_MS`` (9999-12-31T23:59:59.999Z), as a number
        or its ASCII digits (other text is kept: stale, ``replay.is_stale``); a boolean, a fraction, a number
        out of that range, or digits that are not ASCII (``"١٧١٤٠٠٠٠٠٠٠٠٠"``, full-width ``"１７…"``, ``"²"``,
        which ``int()`` would read or refuse with Python's message) is refused (400): no instant the hub
        could remember a token until."""
        if isinstance(value, bool):
            raise ValueError("must be Unix milliseconds")
        if isinstance(value, str) and any(c.isdigit() and not c.isascii() for c in value):
            raise ValueError("must be Unix milliseconds in ASCII digits (0-9)")
        number = value if isinstance(value, int) else digits_ms(value) if isinstance(value, str) else None
        if number is not None and not 0 <= number <= MAX_TRIGGERED_AT_MS:
            raise ValueError(f"must be Unix milliseconds from 0 to {MAX_TRIGGERED_AT_MS} (9999-12-31T23:59:59.999Z)")
        return value


class Phone(_Model):
    type: str | None = None
    value: str | None = None


class Opportunity(_Model):
    id: str | None = None
    name: str | None = None
    contact: str | None = None
    emails: list[str] = Field(default_factory=list)
    phones: list[Phone] = Field(default_factory=list)

    @field_validator("emails", mode="before")
    @classmethod
    def _emails(cls, value: Any) -> Any:
        return [v for v in value if isinstance(v, str) and v.strip()] if isinstance(value, list) else []

    @field_validator("phones", mode="before")
    @classmethod
    def _phones(cls, value: Any) -> Any:
        return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


class OpportunityAnswer(_Model):
    data: Opportunity
