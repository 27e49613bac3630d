"""The general endpoints' answers as models, for the OpenAPI document only (see ``kit.openapi``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ApiKeyCheck(_Open):
    environment_id: str
    customer_id: str


class Tool(_Open):
    id: str
    label: str
    internal_label: str | None
    logo_url: str
    icon_url: str


class EndUser(_Open):
    organization_name: str
    creator_email: str | None
    origin_id: str | None


class ScopeConfig(_Open):
    id: str
    name: str | None


class IntegrationOut(_Open):
    id: str
    tool: Tool
    category: Literal["ASSESSMENT"]
    status: Literal["ACTIVE", "INACTIVE"]
    setup_status: str
    end_user: EndUser
    scope_config: ScopeConfig
    data_expired_at: str | None
    created_at: str
    beta: bool
    read_models: list[Any]
    write_actions: list[Any]
