"""Request dependencies: the caller's API key and the integration named by ``X-Integration-Id``.

Both are looked up once and then trusted for ``lookup_cache_s`` seconds (``app.state.lookups``): the
vendor API's hot paths then touch the database only for their own work. An integration deactivated or
deleted through this process is forgotten once that change has committed (and a lookup that raced it is
not kept); through another process (the CLI, another ``serve`` worker), and for revoked keys, it takes
effect here within ``lookup_cache_s``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from starlette.concurrency import run_in_threadpool

from assessment_hub.errors import InputInvalid
from assessment_hub.integrations.lookups import Lookups
from assessment_hub.integrations.models import ApiKeyRow, IntegrationRow
from assessment_hub.integrations.service import authenticate, bearer_token, get_active_integration, hash_key


def _lookups(request: Request) -> Lookups:
    return request.app.state.lookups


async def _api_key(request: Request, authorization: Annotated[str | None, Header()] = None) -> ApiKeyRow:
    key_hash = hash_key(bearer_token(authorization))
    lookups = _lookups(request)
    cached = lookups.api_keys.get(key_hash)
    if cached is not None:
        return cached

    def load() -> ApiKeyRow:
        with request.app.state.read_sessions() as session:
            row = authenticate(session, authorization)
            session.expunge(row)
            return row

    generation = lookups.api_keys.generation()
    row = await run_in_threadpool(load)
    lookups.api_keys.put(key_hash, row, generation)
    return row


ApiKeyDep = Annotated[ApiKeyRow, Depends(_api_key)]


async def _integration(
    request: Request,
    _key: ApiKeyDep,
    x_integration_id: Annotated[str | None, Header()] = None,
) -> IntegrationRow:
    if not x_integration_id:
        raise InputInvalid("Missing X-Integration-Id header; /assessment endpoints act on one integration.")
    lookups = _lookups(request)
    cached = lookups.integrations.get(x_integration_id)
    if cached is not None:
        return cached

    def load() -> IntegrationRow:
        with request.app.state.read_sessions() as session:
            row = get_active_integration(session, x_integration_id)
            session.expunge(row)
            return row

    generation = lookups.integrations.generation()
    row = await run_in_threadpool(load)
    lookups.integrations.put(x_integration_id, row, generation)
    return row


IntegrationDep = Annotated[IntegrationRow, Depends(_integration)]
"""The live, ACTIVE integration of an authenticated ``/assessment/*`` request."""
