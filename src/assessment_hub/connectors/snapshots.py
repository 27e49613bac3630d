"""Building the snapshots a connector is handed (``OrderSnapshot``, ``ResultSnapshot``, in ``connectors.base``).

One builder per snapshot, used wherever one is made: the delivery worker (``delivery.preparing``, at send
time) and the vendor API's ``PUT .../result`` (``assessment.routes``, for the connector's PUT-time
warnings). Both read the stored rows through the small shapes below (``OrderFields``, ``RevisionFields``,
``AttachmentFields``), so a connector never depends on the orders feature's tables: an ORM row, a Core
``Row`` and the record ``record_result`` returns all fit.

Why the PUT-time snapshot is not the one the worker sends (docs/delivery.md, "Snapshots"):
- the outbox row carries only ids and the worker reloads at send time: it may run in another process
  (``serve --workers N``, ``worker`` processes) and send hours or days later (retries, an operator's
  ``deliveries retry``), so a snapshot held in the API process would be lost or stale;
- attachment links are signed and expire (``kit.links``, 7 days): they are signed when the write-back is
  sent, so a retry carries a link that still works;
- the base URL of those links: PUT time uses the request's (``kit.links.public_base_url``: the
  configured ``PUBLIC_BASE_URL`` or the URL the vendor called), the worker the configured one (or
  ``http://127.0.0.1:8000``); the warnings read neither.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from assessment_hub.config import Settings
from assessment_hub.connectors.base import AttachmentSnapshot, OrderSnapshot, ResultSnapshot
from assessment_hub.kit.links import attachment_link


class OrderFields(Protocol):
    """What an order snapshot is built from (the ``orders`` columns of the same names)."""

    @property
    def id(self) -> str: ...
    @property
    def integration_id(self) -> str: ...
    @property
    def package_id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def candidate(self) -> dict[str, Any]: ...
    @property
    def application(self) -> dict[str, Any]: ...
    @property
    def job(self) -> dict[str, Any]: ...
    @property
    def remote_data(self) -> dict[str, Any] | None: ...
    @property
    def rejection_message(self) -> str | None: ...


class AttachmentFields(Protocol):
    """One stored attachment of a revision (the ``result_attachments`` columns of the same names)."""

    @property
    def name(self) -> str: ...
    @property
    def content_type(self) -> str | None: ...
    @property
    def sha256(self) -> str: ...
    @property
    def size_bytes(self) -> int: ...


class RevisionFields(Protocol):
    """One stored result revision with its attachments in order (``result_revisions``)."""

    @property
    def id(self) -> str: ...
    @property
    def revision(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def score(self) -> float | None: ...
    @property
    def max_score(self) -> float | None: ...
    @property
    def result_url(self) -> str: ...
    @property
    def completed_at(self) -> datetime | None: ...
    @property
    def attributes(self) -> list[dict[str, Any]]: ...
    @property
    def remote_fields(self) -> dict[str, Any] | None: ...
    @property
    def attachments(self) -> Sequence[AttachmentFields]: ...


def order_snapshot(order: OrderFields) -> OrderSnapshot:
    """The order as a connector sees it."""
    return OrderSnapshot(
        id=order.id,
        integration_id=order.integration_id,
        package_id=order.package_id,
        status=order.status,
        candidate=order.candidate,
        application=order.application,
        job=order.job,
        remote_data=order.remote_data,
        rejection_message=order.rejection_message,
    )


def result_snapshot(revision: RevisionFields, settings: Settings, base_url: str) -> ResultSnapshot:
    """The revision as a connector sees it; each attachment gets a signed link under ``base_url``
    (``kit.links.attachment_link``, valid for 7 days from now)."""
    return ResultSnapshot(
        id=revision.id,
        revision=revision.revision,
        status=revision.status,
        score=revision.score,
        max_score=revision.max_score,
        result_url=revision.result_url,
        completed_at=revision.completed_at,
        attributes=revision.attributes,
        remote_fields=revision.remote_fields,
        attachments=[
            AttachmentSnapshot(
                name=a.name,
                content_type=a.content_type,
                sha256=a.sha256,
                size_bytes=a.size_bytes,
                url=attachment_link(settings, base_url, a.sha256, a.name),
            )
            for a in revision.attachments
        ],
    )
