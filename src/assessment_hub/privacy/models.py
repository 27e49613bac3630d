"""The erasure audit: one row per erasure, saying when, by whom and which orders; never the erased data."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from assessment_hub.db.base import Base, JSONType, UTCDateTime


class ErasureRow(Base):
    """An erasure of candidates' personal data from some orders.

    ``reason``: ``request`` (``data erase``, ``POST /admin/erasures``) or ``retention`` (``RETENTION_DAYS``).
    ``actor``: who asked, e.g. ``admin-api key sha256:1a2b3c4d`` (a fingerprint, never the key), ``cli user
    root``, ``retention RETENTION_DAYS=30``. The email that was asked for is not kept."""

    __tablename__ = "erasures"

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    reason: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(160))
    order_ids: Mapped[list[str]] = mapped_column(JSONType)
    order_count: Mapped[int] = mapped_column(Integer)
