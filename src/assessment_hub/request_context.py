"""The request being handled, as context variables: its id (``X-Request-Id``) and its error envelopes'
``log_url``. Set by ``ops.access`` for each HTTP request; read by the log set-up (``kit.logging``), the
error envelope (``errors.error_body``) and the outbox row default (``OutboxRow.request_id``). Threads that
copy the request's context (the threadpool, the SQLite writer) see them too; elsewhere they are None."""

from __future__ import annotations

from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("assessment_hub_request_id", default=None)
log_url_var: ContextVar[str | None] = ContextVar("assessment_hub_log_url", default=None)


def current_request_id() -> str | None:
    """The id of the request being handled, or None (e.g. in the worker, the CLI)."""
    return request_id_var.get()


def current_log_url() -> str | None:
    """The ``log_url`` for an error envelope of the request being handled, or None."""
    return log_url_var.get()
