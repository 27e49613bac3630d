"""Logging set-up: structlog lines on stderr, ``json`` (one object a line) or ``console`` (``key=value``).

- Our own loggers (``structlog.get_logger``) render straight to stderr; records of the standard library's
  ``logging`` (the worker, the writer, uvicorn when it is told not to configure logging) go through a root
  handler that renders them with the same processors, so every line has one shape.
- The request's id (``X-Request-Id``, set by ``ops.access``) is added to every line written while the
  request is handled, in any thread that copied its context (threadpool, the SQLite writer).
- ``scrub`` runs on every line: values under secret-looking keys are replaced, and email addresses (not a
  URL's ``user@host``), hub API keys (``ahk_...``), webhook secrets (``whsec_...``), bearer tokens and
  secret-looking query parameters are masked wherever they appear (messages, error texts, tracebacks).
  Nothing we log on purpose carries them; this is the net under that rule.
- Tracebacks are plain text: rich tracebacks (structlog's default when ``rich`` is installed) take around a
  second to render, on the event loop; under load a burst of errors then stalls every request.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from typing import Any

import orjson
import structlog

from assessment_hub.request_context import request_id_var

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}

SECRET_KEYS = frozenset(
    {
        "authorization",
        "api_key",
        "admin_api_key",
        "key",
        "password",
        "secret",
        "secret_key",
        "signing_secret",
        "token",
        "cookie",
        "email",
    }
)
"""Keys whose values are never written (``[redacted]``)."""
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_USERINFO_BEFORE = re.compile(r"//(?:[^/@\s:]*:)?$")
"""What ends the text before a URL's user name (``//``) or its hidden password (``//hub:``)."""
_TOKEN = re.compile(r"\b(?:ahk|whsec)_[A-Za-z0-9_-]+|(?i:bearer)\s+\S+")
_QUERY_SECRET = re.compile(r"(?i)([?&](?:token|key|api_key|secret|signature|sig|access_token|password)=)[^&\s\"']+")


def _mask_email(match: re.Match[str]) -> str:
    """``[email]``, unless the match is the ``user@host`` or ``user:***@host`` of a URL (a database URL in a
    start-up line: ``postgresql+psycopg://hub@db.internal/hub``), which is no address of a person."""
    before = match.string[max(0, match.start() - 128) : match.start()]
    return match.group() if _USERINFO_BEFORE.search(before) else "[email]"


def scrub_text(text: str) -> str:
    """``text`` with emails, hub keys, webhook secrets, bearer tokens and secret query values masked."""
    if "@" in text:
        text = _EMAIL.sub(_mask_email, text)
    if "_" in text or "earer" in text:
        text = _TOKEN.sub("[secret]", text)
    if "=" in text:
        text = _QUERY_SECRET.sub(r"\1[secret]", text)
    return text


def scrub(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: see the module docstring."""
    for key, value in event_dict.items():
        if key.lower() in SECRET_KEYS:
            event_dict[key] = "[redacted]"
        elif isinstance(value, str):
            event_dict[key] = scrub_text(value)
    return event_dict


def add_request_id(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    request_id = request_id_var.get()
    if request_id is not None:
        event_dict.setdefault("request_id", request_id)
    return event_dict


class _StderrLogger:
    """Writes each rendered line to the current ``sys.stderr`` in one call, under a lock."""

    _lock = threading.Lock()

    def __init__(self, name: str = "assessment_hub") -> None:
        self.name = name

    def msg(self, message: str) -> None:
        with self._lock:
            stream = sys.stderr
            stream.write(message + "\n")
            stream.flush()

    debug = info = warning = warn = error = critical = exception = fatal = log = msg


def _logger_factory(*args: Any) -> _StderrLogger:
    return _StderrLogger(str(args[0]) if args else "assessment_hub")


def _dumps(obj: Any, **_kw: Any) -> str:
    return orjson.dumps(obj, default=str).decode()


class _RootHandler(logging.StreamHandler):
    """The root handler this module installs (replaced, never stacked, on reconfiguration); it writes to the
    current ``sys.stderr`` (so pytest's capture and redirected streams see it)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(level: str = "info", fmt: str = "console") -> None:
    """Idempotent: the same configuration on every call with the same arguments.

    ``level``: debug | info | warning | error; ``fmt``: json | console (``Settings.log_level``/``log_format``)."""
    numeric = LEVELS.get(level.lower(), logging.INFO)
    renderer: Any = (
        structlog.processors.JSONRenderer(serializer=_dumps)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback)
    )
    shared: list[Any] = [
        structlog.processors.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_request_id,
    ]
    tail: list[Any] = [structlog.processors.StackInfoRenderer(), structlog.processors.format_exc_info, scrub]
    structlog.configure(
        processors=[*shared, *tail, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=_logger_factory,
        cache_logger_on_first_use=False,  # a reconfiguration (another LOG_LEVEL) reaches every logger
    )
    handler = _RootHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *tail, renderer],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _RootHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    # httpx and httpcore log every outbound request at INFO (URLs with tokens; the delivery line says enough),
    # alembic its plugins and steps on every start (a command's output must stay its own)
    for chatty in ("httpx", "httpcore", "alembic"):
        logging.getLogger(chatty).setLevel(max(numeric, logging.WARNING))
