"""A database URL and a connection failure, on one line each, for messages (no password, no traceback)."""

from __future__ import annotations


def display_url(database_url: str) -> str:
    """``database_url`` with its password hidden (``postgresql+psycopg://hub:***@db/hub``); unchanged if it
    does not parse."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(database_url).render_as_string(hide_password=True)
    except Exception:
        return database_url


def connection_error(exc: BaseException) -> str:
    """The driver's reason for a failed connection or statement, whitespace folded onto one line
    (``connection failed: ... FATAL: too many connections for role "hub"``); the exception's class name if
    it has no text."""
    from sqlalchemy.exc import DBAPIError

    reason = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    return " ".join(str(reason).split()) or type(reason).__name__
