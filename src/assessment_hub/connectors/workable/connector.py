"""The Workable connector: settings, set-up values, write-backs (docs/connectors/workable.md).

Set-up (what the customer pastes into Workable, minted by the hub): ``base_url`` and ``token`` (the Bearer token
Workable sends). Settings: ``api_token`` (the token Workable issues when the integration is created; often known
only afterwards: ``integrations update``), ``allowed_callback_hosts``.
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
    RemoteInputError,
    ResultSnapshot,
    SettingField,
    SettingsError,
)
from assessment_hub.connectors.callbacks import check_allowed_hosts
from assessment_hub.connectors.workable import mapping, writeback
from assessment_hub.connectors.workable.inbound import router

GIVEN_SETTINGS = ("api_token", "allowed_callback_hosts")


class WorkableConnector:
    tool: ClassVar[str] = "workable"
    label: ClassVar[str] = "Workable"
    capabilities: ClassVar[Capabilities] = Capabilities(
        text_only_attributes=True,
        shows_open_results=True,
        accepts_attachments=True,
        shows_rejection_message=False,
        ats_can_cancel=False,
        inbound="Workable calls `GET /tests`, `POST /assessments`",
    )
    inbound: ClassVar[APIRouter | None] = router
    setting_fields: ClassVar[tuple[SettingField, ...]] = (
        SettingField(
            "api_token", "Workable API token", secret=True, help="Issued by Workable once the integration exists."
        ),
        SettingField("allowed_callback_hosts", "Allowed callback hosts", help="Extra host[:port], comma-separated."),
    )

    @classmethod
    def prepare_settings(cls, given: dict[str, str]) -> dict[str, Any]:
        """Every setting is optional at creation (Workable issues ``api_token`` once the customer has set the
        integration up); the hub mints ``token``, the Bearer token Workable sends."""
        unknown = sorted(set(given) - set(GIVEN_SETTINGS))
        if unknown:
            raise SettingsError(f"workable takes no setting {', '.join(unknown)} (known: {', '.join(GIVEN_SETTINGS)})")
        settings: dict[str, Any] = {k: v.strip() for k, v in given.items() if isinstance(v, str) and v.strip()}
        if "allowed_callback_hosts" in settings:
            settings["allowed_callback_hosts"] = check_allowed_hosts(settings["allowed_callback_hosts"])
        settings["token"] = "wkb_" + secrets.token_urlsafe(32)
        return settings

    @classmethod
    def setup(cls, settings: dict[str, Any], base_url: str) -> dict[str, Any]:
        return {"base_url": base_url, "token": settings["token"]}

    def __init__(self, context: ConnectorContext) -> None:
        self.context = context

    def result_request(self, order: OrderSnapshot, result: ResultSnapshot) -> httpx.Request:
        try:
            body = mapping.result_body(result)
        except ValueError as exc:
            raise RemoteInputError(str(exc)) from None
        return writeback.put_request(self.context, writeback.callback_url(self.context, order.remote_data), body)

    def write_result(self, order: OrderSnapshot, result: ResultSnapshot) -> None:
        writeback.put_result(self.context, self.result_request(order, result))

    def write_rejection(self, order: OrderSnapshot, message: str) -> None:
        url = writeback.callback_url(self.context, order.remote_data)
        writeback.put_result(self.context, writeback.put_request(self.context, url, mapping.rejection_body(message)))

    @classmethod
    def result_warnings(cls, result: ResultSnapshot) -> list[str]:
        return mapping.warnings(result)
