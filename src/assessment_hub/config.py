"""Settings, read from the environment (prefix ``ASSESSMENT_HUB_``) and validated at start-up.

Every field has a sensible default for the embedded set-up (SQLite in the working directory).
A bad value stops the process with a message naming the variable, never a half-working server.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from assessment_hub.kit.crypto import Cipher, check_key


class Settings(BaseSettings):
    """Hub configuration.

    Source: environment variables ``ASSESSMENT_HUB_<FIELD>`` (case-insensitive), then defaults.
    """

    model_config = SettingsConfigDict(env_prefix="ASSESSMENT_HUB_", extra="ignore", allow_inf_nan=False)
    # nan and inf are no duration or size: "Input should be a finite number", naming the variable

    environment: Literal["development", "production"] = "development"
    database_url: str = "sqlite:///./assessment-hub.db"
    """Any SQLAlchemy URL. ``postgresql://`` is taken as ``postgresql+psycopg://``."""
    attachments_dir: Path = Path("./attachments")
    """Where attachment bytes are stored, one file per sha256."""
    allow_private_network: bool = False
    """Allow ``attachments[].data_url`` to point at loopback/private/link-local addresses."""
    data_url_timeout_s: float = Field(default=4.0, gt=0, le=60)
    """Total time allowed to download one ``data_url`` attachment, in seconds."""
    max_attachment_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    """Largest decoded attachment accepted, in bytes (per attachment)."""
    max_body_bytes: int = Field(default=40 * 1024 * 1024, gt=0)
    """Largest request body accepted, in bytes (5 base64 attachments need room)."""
    header_timeout_s: float = Field(default=10.0, gt=0, le=300)
    """A connection must finish sending its request headers within this many seconds of opening (or of the
    previous response on it), or it is closed (slow or silent clients would otherwise be held open for ever)."""
    sqlite_busy_timeout_ms: int = Field(default=30_000, ge=0)
    read_statement_timeout_ms: int = Field(default=5_000, ge=1)
    """PostgreSQL: the longest a statement of a read on the event loop may run (the order listing, the check
    before fetching attachments), milliseconds; past it the request is answered 429 with ``Retry-After``."""
    db_pool_size: int = Field(default=10, ge=1, le=1000)
    """PostgreSQL: connections each process keeps open in its main pool (``db.engine.build_engine``)."""
    db_max_overflow: int = Field(default=5, ge=0, le=1000)
    """PostgreSQL: connections a process may open beyond ``db_pool_size`` while all of those are in use (closed
    again when given back). A process holds at most ``db_pool_size + db_max_overflow`` in its main pool."""
    db_pool_timeout_s: float = Field(default=10.0, gt=0, le=300)
    """PostgreSQL: how long a thread waits for a free pooled connection, seconds; past it the request is answered
    503 with ``Retry-After`` (nothing changed)."""
    lookup_cache_s: float = Field(default=5.0, ge=0)
    """How long a server process trusts an API key or integration it looked up, in seconds (0: look up on every
    request). A key revoked or an integration deactivated through another process is refused here within this time."""

    concurrency_limit: int = Field(default=30, ge=1, le=1024)
    """Write requests (result PUT, packages PUT) one integration may have in flight at once, across all
    processes; the next gets 429 ``PLATFORM.CONCURRENCY_LIMIT_EXCEEDED`` (Kombo's limit is 30)."""

    secret_key: SecretStr | None = None
    """Fernet key encrypting connector credentials and webhook secrets at rest and signing attachment links;
    required in production and with PostgreSQL. Unset with SQLite: the key file beside the database
    (``<database>-secret.key``, created at the first start; ``kit/secret_keys.py``)."""
    previous_secret_keys: SecretStr | None = None
    """Comma-separated Fernet keys that still decrypt (and verify links) but never encrypt: the old key while
    ``assessment-hub secret-key rotate`` moves everything to ``SECRET_KEY``."""
    admin_api_key: SecretStr | None = None
    """Bearer key for ``/admin/*``; the admin API answers 401 to everyone while it is unset."""
    public_base_url: str | None = None
    """How ATSs and browsers reach this hub (e.g. https://hub.example.com); defaults to the request's URL."""

    # Connect (the customer's own set-up page, docs/connect.md)
    connect_vendor_name: str | None = None
    """The vendor's name shown on the connect page ("Connect your ATS to <name>"); unset: "your assessment provider"."""
    connect_frame_ancestors: str = "*"
    """Who may show the connect page in an iframe: the CSP ``frame-ancestors`` sources, space-separated (e.g.
    ``https://app.vendor.example``). ``*`` (any web page) is safe because the link's token guards the page."""

    # Delivery (outbox worker). Durations in seconds.
    delivery_timeout_s: float = Field(default=10.0, gt=0, le=120)
    """Timeout of one outbound webhook or write-back request."""
    inline_timeout_s: float = Field(default=8.0, gt=0, le=25)
    """How long the vendor has to answer an inline order (ATSs give up after 15-30 s)."""
    retry_base_s: float = Field(default=5.0, gt=0)
    """First retry delay after a transient failure (timeout, connection error, 5xx); doubles each time."""
    retry_cap_s: float = Field(default=3600.0, gt=0)
    """Longest delay between two attempts."""
    retry_max_age_s: float = Field(default=48 * 3600.0, gt=0)
    """After this long since the message was created, a failing delivery is dead."""
    retry_max_attempts: int = Field(default=200, ge=1)
    rate_limit_default_s: float = Field(default=30.0, gt=0)
    """Delay after a 429 that carries no Retry-After."""
    needs_human_delay_s: float = Field(default=900.0, gt=0)
    """Delay between attempts after a configuration error (bad credentials, missing setting)."""
    needs_human_max_attempts: int = Field(default=3, ge=1)
    """Attempts after which a configuration error makes the delivery dead (an operator retries it)."""
    worker_concurrency: int = Field(default=8, ge=1, le=64)
    """Deliveries one worker process sends at once."""
    worker_poll_s: float = Field(default=0.25, gt=0)
    """How often an idle worker looks for due deliveries (new ones in the same process wake it at once)."""
    worker_lease_s: float = Field(default=120.0, gt=0)
    """A claimed delivery whose worker vanished is claimable again after this long."""
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    """``assessment-hub worker`` only: serve this process's Prometheus counters at
    ``http://WORKER_METRICS_HOST:PORT/metrics`` (``ops.metrics_server``); unset: not served. The worker that
    ``serve`` starts never reads it (its counters are in the API's ``/metrics``)."""
    worker_metrics_host: str = "127.0.0.1"
    """The interface ``worker_metrics_port`` listens on (``0.0.0.0``: every IPv4 interface)."""

    # Operations: logs, health, retention (docs/operations.md).
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    """Lowest level written to the log (stderr). ``LOG_LEVEL`` is read case-insensitively."""
    log_format: Literal["json", "console"] = "console"
    """``json``: one JSON object per line (for a log collector); ``console``: ``key=value`` text for people."""
    log_url_template: str = "urn:assessment-hub:request:{request_id}"
    """The ``log_url`` of error envelopes; ``{request_id}`` is replaced by the request's id (``X-Request-Id``).
    Point it at a log search, e.g. ``https://logs.example.com/search?q={request_id}``."""
    worker_heartbeat_s: float = Field(default=5.0, gt=0, le=300)
    """How often a delivery worker records that its claim loop is turning (``worker_heartbeats``)."""
    ready_heartbeat_max_age_s: float = Field(default=60.0, gt=0)
    """``/ready`` answers 503 when no delivery worker's heartbeat is younger than this."""
    retention_days: int | None = Field(default=None, ge=1)
    """Orders not changed for this many days have their candidate data erased by the worker (unset: kept)."""

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_level(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_url_template")
    @classmethod
    def _template_names_request_id(cls, value: str) -> str:
        if "{request_id}" not in value:
            raise ValueError("must contain {request_id}")
        try:
            value.format(request_id="x")
        except (KeyError, IndexError, ValueError):
            raise ValueError("may contain no placeholder other than {request_id}") from None
        return value

    @field_validator("database_url")
    @classmethod
    def _normalize_db_url(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be empty")
        for prefix in ("postgresql://", "postgres://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        if not (value.startswith("sqlite") or value.startswith("postgresql+")):
            raise ValueError("only SQLite (sqlite:///path) and PostgreSQL (postgresql://...) are supported")
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError("is not a database URL (sqlite:///path or postgresql://user:pass@host:5432/db)") from None
        if url.get_backend_name() == "sqlite" and (
            url.database in (None, "", ":memory:")
            or url.database.startswith("file::memory:")
            or url.query.get("mode") == "memory"
        ):
            raise ValueError(
                "an in-memory SQLite database cannot be shared by the server, workers and the CLI; "
                "give a file (sqlite:///path/to/hub.db)"
            )
        return value

    @field_validator("connect_frame_ancestors")
    @classmethod
    def _frame_ancestors(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("must name at least one source (* for any site, 'none' for no framing)")
        if any(c in value for c in ';,"'):
            raise ValueError("must be CSP sources separated by spaces (no ';', ',' or '\"')")
        return value

    @field_validator("worker_metrics_host")
    @classmethod
    def _metrics_host(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be empty (127.0.0.1 for this machine, 0.0.0.0 for every interface)")
        return value

    @field_validator("secret_key", "previous_secret_keys")
    @classmethod
    def _fernet_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            keys = [key.strip() for key in value.get_secret_value().split(",") if key.strip()]
            if not keys:
                raise ValueError("must not be empty (leave it unset instead)")
            for key in keys:
                check_key(key)
        return value

    @model_validator(mode="after")
    def _production_needs_secrets(self) -> Settings:
        if self.environment == "production" and self.secret_key is None:
            raise ValueError(
                "ASSESSMENT_HUB_SECRET_KEY is required in production (generate one with "
                "`assessment-hub generate-secret-key`)"
            )
        if self.secret_key is not None and "," in self.secret_key.get_secret_value():
            raise ValueError(
                "ASSESSMENT_HUB_SECRET_KEY is one key; older ones go in ASSESSMENT_HUB_PREVIOUS_SECRET_KEYS"
            )
        if self.worker_lease_s <= self.delivery_timeout_s:
            raise ValueError("ASSESSMENT_HUB_WORKER_LEASE_S must be longer than ASSESSMENT_HUB_DELIVERY_TIMEOUT_S")
        if self.ready_heartbeat_max_age_s <= self.worker_heartbeat_s:
            raise ValueError(
                "ASSESSMENT_HUB_READY_HEARTBEAT_MAX_AGE_S must be longer than ASSESSMENT_HUB_WORKER_HEARTBEAT_S"
            )
        return self

    @cached_property
    def cipher(self) -> Cipher:
        """The key ring's cipher (``kit/secret_keys.py``); raises ``SecretKeyError`` naming the fix (no key
        with PostgreSQL, an unreadable key file)."""
        from assessment_hub.kit.secret_keys import cipher_for

        return cipher_for(self)

    @cached_property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
