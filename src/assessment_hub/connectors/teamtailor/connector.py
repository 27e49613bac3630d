"""The Teamtailor connector: Teamtailor's Partner API for assessment partners (docs/connectors/teamtailor.md).

Orders arrive as partner events (``inbound.py``); each result revision and a vendor's rejection are
written back with ``PUT {update-url}`` (``writeback.py``) in the shapes of ``mapping.py``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from fastapi import APIRouter

from assessment_hub.connectors.base import (
    Capabilities,
    ConfigError,
    ConnectorContext,
    OrderSnapshot,
    ResultSnapshot,
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

    def write_result(self, order: OrderSnapshot, result: ResultSnapshot) -> None:
        url, result_id = self._target(order)
        criteria = {c["id"] for c in settings.parse_criteria(self.context.settings.get("assessment_criteria"))}
        writeback.put_partner_result(self.context, url, result_id, mapping.result_attributes(result, criteria))

    def write_rejection(self, order: OrderSnapshot, message: str) -> None:
        url, result_id = self._target(order)
        writeback.put_partner_result(self.context, url, result_id, mapping.rejection_attributes(message))

    @classmethod
    def result_warnings(cls, result: ResultSnapshot) -> list[str]:
        return mapping.warnings(result)
