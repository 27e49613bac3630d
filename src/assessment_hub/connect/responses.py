"""Connect's answers as models, for the OpenAPI document only (see ``kit.openapi``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ConnectLink(_Open):
    link: str = Field(description="The connect page to show the customer (embedded, or sent as a magic link).")


class ConnectedIntegration(_Open):
    tool: str
    id: str
    end_user_origin_id: str | None
    end_user_organization_name: str
    end_user_email: str | None
    setup_status: str


class LinkEndUser(_Open):
    email: str | None
    organization_name: str | None
    origin_id: str | None


class LinkOut(_Open):
    id: str
    state: str
    link_type: str
    integration_tool: str | None
    end_user: LinkEndUser
    language: str | None
    api_key_id: str | None
    created_at: str
    expires_at: str | None
    used_at: str | None
    integration_id: str | None


class Links(_Open):
    links: list[LinkOut]
