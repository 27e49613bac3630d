"""The concurrency cap on the vendor API's write routes, and the ``Concurrency-Remaining`` header.

A write route takes ``WriteSlotDep`` (after the integration is authenticated, before the body is read), or
holds ``write_slot`` around its work (the result PUT: its write may take the slot in its own transaction):
it holds one of the integration's slots until the route's answer is ready and refuses the request with
429 ``PLATFORM.CONCURRENCY_LIMIT_EXCEEDED`` and ``Retry-After: 1`` when all ``CONCURRENCY_LIMIT`` are taken
(Kombo: 30 in-flight actions per integration; clients back off from about 1 s). ``ConcurrencyHeaders``
(ASGI middleware) writes the remaining room on every response of such a request, errors included
(``stamp_remaining`` on those the unexpected-error handler makes, outside it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, Request

from assessment_hub.concurrency.slots import SlotInWrite, Slots, integration_key, limit_message
from assessment_hub.errors import ConcurrencyLimitExceeded
from assessment_hub.integrations.deps import IntegrationDep

STATE_KEY = "concurrency_remaining"
"""Where the dependency leaves the figure for ``ConcurrencyHeaders`` (the request's ``scope["state"]``)."""


@asynccontextmanager
async def write_slot(
    request: Request, integration_id: str, *, in_write: bool = False
) -> AsyncIterator[SlotInWrite | None]:
    """Hold one of the integration's slots for the block, or raise ``ConcurrencyLimitExceeded`` (429).

    ``in_write``: the block's write can take the slot in its own transaction (nothing slow comes before
    it); where the backend allows it (``Slots.takes_in_transaction``), the block gets the ``SlotInWrite``
    to hand to the write instead, and nothing is taken here. Sets the request's ``Concurrency-Remaining``."""
    slots: Slots = request.app.state.concurrency
    if in_write and slots.takes_in_transaction:
        deferred = SlotInWrite(integration_key(integration_id), slots.limit)
        try:
            yield deferred
        finally:
            if deferred.remaining is not None:
                request.state.concurrency_remaining = deferred.remaining
        return
    slot, remaining = await slots.acquire(integration_id)
    request.state.concurrency_remaining = remaining
    if slot is None:
        raise ConcurrencyLimitExceeded(limit_message(slots.limit))
    try:
        yield None
    finally:
        await slots.release(slot)


async def _write_slot(request: Request, integration: IntegrationDep) -> AsyncIterator[None]:
    async with write_slot(request, integration.id):
        yield


WriteSlotDep = Annotated[None, Depends(_write_slot, scope="function")]
"""Holds one of the integration's in-flight write slots for the route's duration (released before the
response is sent)."""


def stamp_remaining(request: Request, response: Any) -> Any:
    """``response`` with the request's ``Concurrency-Remaining``, if it asked for a write slot: for the answers
    made outside ``ConcurrencyHeaders`` (the unexpected-error handler runs in Starlette's outermost layer)."""
    remaining = request.scope.get("state", {}).get(STATE_KEY)
    if remaining is not None:
        response.headers["concurrency-remaining"] = str(remaining)
    return response


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
