"""The admin key check: ``Authorization: Bearer <ASSESSMENT_HUB_ADMIN_API_KEY>``.

The admin key and vendor API keys are separate: a vendor key is never an admin key, and the admin key
is not a vendor key. Every failure is 401 ``PLATFORM.AUTHENTICATION_INVALID``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from assessment_hub.admin.keys import admin_fingerprint, admin_key_matches
from assessment_hub.errors import AuthenticationInvalid
from assessment_hub.integrations.service import bearer_token


async def require_admin(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    """Pass when the bearer key is the admin credential (``admin.keys``: the configured key, or the
    development key ``serve`` created); raise otherwise. Async: no I/O (the stored key's hash is read at
    start-up into ``app.state.admin_key_hash``), so it runs on the event loop."""
    settings = request.app.state.settings
    stored = getattr(request.app.state, "admin_key_hash", None)
    if admin_fingerprint(settings, stored) is None:
        raise AuthenticationInvalid(
            "The admin API is disabled: no admin key is configured (set ASSESSMENT_HUB_ADMIN_API_KEY)."
        )
    key = bearer_token(authorization, "admin api key")
    if not admin_key_matches(settings, stored, key):
        raise AuthenticationInvalid("The admin API key is not valid.")


AdminDep = Depends(require_admin)
"""Put in a router's ``dependencies`` so it runs before any body is read."""
