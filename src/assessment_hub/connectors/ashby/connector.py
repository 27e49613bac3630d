"""The Ashby connector: settings, set-up values, write-backs (docs/connectors/ashby.md)."""

from __future__ import annotations

import secrets
from typing import Any, ClassVar

import httpx
from fastapi import APIRouter

from assessment_hub.connectors.ashby import mapping, writeback
from assessment_hub.connectors.ashby.inbound import router
from assessment_hub.connectors.base import (
    Capabilities,
    ConnectorContext,
    OrderSnapshot,
    RemoteInputError,
    ResultSnapshot,
    SettingField,
    SettingsError,
)
from assessment_hub.connectors.callbacks import check_allowed_hosts
from assessment_hub.connectors.urls import is_http_url

GIVEN_SETTINGS = ("api_key", "api_base_url", "allowed_callback_hosts")


class AshbyConnector:
    tool: ClassVar[str] = "ashby"
    label: ClassVar[str] = "Ashby"
    capabilities: ClassVar[Capabilities] = Capabilities(
        text_only_attributes=True,
        shows_open_results=True,
        accepts_attachments=False,
        shows_rejection_message=True,
        ats_can_cancel=True,
        inbound="Ashby calls assessment.list / assessment.start / assessment.cancel",
    )
    inbound: ClassVar[APIRouter | None] = router
    setting_fields: ClassVar[tuple[SettingField, ...]] = (
        SettingField("api_key", "Ashby API key", required=True, secret=True, help="With candidatesWrite permission."),
        SettingField("api_base_url", "API base URL", help=f"Default {writeback.DEFAULT_API_BASE_URL}."),
        SettingField("allowed_callback_hosts", "Allowed callback hosts", help="Extra host[:port], comma-separated."),
    )

    @classmethod
    def prepare_settings(cls, given: dict[str, str]) -> dict[str, Any]:
        """``api_key`` (the customer's Ashby API key, ``candidatesWrite``) is required; ``api_base_url``
        defaults to Ashby's production API. The hub mints ``inbound_api_key``, the key Ashby sends."""
        unknown = sorted(set(given) - set(GIVEN_SETTINGS))
        if unknown:
            raise SettingsError(f"unknown Ashby setting(s) {', '.join(unknown)}; known: {', '.join(GIVEN_SETTINGS)}")
        api_key = (given.get("api_key") or "").strip()
        if not api_key:
            raise SettingsError("api_key: required, the customer's Ashby API key (with candidatesWrite permission)")
        base = (given.get("api_base_url") or writeback.DEFAULT_API_BASE_URL).strip().rstrip("/")
        if not is_http_url(base):
            raise SettingsError(f"api_base_url: must be an http(s) URL, got {base!r}")
        settings: dict[str, Any] = {
            "api_key": api_key,
            "api_base_url": base,
            "inbound_api_key": "ahb_" + secrets.token_urlsafe(32),
        }
        if given.get("allowed_callback_hosts"):
            settings["allowed_callback_hosts"] = check_allowed_hosts(given["allowed_callback_hosts"])
        return settings

    @classmethod
    def setup(cls, settings: dict[str, Any], base_url: str) -> dict[str, Any]:
        return {"base_url": base_url, "api_key": settings["inbound_api_key"]}

    def __init__(self, context: ConnectorContext) -> None:
        self.context = context

    def result_request(self, order: OrderSnapshot, result: ResultSnapshot) -> httpx.Request:
        try:
            body = mapping.result_update(order.id, result)
        except ValueError as exc:
            raise RemoteInputError(str(exc)) from None
        body["timestamp"] = writeback.revision_timestamp(self.context, order.id, result.revision)
        return writeback.update_request(self.context, body)

    def write_result(self, order: OrderSnapshot, result: ResultSnapshot) -> None:
        writeback.send_update(self.context, self.result_request(order, result))

    def write_rejection(self, order: OrderSnapshot, message: str) -> None:
        body = mapping.rejection_update(order.id, message)
        body["timestamp"] = writeback.rejection_timestamp(self.context, order.id)
        writeback.send_update(self.context, writeback.update_request(self.context, body))

    @classmethod
    def result_warnings(cls, result: ResultSnapshot) -> list[str]:
        return mapping.warnings(result)
