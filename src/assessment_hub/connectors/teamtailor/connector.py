"""The Teamtailor connector: Teamtailor's Partner API for assessment partners (docs/connectors/teamtailor.md).

Orders arrive as partner events (``inbound.py``); each result revision and a vendor's rejection are
written back with ``PUT {update-url}`` (``writeback.py``) in the shapes of ``mapping.py``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx
from fastapi import APIRouter

from assessment_hub.connectors.base import (
    Capabilities,
    ConfigError,
    ConnectorContext,
    OrderSnapshot,
    ResultSnapshot,
    SettingField,
)
from assessment_hub.connectors.teamtailor import mapping, settings, writeback
from assessment_hub.connectors.teamtailor.inbound import router


class TeamtailorConnector:
    tool: ClassVar[str] = "teamtailor"
    label: ClassVar[str] = "Teamtailor"
    capabilities: ClassVar[Capabilities] = Capabilities(
        text_only_attributes=True,
        shows_open_results=True,
        accepts_attachments=True,
        shows_rejection_message=True,
        ats_can_cancel=False,
        inbound="Teamtailor Partner API: `GET /config`, `POST /webhook` (partner event)",
    )
    inbound: ClassVar[APIRouter | None] = router
    setting_fields: ClassVar[tuple[SettingField, ...]] = (
        SettingField(
            "api_key", "Partner API key", required=True, secret=True, help="From Teamtailor's Integrations hub."
        ),
        SettingField("api_base_url", "API base URL", help=f"Default {settings.DEFAULT_API_BASE_URL}."),
        SettingField("webhook_secret", "Webhook secret", secret=True, help="Checks Teamtailor-Signature when set."),
        SettingField("assessment_criteria", "Assessment criteria", help="id=Label,id=Label"),
        SettingField("allowed_callback_hosts", "Allowed callback hosts", help="Extra host[:port], comma-separated."),
    )

    @classmethod
    def prepare_settings(cls, given: dict[str, str]) -> dict[str, Any]:
        return settings.prepare(given)

    @classmethod
    def setup(cls, settings: dict[str, Any], base_url: str) -> dict[str, Any]:
        return {"base_url": base_url, "provider_key": settings["provider_key"]}

    def __init__(self, context: ConnectorContext) -> None:
        self.context = context

    def _target(self, order: OrderSnapshot) -> tuple[str, str]:
        hub = (order.remote_data or {}).get("hub") or {}
        result_id = hub.get("partner_result_id")
        if not result_id:
            raise ConfigError(f"order {order.id} has no Teamtailor partner-result id: nothing to update")
        return writeback.update_url(self.context, hub), str(result_id)

    def result_request(self, order: OrderSnapshot, result: ResultSnapshot) -> httpx.Request:
        url, result_id = self._target(order)
        criteria = {c["id"] for c in settings.parse_criteria(self.context.settings.get("assessment_criteria"))}
        attributes = mapping.result_attributes(result, criteria)
        return writeback.partner_result_request(self.context, url, result_id, attributes)

    def write_result(self, order: OrderSnapshot, result: ResultSnapshot) -> None:
        writeback.put_partner_result(self.context, self.result_request(order, result))

    def write_rejection(self, order: OrderSnapshot, message: str) -> None:
        url, result_id = self._target(order)
        request = writeback.partner_result_request(self.context, url, result_id, mapping.rejection_attributes(message))
        writeback.put_partner_result(self.context, request)

    @classmethod
    def result_warnings(cls, result: ResultSnapshot) -> list[str]:
        return mapping.warnings(result)
