"""Attachment bytes: decode inline ``data``, download ``data_url``, and store by sha256.

Source: kombo-contract.md §4.5 (Attachment). ``data_url``s are fetched at once and concurrently on the event
loop, while the PUT is being handled, within one total deadline for all of them (``DATA_URL_TIMEOUT_S``)
and a size cap each; loopback, private, link-local and other non-public addresses are refused unless
``ASSESSMENT_HUB_ALLOW_PRIVATE_NETWORK=true``, and every connection (every redirect hop) goes to the address
that was checked (``kit/address_guard.py``). Every failure is an ``InputInvalid`` naming ``attachments[i]``.
Bytes are written to ``<attachments_dir>/<sha256[:2]>/<sha256>`` (content-addressed, fsynced) before
the database transaction that references them commits.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
from starlette.concurrency import run_in_threadpool

from assessment_hub.assessment.schemas import CONTENT_TYPE_PATTERN, AttachmentIn
from assessment_hub.config import Settings
from assessment_hub.errors import InputInvalid
from assessment_hub.kit.address_guard import DestinationRefused, PinnedTransport, Resolver
from assessment_hub.kit.ids import new_id

MAX_REDIRECTS = 3


@dataclass(frozen=True)
class StoredAttachment:
    name: str
    content_type: str | None
    sha256: str
    size_bytes: int
    source_url: str | None


def new_attachment_rows(revision_id: str, attachments: Sequence[StoredAttachment]) -> list[dict[str, Any]]:
    """The ``attachments`` rows of a new revision, in order (``position`` 0, 1, ...), each with a new id:
    the values both result writes (``sql_sqlite``, ``sql_pg``) insert and return as records."""
    return [
        dict(
            id=new_id(),
            revision_id=revision_id,
            position=index,
            name=a.name,
            content_type=a.content_type,
            sha256=a.sha256,
            size_bytes=a.size_bytes,
            source_url=a.source_url,
        )
        for index, a in enumerate(attachments)
    ]


class AttachmentStore:
    """Content-addressed file store for attachment bytes."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        """Store ``data`` durably; returns its sha256 (hex). Idempotent."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path_for(digest)
        if target.exists():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def read(self, sha256: str) -> bytes:
        return self.path_for(sha256).read_bytes()


async def prepare_attachments(
    attachments: list[AttachmentIn], settings: Settings, store: AttachmentStore, client: httpx.AsyncClient
) -> tuple[list[StoredAttachment], list[str]]:
    """Download every ``data_url`` (``fetch_data_urls``), then decode and store them all (in a worker
    thread: base64 and fsync); all are checked before any is stored.

    Returns the stored attachments (in request order) and warnings for the vendor.
    """
    downloads = await fetch_data_urls(attachments, settings, client)
    return await run_in_threadpool(_decode_and_store, attachments, downloads, settings, store)


async def fetch_data_urls(
    attachments: list[AttachmentIn], settings: Settings, client: httpx.AsyncClient
) -> dict[int, tuple[bytes, str | None]]:
    """Every ``data_url``'s bytes and content type by attachment index, fetched at once on the event loop
    (no thread is held while a slow server answers) within one deadline for them all,
    ``DATA_URL_TIMEOUT_S`` (the vendor's client is waiting: the SDKs give up after 5 s). The first failure,
    in request order, is raised as ``InputInvalid``; the other downloads are cancelled then."""
    tasks = {
        index: asyncio.ensure_future(_download(attachment.data_url, _where(index, attachment), settings, client))
        for index, attachment in enumerate(attachments)
        if attachment.data_url is not None
    }
    if not tasks:
        return {}
    _done, pending = await asyncio.wait(
        tasks.values(), timeout=settings.data_url_timeout_s, return_when=asyncio.FIRST_EXCEPTION
    )
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    failed = next((i for i, task in tasks.items() if task not in pending and task.exception() is not None), None)
    if failed is not None:
        raise tasks[failed].exception()  # type: ignore[misc]
    if pending:
        index = next(i for i, task in tasks.items() if task in pending)
        raise InputInvalid(
            f"{_where(index, attachments[index])}: downloading data_url took longer than "
            f"{settings.data_url_timeout_s:g} s (the time all data_urls of a request share)."
        )
    return {index: task.result() for index, task in tasks.items()}


def _decode_and_store(
    attachments: list[AttachmentIn],
    downloads: dict[int, tuple[bytes, str | None]],
    settings: Settings,
    store: AttachmentStore,
) -> tuple[list[StoredAttachment], list[str]]:
    blobs: list[tuple[AttachmentIn, bytes, str | None]] = []
    warnings: list[str] = []
    for index, attachment in enumerate(attachments):
        where = _where(index, attachment)
        if attachment.data is not None:
            data = _decode_base64(attachment.data, where)
            content_type = attachment.content_type
        else:
            data, fetched_type = downloads[index]
            content_type = attachment.content_type or fetched_type
            if content_type is None:
                warnings.append(
                    f"{where}: no content_type was given and the download had none; the ATS may "
                    "not know how to show it."
                )
        if not data:
            warnings.append(f"{where}: the attachment is empty (0 bytes).")
        if len(data) > settings.max_attachment_bytes:
            raise InputInvalid(f"{where}: larger than the {settings.max_attachment_bytes} byte limit.")
        if content_type == "application/octet-stream":
            warnings.append(
                f"{where}: content_type application/octet-stream tells the ATS nothing; send the real type."
            )
        blobs.append((attachment, data, content_type))

    stored = [
        StoredAttachment(
            name=attachment.name,
            content_type=content_type,
            sha256=store.put(data),
            size_bytes=len(data),
            source_url=attachment.data_url,
        )
        for attachment, data, content_type in blobs
    ]
    return stored, warnings


def data_url_client(settings: Settings, resolver: Resolver | None = None) -> httpx.AsyncClient:
    """The client ``data_url``s are fetched with: connections pinned to checked addresses
    (``kit/address_guard.py``; private ones allowed with ``ALLOW_PRIVATE_NETWORK``)."""
    return httpx.AsyncClient(
        transport=PinnedTransport(resolver, allow_private=settings.allow_private_network),
        timeout=settings.data_url_timeout_s,
        follow_redirects=False,
    )


def _where(index: int, attachment: AttachmentIn) -> str:
    return f"attachments[{index}] ({attachment.name!r})"


def _decode_base64(text: str, where: str) -> bytes:
    compact = "".join(text.split())
    padded = compact + "=" * (-len(compact) % 4)  # padding may be left out, as URL-safe encoders do
    try:
        if "-" in compact or "_" in compact:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        raise InputInvalid(f"{where}: data is not valid base64.") from None


def _check_url(url: str, where: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputInvalid(f"{where}: data_url must be an http(s) URL with a host.")


async def _download(url: str, where: str, settings: Settings, client: httpx.AsyncClient) -> tuple[bytes, str | None]:
    """One ``data_url``, following up to ``MAX_REDIRECTS`` redirects (each hop's address checked by the
    client's transport). Time is bounded by the caller (``fetch_data_urls``)."""
    cap = settings.max_attachment_bytes
    for _hop in range(MAX_REDIRECTS + 1):
        _check_url(url, where)
        try:
            async with client.stream("GET", url) as response:
                if response.is_redirect and "location" in response.headers:
                    url = urljoin(url, response.headers["location"])
                    continue
                if response.status_code != 200:
                    raise InputInvalid(f"{where}: downloading data_url answered HTTP {response.status_code}.")
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > cap:
                    raise InputInvalid(f"{where}: data_url content is larger than the {cap} byte limit.")
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > cap:
                        raise InputInvalid(f"{where}: data_url content is larger than the {cap} byte limit.")
                    chunks.append(chunk)
                content_type = response.headers.get("content-type", "").split(";")[0].strip() or None
                if content_type and not CONTENT_TYPE_PATTERN.match(content_type):
                    content_type = None
                return b"".join(chunks), content_type
        except DestinationRefused as exc:
            raise InputInvalid(f"{where}: data_url {exc}.") from None
        except httpx.TimeoutException:
            raise InputInvalid(
                f"{where}: downloading data_url took longer than {settings.data_url_timeout_s:g} s."
            ) from None
        except httpx.HTTPError as exc:
            raise InputInvalid(f"{where}: downloading data_url failed ({type(exc).__name__}).") from None
    raise InputInvalid(f"{where}: data_url redirected more than {MAX_REDIRECTS} times.")
