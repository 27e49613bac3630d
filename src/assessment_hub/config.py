"""Settings, read from the environment (prefix ``ASSESSMENT_HUB_``) and validated at start-up.

Every field has a sensible default for the embedded set-up (SQLite in the working directory).
A bad value stops the process with a message naming the variable, never a half-working server.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Hub configuration.

    Source: environment variables ``ASSESSMENT_HUB_<FIELD>`` (case-insensitive), then defaults.
    """

    model_config = SettingsConfigDict(env_prefix="ASSESSMENT_HUB_", extra="ignore")

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
    sqlite_busy_timeout_ms: int = Field(default=30_000, ge=0)

    @field_validator("database_url")
    @classmethod
    def _normalize_db_url(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be empty")
        for prefix in ("postgresql://", "postgres://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix):]
        if not (value.startswith("sqlite") or value.startswith("postgresql+")):
            raise ValueError("only SQLite (sqlite:///path) and PostgreSQL (postgresql://...) are supported")
        return value

    @cached_property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
