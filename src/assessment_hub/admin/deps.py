"""The admin key check: ``Authorization: Bearer <ASSESSMENT_HUB_ADMIN_API_KEY>``.

The admin key and vendor API keys are separate: a vendor key is never an admin key, and the admin key
is not a vendor key. Every failure is 401 ``PLATFORM.AUTHENTICATION_INVALID``.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, Request

from assessment_hub.errors import AuthenticationInvalid
from assessment_hub.integrations.service import bearer_token


async def require_admin(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    """Pass when the bearer key equals the configured admin key (constant-time); raise otherwise.
    Async: no I/O, so it runs on the event loop instead of taking a threadpool thread."""
    configured = request.app.state.settings.admin_api_key
    if configured is None:
        raise AuthenticationInvalid(
            "The admin API is disabled: no admin key is configured (set ASSESSMENT_HUB_ADMIN_API_KEY)."
        )
    key = bearer_token(authorization, "admin api key")
    if not hmac.compare_digest(key.encode(), configured.get_secret_value().encode()):
        raise AuthenticationInvalid("The admin API key is not valid.")


AdminDep = Depends(require_admin)
"""Put in a router's ``dependencies`` so it runs before any body is read."""
