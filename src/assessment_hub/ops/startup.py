"""An API process that cannot start says why on one line, and ``serve`` exits with status 2.

``serve`` checks the database and the secret key before it prints its serving line, but each API process
opens the database again in its lifespan (``app.create_app``): a PostgreSQL connection limit that the
delivery worker's process used up in between, or a database that went away, failed there with Starlette's
~150-line traceback in uvicorn's "startup failed" record and exit status 3. Now such a failure is a
``StartRefused`` whose text is that record (one line, the same words as the CLI's own check), and the
serving forms turn uvicorn's start-up failure into exit status 2, as docs/configuration.md promises for a
database that cannot be opened.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from assessment_hub.db.describe import connection_error, display_url
from assessment_hub.errors import database_problem
from assessment_hub.kit.secret_keys import SecretKeyError


class StartRefused(Exception):
    """Start-up cannot go on; ``str()`` is the one line that says why and what to check."""


def refusal(exc: BaseException, database_url: str) -> StartRefused | None:
    """The ``StartRefused`` for ``exc`` if it is a database that cannot be used now (``errors.database_problem``:
    refused or dropped connections, a connection limit reached, a busy SQLite file); None for any other
    exception (a fault: its traceback is kept; a ``SecretKeyError`` is raised as it is, already one line)."""
    if database_problem(exc) is not None:
        return StartRefused(
            f"cannot open the database at {display_url(database_url)}: {connection_error(exc)} (check "
            "ASSESSMENT_HUB_DATABASE_URL, and that PostgreSQL's connection limit leaves room for every hub "
            'process: docs/deployment.md, "Connections")'
        )
    return None


def one_line_refusals(lifespan: Callable[..., Any]) -> Callable[..., Any]:
    """``lifespan`` (the router's ASGI lifespan handler: ``scope, receive, send``) whose
    ``lifespan.startup.failed`` message is the line of a ``StartRefused`` or of a ``SecretKeyError`` (a key
    that cannot read the stored credentials) instead of the traceback Starlette puts there; any other
    start-up failure keeps its traceback. Starlette sends that message while it handles the exception, so
    ``sys.exc_info()`` holds it here. Only lifespan scopes reach it: no cost per request."""

    async def wrapped(scope: dict, receive: Any, send: Any) -> None:
        async def send_short(message: dict) -> None:
            failed = sys.exc_info()[1]
            if message["type"] == "lifespan.startup.failed" and isinstance(failed, StartRefused | SecretKeyError):
                message = {**message, "message": str(failed)}
            await send(message)

        await lifespan(scope, receive, send_short)

    return wrapped
