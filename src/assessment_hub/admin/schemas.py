"""Request bodies of the admin API. Unknown fields are refused (400): a typo must not be dropped silently; types
are strict (``"5"`` is no integer, ``1`` no boolean, ``123`` no string)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class IntegrationIn(_Strict):
    """``POST /admin/integrations``; ``settings`` are the connector's credentials and URLs (stored encrypted)."""

    tool: str = Field(min_length=1)
    organization_name: str = Field(min_length=1, max_length=255)
    settings: dict[str, str] | None = None
    """Values are strings, as the command line gives them (``--setting K=V``)."""
    creator_email: str | None = Field(default=None, max_length=255)
    origin_id: str | None = Field(default=None, max_length=255)


class WebhookIn(_Strict):
    """``POST /admin/webhooks``; ``events`` empty or left out means every event type."""

    url: str
    events: list[str] | None = None


class SandboxOrderIn(_Strict):
    """``POST /admin/sandbox/{integration_id}/orders``."""

    package_id: str = Field(min_length=1)
    email: str | None = None
    seed: int | None = None
    inline: bool = False


class OutageIn(_Strict):
    """``PUT /admin/sandbox/{integration_id}/outage``; ``fail_ratio`` is used by ``flaky``."""

    mode: str
    fail_ratio: float = 0.33
