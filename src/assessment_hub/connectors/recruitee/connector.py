"""The Recruitee connector: Recruitee's Partners API for assessment partners (docs/connectors/recruitee.md).

Orders arrive as send-candidate calls (``inbound.py``); a COMPLETED or CANCELLED result revision and a vendor's
rejection are written back with the report ``PATCH`` (``writeback.py``) in the shapes of ``mapping.py``; an
OPEN result sends nothing (Recruitee shows no interim state) and the vendor is warned.

Set-up (minted by the hub, pasted into the partner's ``urls`` and the customer's Recruitee): ``tests_url``,
``send_candidate_url``, ``token``. Settings: ``codename`` and ``partner_secret`` (the vendor's Recruitee partner),
``api_base_url`` (default ``https://integrations.recruitee.com/api``; the Release Candidate is
``https://integrations.rc.recruitee.dev/api``).
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
from assessment_hub.connectors.recruitee import mapping, writeback
from assessment_hub.connectors.recruitee.inbound import router
from assessment_hub.connectors.urls import is_http_url

GIVEN_SETTINGS = ("codename", "partner_secret", "api_base_url")
_CODENAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
TOKEN_PREFIX = "rtk_"


class RecruiteeConnector:
    tool: ClassVar[str] = "recruitee"
    label: ClassVar[str] = "Recruitee"
    capabilities: ClassVar[Capabilities] = Capabilities(
        text_only_attributes=True,
        shows_open_results=False,
        accepts_attachments=False,
        shows_rejection_message=True,
        ats_can_cancel=False,
        inbound="Recruitee calls the partner's `urls.tests` (GET) and `urls.send_candidate` (POST), Bearer token",
    )
    inbound: ClassVar[APIRouter | None] = router
    setting_fields: ClassVar[tuple[SettingField, ...]] = (
        SettingField("codename", "Partner codename", required=True, help="Your Recruitee partner's codename."),
        SettingField(
            "partner_secret", "Partner secret", required=True, secret=True, help="partner.secret (GET /partner)."
        ),
        SettingField("api_base_url", "API base URL", help=f"Default {writeback.DEFAULT_API_BASE_URL}."),
    )

    @classmethod
    def prepare_settings(cls, given: dict[str, str]) -> dict[str, Any]:
        """``codename`` and ``partner_secret`` are required; the hub mints ``token`` (what Recruitee sends)."""
        unknown = sorted(set(given) - set(GIVEN_SETTINGS))
        if unknown:
            raise SettingsError(f"recruitee takes no setting {', '.join(unknown)} (known: {', '.join(GIVEN_SETTINGS)})")
        settings: dict[str, Any] = {k: v.strip() for k, v in given.items() if isinstance(v, str) and v.strip()}
        codename = settings.get("codename")
        if not codename:
            raise SettingsError("codename: the Recruitee partner's codename is required (--setting codename=...)")
        if not _CODENAME.match(codename):
            raise SettingsError(f"codename: letters, digits, '_', '-' and '.' only, got {codename!r}")
        if not settings.get("partner_secret"):
            raise SettingsError(
                "partner_secret: the Recruitee partner secret (RT-PARTNER-SECRET) is required "
                "(--setting partner_secret=...)"
            )
        base = settings.get("api_base_url", writeback.DEFAULT_API_BASE_URL).rstrip("/")
        if not is_http_url(base):
            raise SettingsError(f"api_base_url: must be an http(s) URL, got {base!r}")
        settings["api_base_url"] = base
        settings["token"] = TOKEN_PREFIX + secrets.token_urlsafe(32)
        return settings

    @classmethod
    def setup(cls, settings: dict[str, Any], base_url: str) -> dict[str, Any]:
        return {
            "tests_url": f"{base_url}/tests",
            "send_candidate_url": f"{base_url}/send_candidate",
            "token": settings["token"],
        }

    def __init__(self, context: ConnectorContext) -> None:
        self.context = context

    def result_request(self, order: OrderSnapshot, result: ResultSnapshot) -> httpx.Request | None:
        body = mapping.report_patch(result)
        if body is None:
            return None
        return writeback.report_request(self.context, writeback.report_url(self.context, order.remote_data), body)

    def write_result(self, order: OrderSnapshot, result: ResultSnapshot) -> None:
        request = self.result_request(order, result)
        if request is not None:
            writeback.patch_report(self.context, request)

    def write_rejection(self, order: OrderSnapshot, message: str) -> None:
        url = writeback.report_url(self.context, order.remote_data)
        writeback.patch_report(
            self.context, writeback.report_request(self.context, url, mapping.rejection_patch(message))
        )

    @classmethod
    def result_warnings(cls, result: ResultSnapshot) -> list[str]:
        return mapping.warnings(result)
