"""Callback URLs an ATS hands the hub (Greenhouse's ``url``, Teamtailor's ``update-url``) are called
only when their host is one of that ATS's own hosts or listed in the integration's
``allowed_callback_hosts`` setting (comma-separated ``host[:port]``). Otherwise the order is still
taken, the callback is not stored as callable, and the operator is warned.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from assessment_hub.connectors.base import SettingsError
from assessment_hub.connectors.urls import is_http_url

_HOST = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$")


def check_allowed_hosts(raw: str) -> str:
    """The ``allowed_callback_hosts`` setting normalized (``"a, b:8443"`` -> ``"a,b:8443"``); raises
    ``SettingsError`` naming each entry that is not ``host[:port]``."""
    hosts = [h.strip() for h in raw.split(",") if h.strip()]
    bad = [h for h in hosts if not _HOST.match(h)]
    if bad:
        raise SettingsError(f"allowed_callback_hosts: {', '.join(bad)} is not host[:port] (comma-separated)")
    return ",".join(hosts)


def allowed_hosts(settings: dict[str, Any]) -> set[str]:
    raw = settings.get("allowed_callback_hosts") or ""
    return {part.strip().lower() for part in str(raw).split(",") if part.strip()}


def callback_allowed(url: str, ats_host_suffixes: Iterable[str], settings: dict[str, Any]) -> bool:
    """True when ``url`` is https on one of the ATS's hosts (``*.suffix``), or its ``host[:port]`` is allowed."""
    if not is_http_url(url):
        return False
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    netloc = f"{host}:{parts.port}" if parts.port else host
    listed = allowed_hosts(settings)
    if host in listed or netloc in listed:
        return True
    return parts.scheme == "https" and any(host == s or host.endswith("." + s) for s in ats_host_suffixes)
