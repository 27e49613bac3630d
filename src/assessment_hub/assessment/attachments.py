"""Attachment bytes: decode inline ``data``, download ``data_url``, and store by sha256.

Source: kombo-contract.md §4.5 (Attachment). ``data_url``s are fetched at once and concurrently, while the
PUT is being handled, within one total timeout for all of them and a size cap each; loopback, private, link-local and other non-public
addresses are refused unless ``ASSESSMENT_HUB_ALLOW_PRIVATE_NETWORK=true`` (the check applies to every
redirect hop). Every failure is an ``InputInvalid`` naming ``attachments[i]``.
Bytes are written to ``<attachments_dir>/<sha256[:2]>/<sha256>`` (content-addressed, fsynced) before
the database transaction that references them commits.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import os
import socket
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

from assessment_hub.assessment.schemas import CONTENT_TYPE_PATTERN, AttachmentIn
from assessment_hub.config import Settings
from assessment_hub.errors import InputInvalid

MAX_REDIRECTS = 3


@dataclass(frozen=True)
class StoredAttachment:
    name: str
    content_type: str | None
    sha256: str
    size_bytes: int
    source_url: str | None


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


def prepare_attachments(
    attachments: list[AttachmentIn], settings: Settings, store: AttachmentStore, client: httpx.Client
) -> tuple[list[StoredAttachment], list[str]]:
    """Decode or download every attachment, then store them; all are checked before any is stored.

    Returns the stored attachments (in request order) and warnings for the vendor.
    """
    blobs: list[tuple[AttachmentIn, bytes, str | None]] = []
    warnings: list[str] = []
    deadline = time.monotonic() + settings.data_url_timeout_s
    urls = [(i, a) for i, a in enumerate(attachments) if a.data_url is not None]
    downloads: dict[int, tuple[bytes, str | None]] = {}
    if urls:  # all at once, within one shared deadline: the vendor's client is waiting for the answer
        with ThreadPoolExecutor(max_workers=len(urls)) as pool:
            futures = {i: pool.submit(_download, a.data_url, _where(i, a), settings, client, deadline) for i, a in urls}
            for i, future in futures.items():
                downloads[i] = future.result()
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


def _check_public(url: str, where: str, settings: Settings) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputInvalid(f"{where}: data_url must be an http(s) URL with a host.")
    if settings.allow_private_network:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except socket.gaierror:
        raise InputInvalid(f"{where}: data_url host {parts.hostname!r} does not resolve.") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global or address.is_multicast:
            raise InputInvalid(
                f"{where}: data_url points at a non-public address ({address}); refused "
                "(set ASSESSMENT_HUB_ALLOW_PRIVATE_NETWORK=true to allow)."
            )


def _download(
    url: str, where: str, settings: Settings, client: httpx.Client, deadline: float
) -> tuple[bytes, str | None]:
    cap = settings.max_attachment_bytes
    for _hop in range(MAX_REDIRECTS + 1):
        _check_public(url, where, settings)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            with client.stream("GET", url, timeout=remaining, follow_redirects=False) as response:
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
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > cap:
                        raise InputInvalid(f"{where}: data_url content is larger than the {cap} byte limit.")
                    if time.monotonic() > deadline:
                        raise httpx.ReadTimeout("deadline")
                    chunks.append(chunk)
                content_type = response.headers.get("content-type", "").split(";")[0].strip() or None
                if content_type and not CONTENT_TYPE_PATTERN.match(content_type):
                    content_type = None
                return b"".join(chunks), content_type
        except httpx.TimeoutException:
            raise InputInvalid(
                f"{where}: downloading data_url took longer than {settings.data_url_timeout_s:g} s."
            ) from None
        except httpx.HTTPError as exc:
            raise InputInvalid(f"{where}: downloading data_url failed ({type(exc).__name__}).") from None
    raise InputInvalid(f"{where}: data_url redirected more than {MAX_REDIRECTS} times or ran out of time.")
