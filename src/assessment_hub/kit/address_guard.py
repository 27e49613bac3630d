"""Outbound fetches that connect to the address that was checked (no DNS rebinding).

A name is resolved once per connection, every address it resolves to is checked, and the connection is
made to one of those very addresses: httpx never resolves the name again. Checking a name and letting the
HTTP client resolve it afresh to connect lets a name answer a public address to the check and 127.0.0.1 to
the connect. The pinning lives in the connection pool's network backend, so it holds for every redirect hop
and every new connection, while TLS still verifies the certificate (and sends SNI) for the name itself.

Which addresses are public: ``is_global`` and not multicast, with IPv6 forms that carry an IPv4 address
judged by that IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible ``::a.b.c.d``, NAT64
``64:ff9b::/96`` (RFC 6052) and ``64:ff9b:1::/48`` (RFC 8215), 6to4 ``2002::/16`` (RFC 3056), Teredo's
client): Python's ``ipaddress`` calls ``64:ff9b::7f00:1`` (loopback through NAT64) global.

``Resolver``: ``async (host, port) -> [address, ...]``; the default asks the system (``getaddrinfo``), tests
give their own.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpcore
import httpx

Resolver = Callable[[str, int], Awaitable[list[str]]]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


class DestinationRefused(Exception):
    """The host does not resolve, or resolves to an address that is not public. ``str()`` says which."""


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, if it is one of the forms that carry one."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if any(address in network for network in _NAT64) or address in _IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: IPAddress) -> bool:
    """True for a globally routable unicast address (IPv6 forms carrying an IPv4 judged by that IPv4)."""
    if isinstance(address, ipaddress.IPv6Address):
        carried = embedded_ipv4(address)
        if carried is not None:
            return is_public(carried)
    return address.is_global and not address.is_multicast


async def system_resolver(host: str, port: int) -> list[str]:
    """The system's answer for ``host`` (getaddrinfo, in the event loop's executor), in its order."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def checked_addresses(host: str, port: int, resolver: Resolver, *, allow_private: bool) -> list[str]:
    """``host`` resolved once; every address public unless ``allow_private``. Raises ``DestinationRefused``."""
    try:
        literal: IPAddress | None = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        found = [str(literal)]
    else:
        try:
            found = await resolver(host, port)
        except (OSError, UnicodeError):
            raise DestinationRefused(f"host {host!r} does not resolve") from None
        if not found:
            raise DestinationRefused(f"host {host!r} does not resolve")
    if not allow_private:
        for text in found:
            address = ipaddress.ip_address(text.split("%", 1)[0])
            if not is_public(address):
                raise DestinationRefused(
                    f"{host} resolves to a non-public address ({address}); refused "
                    "(set ASSESSMENT_HUB_ALLOW_PRIVATE_NETWORK=true to allow)"
                )
    return found


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with the name resolved and checked here, and the TCP connection made to
    the checked address (the next one on failure)."""

    def __init__(self, resolver: Resolver, *, allow_private: bool) -> None:
        self.resolver = resolver
        self.allow_private = allow_private
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await checked_addresses(host, port, self.resolver, allow_private=self.allow_private)
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise DestinationRefused("unix sockets are not fetched")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class PinnedTransport(httpx.AsyncHTTPTransport):
    """An httpx transport whose connections go to checked, pinned addresses (``PinnedBackend``). No proxy
    from the environment: a proxy would resolve the name itself."""

    def __init__(
        self, resolver: Resolver | None = None, *, allow_private: bool = False, max_connections: int = 500
    ) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=max_connections,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=PinnedBackend(resolver or system_resolver, allow_private=allow_private),
        )
