"""The Lever connector: Lever has no assessment API, so vendors work from its Candidate Stage Change webhook and
write results as notes (Lever's "Assessments" use case; docs/connectors/lever.md).

Orders arrive as signed webhook deliveries (``inbound.py``) for the stages listed in ``stage_packages``; each
COMPLETED (or CANCELLED) result revision and a vendor's rejection become one note on the opportunity
(``writeback.py``) with the text of ``mapping.py``; an OPEN result sends nothing and the vendor is warned.

Set-up (minted by the hub): ``webhook_url``. Settings: ``api_key`` (required: the customer's Lever API key, HTTP
Basic), ``signature_token`` (Lever shows it once the webhook exists: at creation or later with ``integrations
update``), ``stage_packages`` (``stageId=packageId,...``), ``api_base_url`` (default ``https://api.lever.co/v1``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx
from fastapi import APIRouter

from assessment_hub.connectors.base import (
    Capabilities,
    ConnectorContext,
    OrderSnapshot,
    ResultSnapshot,
    SettingField,
    SettingsError,
)
from assessment_hub.connectors.lever import mapping, writeback
from assessment_hub.connectors.lever.inbound import router
from assessment_hub.connectors.urls import is_http_url

GIVEN_SETTINGS = ("api_key", "signature_token", "stage_packages", "api_base_url")


class LeverConnector:
    tool: ClassVar[str] = "lever"
    label: ClassVar[str] = "Lever"
    capabilities: ClassVar[Capabilities] = Capabilities(
        text_only_attributes=True,
        shows_open_results=False,
        accepts_attachments=False,
        shows_rejection_message=True,
        ats_can_cancel=False,
        inbound="Lever Candidate Stage Change webhook (signed), into a stage listed in `stage_packages`",
    )
    inbound: ClassVar[APIRouter | None] = router
    setting_fields: ClassVar[tuple[SettingField, ...]] = (
        SettingField("api_key", "Lever API key", required=True, secret=True, help="Settings → Integrations and API."),
        SettingField(
            "signature_token", "Webhook signature token", secret=True, help="Shown by Lever once the webhook exists."
        ),
        SettingField("stage_packages", "Stages that order a package", help="stageId=packageId,stageId=packageId"),
        SettingField("api_base_url", "API base URL", help=f"Default {writeback.DEFAULT_API_BASE_URL}."),
    )

    @classmethod
    def prepare_settings(cls, given: dict[str, str]) -> dict[str, Any]:
        unknown = sorted(set(given) - set(GIVEN_SETTINGS))
        if unknown:
            raise SettingsError(f"lever takes no setting {', '.join(unknown)} (known: {', '.join(GIVEN_SETTINGS)})")
        settings: dict[str, Any] = {k: v.strip() for k, v in given.items() if isinstance(v, str) and v.strip()}
        if not settings.get("api_key"):
            raise SettingsError("api_key: the customer's Lever API key is required (--setting api_key=...)")
        base = settings.get("api_base_url", writeback.DEFAULT_API_BASE_URL).rstrip("/")
        if not is_http_url(base):
            raise SettingsError(f"api_base_url: must be an http(s) URL, got {base!r}")
        settings["api_base_url"] = base
        if "stage_packages" in settings:
            stages = mapping.parse_stage_packages(settings["stage_packages"])  # raises SettingsError
            settings["stage_packages"] = ",".join(f"{s}={p}" for s, p in stages.items())
        return settings

    @classmethod
    def setup(cls, settings: dict[str, Any], base_url: str) -> dict[str, Any]:
        return {"webhook_url": f"{base_url}/webhook"}

    def __init__(self, context: ConnectorContext) -> None:
        self.context = context

    def result_request(self, order: OrderSnapshot, result: ResultSnapshot) -> httpx.Request | None:
        text = mapping.result_note(order, result)
        if text is None:
            return None
        opportunity_id = writeback.opportunity_of(order.remote_data)
        return writeback.note_request(self.context, opportunity_id, mapping.note_body(text))

    def write_result(self, order: OrderSnapshot, result: ResultSnapshot) -> None:
        request = self.result_request(order, result)
        if request is not None:
            writeback.post_note(self.context, request)

    def write_rejection(self, order: OrderSnapshot, message: str) -> None:
        opportunity_id = writeback.opportunity_of(order.remote_data)
        body = mapping.note_body(mapping.rejection_note(order, message))
        writeback.post_note(self.context, writeback.note_request(self.context, opportunity_id, body))

    @classmethod
    def result_warnings(cls, result: ResultSnapshot) -> list[str]:
        return mapping.warnings(result)
