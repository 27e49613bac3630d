"""Greenhouse (Assessment Partner API): Greenhouse calls the hub; the hub only nudges.

Greenhouse pulls everything: tests (``list_tests``), orders (``send_test``) and results
(``test_status``). A write-back is the body-less ``PATCH {url}`` that makes Greenhouse pull
``test_status`` right away (docs/connectors/greenhouse.md).
"""

from __future__ import annotations

import re
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
from assessment_hub.connectors.greenhouse import writeback
from assessment_hub.connectors.greenhouse.inbound import router
from assessment_hub.connectors.urls import not_public_reason
from assessment_hub.kit.states import ResultStatus

MAX_KEY_LENGTH = 170
"""Greenhouse keys must be shorter than 171 characters (§2.2)."""
SETTINGS = ("api_key", "allowed_callback_hosts")
_KEY_CHARS = re.compile(r"^[\x21-\x39\x3b-\x7e]+$")  # printable ASCII, no space, no ':' (the Basic separator)


class GreenhouseConnector:
    tool: ClassVar[str] = "greenhouse"
    label: ClassVar[str] = "Greenhouse"
    capabilities: ClassVar[Capabilities] = Capabilities(
        text_only_attributes=True,
        shows_open_results=False,
        accepts_attachments=False,
        shows_rejection_message=False,
        ats_can_cancel=False,
        inbound="Greenhouse calls send_test (HTTP Basic, hub-minted key); pulls test_status after a PATCH",
    )
    inbound: ClassVar[APIRouter | None] = router
    setting_fields: ClassVar[tuple[SettingField, ...]] = (
        SettingField("api_key", "API key Greenhouse sends", secret=True, help="Leave empty: the hub mints one."),
        SettingField("allowed_callback_hosts", "Allowed callback hosts", help="Extra host[:port], comma-separated."),
    )

    @classmethod
    def prepare_settings(cls, given: dict[str, str]) -> dict[str, Any]:
        unknown = sorted(set(given) - set(SETTINGS))
        if unknown:
            raise SettingsError(f"greenhouse takes no setting {', '.join(unknown)} (settings: {', '.join(SETTINGS)})")
        settings = dict(given)
        key = settings.get("api_key") or secrets.token_hex(20)
        if len(key) > MAX_KEY_LENGTH or not _KEY_CHARS.match(key):
            raise SettingsError(
                f"api_key: must be 1 to {MAX_KEY_LENGTH} printable characters without spaces or ':' "
                "(Greenhouse sends it as an HTTP Basic user name)"
            )
        settings["api_key"] = key
        if "allowed_callback_hosts" in settings:
            settings["allowed_callback_hosts"] = check_allowed_hosts(settings["allowed_callback_hosts"])
        return settings

    @classmethod
    def setup(cls, settings: dict[str, Any], base_url: str) -> dict[str, Any]:
        return {
            "list_tests_url": f"{base_url}/list_tests",
            "send_test_url": f"{base_url}/send_test",
            "test_status_url": f"{base_url}/test_status",
            "response_error_url": f"{base_url}/response_error",
            "api_key": settings["api_key"],
        }

    def __init__(self, context: ConnectorContext) -> None:
        self.context = context

    def _nudge_request(self, order: OrderSnapshot) -> httpx.Request:
        return writeback.nudge_request(
            self.context.http,
            writeback.callback_url(order.remote_data),
            self.context.settings,
            self.context.hub_settings.delivery_timeout_s,
        )

    def _nudge(self, order: OrderSnapshot) -> None:
        writeback.nudge(self.context, self._nudge_request(order), self.context.hub_settings.delivery_timeout_s)

    def result_request(self, order: OrderSnapshot, result: ResultSnapshot) -> httpx.Request:
        return self._nudge_request(order)

    def write_result(self, order: OrderSnapshot, result: ResultSnapshot) -> None:
        """Every revision: PATCH, so Greenhouse pulls ``test_status`` (which answers the latest)."""
        self._nudge(order)

    def write_rejection(self, order: OrderSnapshot, message: str) -> None:
        """Greenhouse cannot show a rejection; the PATCH makes it pull ``partner_status: "rejected"``
        (a "not done" state) with the message in ``metadata``, in case it shows either."""
        self._nudge(order)

    @classmethod
    def result_warnings(cls, result: ResultSnapshot) -> list[str]:
        warnings = []
        if result.status == ResultStatus.OPEN:
            warnings.append(
                "Greenhouse does not show OPEN results: it shows a result only once it is COMPLETED "
                "(until then test_status answers partner_status 'in_progress')."
            )
        elif result.status == ResultStatus.CANCELLED:
            warnings.append(
                "Greenhouse has no cancelled state: the test stays not complete in Greenhouse "
                "(test_status answers partner_status 'cancelled')."
            )
        reason = not_public_reason(result.result_url)
        if reason is not None:
            warnings.append(
                f"result_url {result.result_url!r} cannot be shown by Greenhouse: {reason}; Greenhouse "
                "shows a result only with a publicly reachable http(s) partner_profile_url"
                + (" (test_status will not answer 'complete')." if reason == "it is not an http(s) URL" else ".")
            )
        if result.attachments:
            warnings.append(
                f"Greenhouse accepts no attachments: {len(result.attachments)} attachment(s) kept in the "
                "hub but not shown in Greenhouse."
            )
        return warnings
