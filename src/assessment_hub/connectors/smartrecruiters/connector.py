"""The SmartRecruiters connector: settings, set-up values, write-backs (docs/connectors/smartrecruiters.md).

Set-up (what the vendor registers with SmartRecruiters for the customer, minted by the hub): ``base_url``, and the
client credentials ``client_id``/``client_secret`` SmartRecruiters exchanges at ``{base_url}/oauth/token``.
Settings: ``api_client_id``/``api_client_secret`` (what SmartRecruiters returns at the credential exchange; often
known only afterwards: ``integrations update``), ``api_base_url``, ``allowed_callback_hosts``.
"""

from __future__ import annotations

import secrets
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
from assessment_hub.connectors.callbacks import check_allowed_hosts
from assessment_hub.connectors.smartrecruiters import mapping, writeback
from assessment_hub.connectors.smartrecruiters.inbound import router
from assessment_hub.connectors.urls import is_http_url

GIVEN_SETTINGS = ("api_client_id", "api_client_secret", "api_base_url", "allowed_callback_hosts")


class SmartRecruitersConnector:
    tool: ClassVar[str] = "smartrecruiters"
    label: ClassVar[str] = "SmartRecruiters"
    capabilities: ClassVar[Capabilities] = Capabilities(
        text_only_attributes=False,
        shows_open_results=True,
        accepts_attachments=True,
        shows_rejection_message=True,
        ats_can_cancel=False,
        inbound="SmartRecruiters calls `POST /oauth/token`, `GET /packages`, `POST /packages/orders`",
    )
    inbound: ClassVar[APIRouter | None] = router
    setting_fields: ClassVar[tuple[SettingField, ...]] = (
        SettingField("api_client_id", "API client id", help="What SmartRecruiters returns at the credential exchange."),
        SettingField(
            "api_client_secret", "API client secret", secret=True, help="Given together with the API client id."
        ),
        SettingField("api_base_url", "API base URL", help=f"Default {writeback.DEFAULT_API_BASE_URL}."),
        SettingField("allowed_callback_hosts", "Allowed callback hosts", help="Extra host[:port], comma-separated."),
    )

    @classmethod
    def prepare_settings(cls, given: dict[str, str]) -> dict[str, Any]:
        """Every setting is optional at creation (the API credentials exist only after the credential exchange);
        the hub mints ``client_id`` and ``client_secret``, the credentials SmartRecruiters will send."""
        unknown = sorted(set(given) - set(GIVEN_SETTINGS))
        if unknown:
            raise SettingsError(
                f"smartrecruiters takes no setting {', '.join(unknown)} (known: {', '.join(GIVEN_SETTINGS)})"
            )
        settings: dict[str, Any] = {k: v.strip() for k, v in given.items() if isinstance(v, str) and v.strip()}
        if bool(settings.get("api_client_id")) != bool(settings.get("api_client_secret")):
            raise SettingsError(
                "api_client_id and api_client_secret: give both (the credentials SmartRecruiters returned)"
            )
        base = settings.get("api_base_url", writeback.DEFAULT_API_BASE_URL).rstrip("/")
        if not is_http_url(base):
            raise SettingsError(f"api_base_url: must be an http(s) URL, got {base!r}")
        settings["api_base_url"] = base
        if "allowed_callback_hosts" in settings:
            settings["allowed_callback_hosts"] = check_allowed_hosts(settings["allowed_callback_hosts"])
        settings["client_id"] = "hub_" + secrets.token_hex(12)
        settings["client_secret"] = secrets.token_urlsafe(32)
        return settings

    @classmethod
    def setup(cls, settings: dict[str, Any], base_url: str) -> dict[str, Any]:
        return {"base_url": base_url, "client_id": settings["client_id"], "client_secret": settings["client_secret"]}

    def __init__(self, context: ConnectorContext) -> None:
        self.context = context

    def result_request(self, order: OrderSnapshot, result: ResultSnapshot) -> httpx.Request:
        url = writeback.callback_url(self.context, order.remote_data)
        return writeback.patch_request(self.context, url, mapping.result_patch(result))

    def write_result(self, order: OrderSnapshot, result: ResultSnapshot) -> None:
        writeback.patch_result(self.context, self.result_request(order, result))

    def write_rejection(self, order: OrderSnapshot, message: str) -> None:
        url = writeback.callback_url(self.context, order.remote_data)
        writeback.patch_result(
            self.context, writeback.patch_request(self.context, url, mapping.rejection_patch(message))
        )

    @classmethod
    def result_warnings(cls, result: ResultSnapshot) -> list[str]:
        return mapping.warnings(result)
