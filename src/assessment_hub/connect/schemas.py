"""Request bodies of the Connect API (kombo-contract.md §6; the official SDKs' ``PostConnectCreateLinkRequestBody``).

Every field the SDKs send is accepted, strict about types (``"true"`` is no boolean); fields Kombo may add
later are ignored (``extra="ignore"``), as a Kombo client expects. Rules that need the registry (the category and the tool) are checked by
``service.create_link``, which words them for the vendor.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

LANGUAGES = ("en", "de", "fr", "it", "es")
LINK_TYPES = ("EMBEDDED", "MAGIC_LINK")


class CreateLinkIn(BaseModel):
    """``POST /v1/connect/create-link``."""

    model_config = ConfigDict(extra="ignore", strict=True)

    end_user_email: str = Field(max_length=255)
    end_user_organization_name: str = Field(max_length=255)
    end_user_origin_id: str | None = Field(default=None, max_length=255)
    remote_environment: str | None = Field(default=None, max_length=255)
    integration_category: str | None = None
    """Kombo's default is HRIS; the hub connects assessment tools only, so anything but ASSESSMENT is refused
    (absent: ASSESSMENT, the only category there is here)."""
    integration_tool: str | None = Field(default=None, max_length=40)
    language: Literal["en", "de", "fr", "it", "es"] | None = "en"
    scope_config_id: str | None = Field(default=None, max_length=255)
    enable_filtering: bool = False
    enable_field_mapping: bool = False
    enable_static_ips: bool = False
    link_type: Literal["EMBEDDED", "MAGIC_LINK"] = "EMBEDDED"

    @field_validator("end_user_email")
    @classmethod
    def _email(cls, value: str) -> str:
        value = value.strip()
        local, at, domain = value.rpartition("@")
        if not at or not local or "." not in domain or any(c.isspace() for c in value):
            raise ValueError(f"must be an email address (got {value!r})")
        return value

    @field_validator("end_user_organization_name")
    @classmethod
    def _organization(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be empty")
        return value


class ActivateIn(BaseModel):
    """``POST /v1/connect/activate-integration`` (deprecated): ``{"token": "<activation token>"}``."""

    model_config = ConfigDict(extra="ignore", strict=True)

    token: str = Field(min_length=1, max_length=200)
