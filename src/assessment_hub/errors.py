"""One exception hierarchy, mapped to the Kombo error envelope in one place.

Envelope (kombo-contract.md §3.2): ``{"status": "error", "error": {"code", "title", "message", "log_url"}}``
with all four keys present. ``code`` is always from the official enum; general endpoints
(``/check-api-key``, ``/integrations/*``) only ever use ``PLATFORM.*`` codes, and every code below is one.
Services raise these; routes never build error bodies themselves.
"""

from __future__ import annotations

import re
from typing import Any

import structlog
from pydantic import ValidationError

# The PLATFORM.* codes of the official enum (kombo-contract.md §3.2), the only ones the hub emits.
AUTHENTICATION_INVALID = "PLATFORM.AUTHENTICATION_INVALID"
INTEGRATION_NOT_FOUND = "PLATFORM.INTEGRATION_NOT_FOUND"
INPUT_INVALID = "PLATFORM.INPUT_INVALID"
UNKNOWN_ERROR = "PLATFORM.UNKNOWN_ERROR"
RATE_LIMIT_EXCEEDED = "PLATFORM.RATE_LIMIT_EXCEEDED"
CONCURRENCY_LIMIT_EXCEEDED = "PLATFORM.CONCURRENCY_LIMIT_EXCEEDED"


class HubError(Exception):
    """Base of every error the API answers with; ``status_code`` is the HTTP status."""

    status_code = 500
    code = UNKNOWN_ERROR
    title = "Unknown error"
    headers: dict[str, str] | None = None
    """Extra response headers (e.g. ``Retry-After``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AuthenticationInvalid(HubError):
    status_code = 401
    code = AUTHENTICATION_INVALID
    title = "Authentication invalid"


class IntegrationNotFound(HubError):
    status_code = 404
    code = INTEGRATION_NOT_FOUND
    title = "Integration not found"


class InputInvalid(HubError):
    status_code = 400
    code = INPUT_INVALID
    title = "Input invalid"


class NotFound(InputInvalid):
    """A resource named in the path or body does not exist (unknown order, unknown route)."""

    status_code = 404
    title = "Not found"


class MethodNotAllowed(InputInvalid):
    status_code = 405
    title = "Method not allowed"


class PayloadTooLarge(InputInvalid):
    status_code = 413
    title = "Payload too large"


class UrlTooLong(InputInvalid):
    """The request target is longer than ``kit.url_limit.MAX_URL_BYTES``."""

    status_code = 414
    title = "URI too long"


class UnsupportedMediaType(InputInvalid):
    status_code = 415
    title = "Unsupported media type"


class DatabaseBusy(HubError):
    """The database's write lock stayed taken past ``SQLITE_BUSY_TIMEOUT_MS`` (e.g. a long ``sandbox seed``), or
    a read on the event loop ran past ``READ_STATEMENT_TIMEOUT_MS``: nothing was stored and the request can be
    sent again. 429 with ``PLATFORM.CONCURRENCY_LIMIT_EXCEEDED``, the official code that means "too many writes
    at once" (kombo-contract.md §3.2: that code is a 429), and ``Retry-After: 1``."""

    status_code = 429
    code = CONCURRENCY_LIMIT_EXCEEDED
    title = "Database busy"
    headers = {"Retry-After": "1"}


class ConcurrencyLimitExceeded(HubError):
    """All of an integration's ``CONCURRENCY_LIMIT`` write slots are in flight (Kombo's 30 per integration,
    kombo-contract.md §10): 429, retry after a second."""

    status_code = 429
    code = CONCURRENCY_LIMIT_EXCEEDED
    title = "Concurrency limit exceeded"
    headers = {"Retry-After": "1"}


def is_database_busy(exc: BaseException) -> bool:
    """True for SQLite's "database is locked" (raised by SQLite or by the write gate), wrapped or not."""
    import sqlite3

    from sqlalchemy.exc import OperationalError

    orig = exc.orig if isinstance(exc, OperationalError) else exc
    return isinstance(orig, sqlite3.OperationalError) and "database is locked" in str(orig)


class DatabaseUnavailable(HubError):
    """The database could not be reached (refused or dropped connections, a missing SQLite file), or no
    connection to it could be had (``is_out_of_connections``). 503 with Retry-After: nothing was changed and the same request can be sent again;
    Kombo's contract counts a plain 503 as safe to retry (kombo-contract.md, error handling)."""

    status_code = 503
    title = "Database unavailable"
    headers = {"Retry-After": "2"}


def is_database_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` (wrapped by SQLAlchemy or not) says the database is out of reach rather than that
    a statement failed: PostgreSQL's connection-level errors (psycopg ``OperationalError``: SQLSTATE classes
    08, 53, 57P01-57P03, and refused connects), an invalidated connection, and SQLite's "unable to open
    database file". (A pool time-out and a connection limit are ``is_out_of_connections``'s, asked first.)"""
    import sqlite3

    import psycopg
    from sqlalchemy.exc import DBAPIError

    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    if isinstance(orig, psycopg.OperationalError):
        return getattr(orig, "sqlstate", None) != "57014"  # a cancelled statement is is_statement_timeout's
    return isinstance(orig, sqlite3.OperationalError) and "unable to open database file" in str(orig)


_CONNECTION_LIMIT_MESSAGES = ("too many clients", "too many connections", "connection slots are reserved")
"""PostgreSQL's refusals of a new connection for a connection limit (SQLSTATE 53300: ``max_connections``, a
role's or a database's ``CONNECTION LIMIT``); psycopg gives a failed connect no SQLSTATE, only the message."""


def is_out_of_connections(exc: BaseException) -> bool:
    """True when no database connection could be had for a limit rather than an outage: SQLAlchemy's pool
    time-out (all ``DB_POOL_SIZE`` + ``DB_MAX_OVERFLOW`` in use for ``DB_POOL_TIMEOUT_S``) or PostgreSQL refusing
    a connection for a connection limit (``_CONNECTION_LIMIT_MESSAGES``), wrapped by SQLAlchemy or not."""
    import psycopg
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    if isinstance(exc, PoolTimeout):
        return True
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    if not isinstance(orig, psycopg.OperationalError):
        return False
    text = str(orig).lower()
    return getattr(orig, "sqlstate", None) == "53300" or any(m in text for m in _CONNECTION_LIMIT_MESSAGES)


def database_problem(exc: BaseException) -> tuple[str, HubError] | None:
    """What to answer for an exception that says the database cannot serve the request now, and the log
    event that records it; None for any other exception (a fault: 500). In every case nothing of the request
    was committed (each is raised before or instead of the commit), so the answer says so and invites the
    same request again:

    - ``statement_timeout``: a read on the event loop past ``READ_STATEMENT_TIMEOUT_MS``: 429 ``DatabaseBusy``;
    - ``database_busy``: SQLite's write lock past ``SQLITE_BUSY_TIMEOUT_MS``: 429 ``DatabaseBusy``;
    - ``database_out_of_connections``: ``is_out_of_connections``: 503 ``DatabaseUnavailable``;
    - ``database_unavailable``: ``is_database_unavailable`` (refused or dropped connections...): 503."""
    if is_statement_timeout(exc):
        return "statement_timeout", DatabaseBusy(
            "The database did not answer within READ_STATEMENT_TIMEOUT_MS; nothing was changed. "
            "Send the request again in a moment."
        )
    if is_database_busy(exc):
        return "database_busy", DatabaseBusy(
            "The database stayed busy with another writer past the busy timeout; "
            "nothing was stored. Send the request again in a moment."
        )
    if is_out_of_connections(exc):
        return "database_out_of_connections", DatabaseUnavailable(
            "The hub has no free database connection right now (all of this process's are in use, or "
            "PostgreSQL refused a new one for its connection limit); nothing was changed. Try again shortly."
        )
    if is_database_unavailable(exc):
        return "database_unavailable", DatabaseUnavailable(
            "The hub cannot reach its database right now; nothing was changed. Try again shortly."
        )
    return None


UNEXPECTED_MESSAGE = "An unexpected error occurred in the hub; the operator can find it in the server log."


def answer_for_exception(exc: Exception, method: str, path: str) -> HubError:
    """The error to answer an exception no route handled with, logged: a ``database_problem`` as its warning
    (event, method, path, the error's first line; no traceback), anything else as ``unhandled_error`` with its
    traceback and a 500 ``HubError`` that points to the server log. The vendor API renders it as the Kombo
    envelope (``app``), the console as an HTML page (``console.web``)."""
    log = structlog.get_logger("assessment_hub")
    problem = database_problem(exc)
    if problem is not None:
        event, error = problem
        log.warning(event, method=method, path=path, error=first_line(exc))
        return error
    log.exception("unhandled_error", method=method, path=path)
    return HubError(UNEXPECTED_MESSAGE)


def first_line(exc: BaseException) -> str:
    """The exception's message, first line, for a log field (SQLAlchemy appends the statement and a link)."""
    return (str(exc).splitlines() or [type(exc).__name__])[0]


def is_statement_timeout(exc: BaseException) -> bool:
    """True for PostgreSQL's cancelled statement (``statement_timeout``, SQLSTATE 57014), wrapped or not."""
    from sqlalchemy.exc import DBAPIError

    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    return getattr(orig, "sqlstate", None) == "57014"


def error_body(code: str, title: str, message: str) -> dict[str, Any]:
    """The Kombo error envelope; ``log_url`` names the request's id (``Settings.log_url_template``) when
    answering a request, so the operator finds its log lines; null elsewhere."""
    from assessment_hub.request_context import current_log_url

    return {
        "status": "error",
        "error": {"code": code, "title": title, "message": message, "log_url": current_log_url()},
    }


def describe_validation_error(exc: Any, *, limit: int = 5) -> str:
    """Turn a pydantic ``ValidationError`` (or FastAPI's ``RequestValidationError``) into one readable
    message naming each field and rule.

    ``attachments[0].content_type: content_type 'pdf' must look like type/subtype``.
    """
    parts: list[str] = []
    # FastAPI's RequestValidationError (query, path, header) has errors() without include_url.
    errors = exc.errors(include_url=False) if isinstance(exc, ValidationError) else exc.errors()
    for error in errors[:limit]:
        loc = ""
        for item in error.get("loc", ()):
            if isinstance(item, int):
                loc += f"[{item}]"
            elif item in ("TEXT", "SUB_RESULT", "LEGACY", "function-after", "function-before"):
                continue
            else:
                loc += f".{item}" if loc else str(item)
        message = re.sub(r" or instance of \w+$", "", error.get("msg", "is invalid"))
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        if error.get("type") == "json_invalid":
            loc, message = "body", f"is not valid JSON ({error.get('ctx', {}).get('error', 'parse error')})"
        elif error.get("type") == "missing":
            message = "is required"
        parts.append(f"{loc}: {message}" if loc else message)
    if len(errors) > limit:
        parts.append(f"and {len(errors) - limit} more")
    return "Invalid request body: " + "; ".join(parts)
