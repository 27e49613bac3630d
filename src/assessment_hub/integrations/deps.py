"""Request dependencies: the caller's API key and the integration named by ``X-Integration-Id``.

Both are looked up once and then trusted for ``lookup_cache_s`` seconds (``app.state.lookups``): the
vendor API's hot paths then touch the database only for their own work. An integration deactivated or
deleted through this process is forgotten once that change has committed (and a lookup that raced it is
not kept); through another process (the CLI, another ``serve`` worker), and for revoked keys, it takes
effect here within ``lookup_cache_s``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from assessment_hub.errors import InputInvalid
from assessment_hub.integrations.lookups import Lookups, TtlCache
from assessment_hub.integrations.models import ApiKeyRow, IntegrationRow
from assessment_hub.integrations.service import authenticate, bearer_token, get_active_integration, hash_key

Row = TypeVar("Row", ApiKeyRow, IntegrationRow)


async def _cached(request: Request, cache: TtlCache, key: str, find: Callable[[Session], Row]) -> Row:
    """``cache``'s row for ``key``, else ``find(session)`` on the threadpool, detached and kept (unless a
    ``forget`` came while it was being found: see ``TtlCache.put``)."""
    cached = cache.get(key)
    if cached is not None:
        return cached

    def load() -> Row:
        with request.app.state.read_sessions() as session:
            row = find(session)
            session.expunge(row)
            return row

    generation = cache.generation()
    row = await run_in_threadpool(load)
    cache.put(key, row, generation)
    return row


async def _api_key(request: Request, authorization: Annotated[str | None, Header()] = None) -> ApiKeyRow:
    key_hash = hash_key(bearer_token(authorization))
    lookups: Lookups = request.app.state.lookups
    return await _cached(request, lookups.api_keys, key_hash, lambda session: authenticate(session, authorization))


ApiKeyDep = Annotated[ApiKeyRow, Depends(_api_key)]


async def _integration(
    request: Request,
    _key: ApiKeyDep,
    x_integration_id: Annotated[str | None, Header()] = None,
) -> IntegrationRow:
    if not x_integration_id:
        raise InputInvalid("Missing X-Integration-Id header; /assessment endpoints act on one integration.")
    lookups: Lookups = request.app.state.lookups
    return await _cached(
        request,
        lookups.integrations,
        x_integration_id,
        lambda session: get_active_integration(session, x_integration_id),
    )


IntegrationDep = Annotated[IntegrationRow, Depends(_integration)]
"""The live, ACTIVE integration of an authenticated ``/assessment/*`` request."""
