"""The one rule for URLs in connector code: what is an http(s) URL, and what may be a public link.

``is_http_url``: an absolute ``http``/``https`` URL with a host, as pydantic's ``AnyHttpUrl`` parses it
(the WHATWG URL standard). Used for links shown in an ATS (``result_url``), ATS API base URLs given as
settings, and callback URLs an ATS hands the hub (``connectors.callbacks``).

``not_public_reason``: why an http(s) URL cannot be a link the public internet reaches, judged from the URL
alone (no DNS look-up at PUT time): ``localhost``, a single-label host, a private-use name suffix, or an IP
literal that is not globally routable.
"""

from __future__ import annotations

import ipaddress

from pydantic import AnyHttpUrl, TypeAdapter, ValidationError

_HTTP_URL: TypeAdapter[AnyHttpUrl] = TypeAdapter(AnyHttpUrl)
_PRIVATE_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa", ".intranet", ".corp")


def http_url(value: object) -> AnyHttpUrl | None:
    """``value`` parsed as an absolute http(s) URL with a host, or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return _HTTP_URL.validate_python(value)
    except ValidationError:
        return None


def is_http_url(value: object) -> bool:
    """True when ``value`` is an absolute http(s) URL with a host."""
    return http_url(value) is not None


def not_public_reason(url: str | None) -> str | None:
    """Why ``url`` cannot be a public http(s) link, or None when it may be one."""
    parsed = http_url(url)
    if parsed is None or not parsed.host:
        return "it is not an http(s) URL"
    host = parsed.host.lower().rstrip(".")
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        address = None
    if address is not None:
        return None if address.is_global else f"its host {host.strip('[]')} is not a public IP address"
    if host == "localhost" or "." not in host or host.endswith(_PRIVATE_SUFFIXES):
        return f"its host {host} is not a public host name"
    return None
