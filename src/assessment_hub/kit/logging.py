"""Logging set-up: structlog with plain-text tracebacks.

Rich tracebacks (structlog's default when ``rich`` is installed) take around a second to render, on the
event loop; under load a burst of errors then stalls every request. Plain tracebacks cost microseconds.
"""

from __future__ import annotations

import structlog


def configure_logging() -> None:
    """Idempotent: the same configuration on every call."""
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback),
        ],
        cache_logger_on_first_use=True,
    )
