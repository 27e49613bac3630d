"""The concurrency cap on the vendor API's write routes, and the ``Concurrency-Remaining`` header.

A write route takes ``WriteSlotDep`` (after the integration is authenticated, before the body is read):
it holds one of the integration's slots until the route's answer is ready and refuses the request with
429 ``PLATFORM.CONCURRENCY_LIMIT_EXCEEDED`` and ``Retry-After: 1`` when all ``CONCURRENCY_LIMIT`` are taken
(Kombo: 30 in-flight actions per integration; clients back off from about 1 s). ``ConcurrencyHeaders``
(ASGI middleware) writes the remaining room on every response of such a request, errors included.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request

from assessment_hub.concurrency.slots import Slots
from assessment_hub.errors import ConcurrencyLimitExceeded
from assessment_hub.integrations.deps import IntegrationDep

STATE_KEY = "concurrency_remaining"
"""Where the dependency leaves the figure for ``ConcurrencyHeaders`` (the request's ``scope["state"]``)."""


async def _write_slot(request: Request, integration: IntegrationDep) -> AsyncIterator[None]:
    slots: Slots = request.app.state.concurrency
    slot, remaining = await slots.acquire(integration.id)
    request.state.concurrency_remaining = remaining
    if slot is None:
        raise ConcurrencyLimitExceeded(
            f"This integration already has {slots.limit} write requests in flight, the most allowed at once; "
            "send this one again after the others have been answered (wait at least the Retry-After "
            "seconds, backing off exponentially)."
        )
    try:
        yield
    finally:
        await slots.release(slot)


WriteSlotDep = Annotated[None, Depends(_write_slot, scope="function")]
"""Holds one of the integration's in-flight write slots for the route's duration (released before the
response is sent)."""


class ConcurrencyHeaders:
    """Adds ``Concurrency-Remaining`` to the response of every request that asked for a write slot."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return

        async def stamp(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                remaining = scope.get("state", {}).get(STATE_KEY)
                if remaining is not None:
                    message["headers"] = [*message.get("headers", ()), (b"concurrency-remaining", b"%d" % remaining)]
            await send(message)

        await self.app(scope, receive, stamp)
