"""Request dependencies: the caller's API key and the integration named by ``X-Integration-Id``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header

from assessment_hub.db.session import ReadSessionDep
from assessment_hub.errors import InputInvalid
from assessment_hub.integrations.models import ApiKeyRow, IntegrationRow
from assessment_hub.integrations.service import authenticate, get_active_integration


def _api_key(session: ReadSessionDep, authorization: Annotated[str | None, Header()] = None) -> ApiKeyRow:
    key = authenticate(session, authorization)
    session.expunge(key)
    session.rollback()  # hand the connection back to the pool while the request does other work
    return key


ApiKeyDep = Annotated[ApiKeyRow, Depends(_api_key)]


def _integration(
    _key: ApiKeyDep,
    session: ReadSessionDep,
    x_integration_id: Annotated[str | None, Header()] = None,
) -> IntegrationRow:
    if not x_integration_id:
        raise InputInvalid("Missing X-Integration-Id header; /assessment endpoints act on one integration.")
    integration = get_active_integration(session, x_integration_id)
    session.expunge(integration)
    session.rollback()  # hand the connection back to the pool while the request does other work
    return integration


IntegrationDep = Annotated[IntegrationRow, Depends(_integration)]
"""The live, ACTIVE integration of an authenticated ``/assessment/*`` request."""
