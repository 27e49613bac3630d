"""Pydantic models of the bodies Teamtailor sends the hub (keys are kebab-case).

Only what the hub reads is declared; everything else is kept as received (``extra="allow"``) and the
raw payload is stored on the order for the operator. Source: ats-protocols.md §7.4 (_webhooks).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


def _as_text(value: Any) -> str | None:
    """Teamtailor ids are numbers in the webhook (UNCONFIRMED: the object page calls them UUID strings)."""
    if value is None or isinstance(value, bool):
        return None
    return str(value)


class Person(_Model):
    id: Any = None
    name: str | None = None
    email: str | None = None
    phone: str | None = None


class Location(_Model):
    name: str | None = None
    address: str | None = None


class Job(_Model):
    id: Any = None
    title: str | None = None
    triggered_by: Person | None = Field(None, alias="triggered-by")


class Candidate(_Model):
    id: Any = None
    first_name: str | None = Field(None, alias="first-name")
    last_name: str | None = Field(None, alias="last-name")
    email: str = Field(min_length=3)
    """Required: the vendor invites the candidate by email (Kombo's order has a non-null email)."""
    phone: str | None = None
    job: Job | None = None
    recruiter: Person | None = None
    locations: list[Location] | None = None

    @field_validator("locations", mode="before")
    @classmethod
    def _locations(cls, value: Any) -> Any:
        return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else None


class PartnerResult(_Model):
    id: str = Field(min_length=1)
    status: str | None = None
    update_url: str | None = Field(None, alias="update-url")

    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, value: Any) -> Any:
        return _as_text(value) or value


class PartnerEvent(_Model):
    id: str = Field(min_length=1)
    webhook_data: dict[str, Any] = Field(default_factory=dict, alias="webhook-data")
    partner_result: PartnerResult | None = Field(None, alias="partner-result")
    candidate: Candidate
    """Required: an order without a candidate is one the vendor cannot act on."""
    company: dict[str, Any] | None = None  # older doc revisions nest it here (UNCONFIRMED U9)

    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, value: Any) -> Any:
        return _as_text(value) or value

    @field_validator("webhook_data", mode="before")
    @classmethod
    def _webhook_data(cls, value: Any) -> Any:
        return {} if value is None else value


class WebhookBody(_Model):
    partner_event: PartnerEvent = Field(alias="partner-event")
    company: dict[str, Any] | None = None

    @property
    def company_data(self) -> dict[str, Any] | None:
        return self.company or self.partner_event.company


def text_id(value: Any) -> str | None:
    return _as_text(value)
