"""Settings of a Teamtailor integration: what the operator gives, and what the hub mints.

- ``api_key`` (required): the partner API key from Teamtailor's Integrations hub; sent on every
  partner-results ``PUT``.
- ``api_base_url`` (default ``https://api.teamtailor.com``): the Partner API host; used only when a
  webhook carries a partner-result id but no ``update-url``.
- ``webhook_secret`` (optional): when set, ``POST /webhook`` must carry a valid ``Teamtailor-Signature``.
- ``assessment_criteria`` (optional): ``id=Label,id=Label``; offered in ``GET /config`` as Teamtailor
  assessment criteria; a SUB_RESULT whose ``id`` is one of them is written back as that criterion's score.
- ``allowed_callback_hosts`` (every tool): extra ``host[:port]`` the hub may call as ``update-url``.
- ``provider_key`` (minted): the key Teamtailor sends as ``Authorization: Bearer``.
"""

from __future__ import annotations

import secrets
from typing import Any

from assessment_hub.connectors.base import SettingsError
from assessment_hub.connectors.callbacks import check_allowed_hosts
from assessment_hub.connectors.urls import is_http_url

DEFAULT_API_BASE_URL = "https://api.teamtailor.com"
TEAMTAILOR_HOSTS = ("teamtailor.com",)
"""Teamtailor's own API hosts (api., api.na., api.au.teamtailor.com), for ``update-url`` checks."""
KNOWN = {"api_key", "api_base_url", "webhook_secret", "assessment_criteria", "allowed_callback_hosts", "provider_key"}
PROVIDER_KEY_PREFIX = "ttpk_"


def prepare(given: dict[str, str]) -> dict[str, Any]:
    unknown = sorted(set(given) - KNOWN)
    if unknown:
        raise SettingsError(f"teamtailor takes no setting {', '.join(unknown)} (known: {', '.join(sorted(KNOWN))})")
    settings: dict[str, Any] = {k: v.strip() for k, v in given.items() if isinstance(v, str) and v.strip()}
    if not settings.get("api_key"):
        raise SettingsError("api_key: the Teamtailor partner API key is required (--setting api_key=...)")
    base = settings.get("api_base_url", DEFAULT_API_BASE_URL).rstrip("/")
    if not is_http_url(base):
        raise SettingsError(f"api_base_url: must be an http(s) URL, got {base!r}")
    settings["api_base_url"] = base
    if "allowed_callback_hosts" in settings:
        settings["allowed_callback_hosts"] = check_allowed_hosts(settings["allowed_callback_hosts"])
    if "assessment_criteria" in settings:
        parse_criteria(settings["assessment_criteria"])  # raises SettingsError
    key = settings.get("provider_key")
    if key is not None and len(key) < 16:
        raise SettingsError("provider_key: at least 16 characters (or leave it out and the hub mints one)")
    settings.setdefault("provider_key", PROVIDER_KEY_PREFIX + secrets.token_urlsafe(32))
    return settings


def parse_criteria(raw: str | None) -> list[dict[str, str]]:
    """``"logic=Logical reasoning,comm=Communication"`` -> ``[{"id": "logic", "label": "Logical reasoning"}, ...]``."""
    criteria: list[dict[str, str]] = []
    seen: set[str] = set()
    for part in (raw or "").split(","):
        if not part.strip():
            continue
        cid, _, label = part.partition("=")
        cid, label = cid.strip(), label.strip() or cid.strip()
        if not cid:
            raise SettingsError(f"assessment_criteria: {part.strip()!r} has no id (use id=Label)")
        if cid in seen:
            raise SettingsError(f"assessment_criteria: id {cid!r} is listed twice")
        seen.add(cid)
        criteria.append({"id": cid, "label": label})
    return criteria
