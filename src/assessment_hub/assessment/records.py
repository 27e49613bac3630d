"""Plain records of what the result write path stored (``service.record_result`` returns one).

They hold exactly the values inserted into ``result_revisions`` and ``result_attachments`` (same names as
the columns of ``ResultRevisionRow`` and ``AttachmentRow``), and fit ``connectors.snapshots.RevisionFields``.
Plain ``slots`` dataclasses, not ORM instances: building an instrumented ``ResultRevisionRow`` costs more
than its INSERT (bench/NOTES.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(slots=True, frozen=True)
class AttachmentRecord:
    """One stored attachment of a revision: its bytes are at ``sha256`` in the attachment store."""

    id: str
    revision_id: str
    position: int
    name: str
    content_type: str | None
    sha256: str
    size_bytes: int
    source_url: str | None


@dataclass(slots=True, frozen=True)
class RevisionRecord:
    """One stored result revision (immutable once stored), with its attachments in order."""

    id: str
    order_id: str
    revision: int
    status: str
    """``kit.states.ResultStatus``."""
    score: float | None
    max_score: float | None
    result_url: str
    completed_at: datetime | None
    attributes: list[dict[str, Any]]
    remote_fields: dict[str, Any] | None
    warnings: list[str]
    created_at: datetime
    attachments: list[AttachmentRecord] = field(default_factory=list)
