"""The admin API's answers as models, for the OpenAPI document only (see ``kit.openapi``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from assessment_hub.assessment.responses import OrderOut


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class AdminIntegration(_Open):
    id: str
    tool: str
    organization_name: str
    creator_email: str | None
    origin_id: str | None
    status: Literal["ACTIVE", "INACTIVE"]
    setting_keys: list[str] = Field(description="The connector settings stored (never their values).")
    created_at: str
    deleted_at: str | None


class CreatedIntegration(AdminIntegration):
    setup: dict[str, Any] = Field(description="What the customer pastes into the ATS, keyed in the ATS's terms.")


class AdminIntegrations(_Open):
    integrations: list[AdminIntegration]


class WebhookEndpoint(_Open):
    id: str
    url: str
    events: list[str] = Field(description="Empty: every event type.")
    enabled: bool
    created_at: str


class CreatedWebhookEndpoint(WebhookEndpoint):
    secret: str = Field(description="The signing secret of X-Kombo-Signature, shown this once.")


class WebhookEndpoints(_Open):
    webhooks: list[WebhookEndpoint]


class Delivery(_Open):
    id: int
    kind: Literal["webhook", "writeback"]
    action: str
    state: Literal["pending", "in_flight", "succeeded", "dead", "cancelled", "superseded"]
    integration_id: str | None
    order_id: str | None
    revision_id: str | int | None
    endpoint_id: str | None
    event_id: str | None
    attempts: int
    last_error: str | None
    next_attempt_at: str | None
    claimed_by: str | None
    """The worker holding it (``in_flight``; its id names the host and process), else the last one that did."""
    lease_until: str | None
    """Until when that worker holds it; after that another worker may take it over."""
    created_at: str
    finished_at: str | None


class Attempt(_Open):
    at: str | None
    duration_ms: int | float | None
    http_status: int | None
    outcome: str
    error_class: str | None
    error_message: str | None
    response_excerpt: str | None
    worker_id: str | None


class DeliveryWithAttempts(Delivery):
    attempt_log: list[Attempt]


class Deliveries(_Open):
    deliveries: list[Delivery]


class SandboxOrder(OrderOut):
    integration_id: str
    assessment_url: str | None
    writebacks: list[dict[str, Any]] = Field(description="Every result or rejection the sandbox ATS received.")


class SandboxReset(_Open):
    orders: int
    packages: int
    cancelled_deliveries: int


class SandboxOutage(_Open):
    integration_id: str
    mode: Literal["off", "503", "timeout", "flaky", "401"]
    fail_ratio: float
