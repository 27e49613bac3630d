"""Where the hub's secret key comes from: one per installation, never a key printed in the source.

- ``ASSESSMENT_HUB_SECRET_KEY`` set: that key encrypts; the keys in ``ASSESSMENT_HUB_PREVIOUS_SECRET_KEYS``
  (comma-separated) still decrypt, for a rotation. Required in production and with PostgreSQL.
- Otherwise (SQLite, development): the key file beside the database, ``<database>-secret.key``, created at
  the first start (mode 0600, owner-only; a file readable by group or others is refused). One key per line:
  the first encrypts, the others (the previous key after a rotation) still decrypt. Back it up with the
  database: without it the stored credentials cannot be read.

The signed attachment links (``kit/links.py``) and encrypted values (``kit/crypto.py``) derive from this key
ring. Errors are ``SecretKeyError`` with a message naming the fix.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pydantic import SecretStr
from sqlalchemy.engine import make_url

from assessment_hub.kit.crypto import Cipher, check_key, generate_key


class Settings(Protocol):
    """What this module reads of ``config.Settings`` (kit sits below config)."""

    @property
    def secret_key(self) -> SecretStr | None: ...
    @property
    def previous_secret_keys(self) -> SecretStr | None: ...
    @property
    def database_url(self) -> str: ...
    @property
    def is_sqlite(self) -> bool: ...


KEY_FILE_SUFFIX = "-secret.key"


class SecretKeyError(Exception):
    """The key ring cannot be built; ``str()`` says why and what to do."""


@dataclass(frozen=True)
class KeyRing:
    keys: list[str]
    """The first encrypts; all decrypt."""
    source: str
    """``ASSESSMENT_HUB_SECRET_KEY`` or the key file's path (for messages)."""
    key_file: Path | None
    """The key file when the keys come from one."""


def key_file_path(settings: Settings) -> Path | None:
    """``<database>-secret.key`` beside a SQLite database; None for PostgreSQL."""
    if not settings.is_sqlite:
        return None
    database = make_url(settings.database_url).database or ""
    return Path(database + KEY_FILE_SUFFIX)


def load_key_ring(settings: Settings, *, create: bool = True) -> KeyRing:
    """The key ring of ``settings``; the key file is created when missing and ``create``."""
    previous = _previous_keys(settings)
    if settings.secret_key is not None:
        return KeyRing([settings.secret_key.get_secret_value(), *previous], "ASSESSMENT_HUB_SECRET_KEY", None)
    path = key_file_path(settings)
    if path is None:
        raise SecretKeyError(
            "ASSESSMENT_HUB_SECRET_KEY is required with PostgreSQL (every process of the hub, on every machine, "
            "needs the same key; generate one with `assessment-hub generate-secret-key`)"
        )
    if not path.exists() and create:
        _create_key_file(path)
    return KeyRing([*read_key_file(path), *previous], str(path), path)


def read_key_file(path: Path) -> list[str]:
    try:
        mode = path.stat().st_mode
        text = path.read_text()
    except FileNotFoundError:
        raise SecretKeyError(
            f"the secret key file {path} is missing: the credentials stored in the database beside it cannot be "
            "read without it (restore it from a backup, or set ASSESSMENT_HUB_SECRET_KEY)"
        ) from None
    except OSError as exc:
        raise SecretKeyError(f"cannot read the secret key file {path}: {exc.strerror}") from None
    if mode & 0o077:
        raise SecretKeyError(f"the secret key file {path} is readable by others; make it owner-only: chmod 600 {path}")
    keys = [line.strip() for line in text.splitlines() if line.strip()]
    if not keys:
        raise SecretKeyError(f"the secret key file {path} holds no key")
    for key in keys:
        try:
            check_key(key)
        except ValueError:
            raise SecretKeyError(f"the secret key file {path} holds a line that is not a Fernet key") from None
    return keys


def write_key_file(path: Path, keys: list[str]) -> None:
    """Replace the key file atomically (owner-only, fsynced) with ``keys`` (first: the one that encrypts)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, ("\n".join(keys) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def cipher_for(settings: Settings) -> Cipher:
    """The ``Cipher`` of ``settings``' key ring; with a key file, a value that does not decrypt makes it
    read the file again (another process may have rotated the key)."""
    ring = load_key_ring(settings)
    reload = None
    if ring.key_file is not None:
        key_file, previous = ring.key_file, _previous_keys(settings)

        def reload() -> list[str]:
            try:
                return [*read_key_file(key_file), *previous]
            except SecretKeyError:
                return ring.keys

    return Cipher(ring.keys, reload=reload, source=ring.source)


def _previous_keys(settings: Settings) -> list[str]:
    raw = settings.previous_secret_keys.get_secret_value() if settings.previous_secret_keys else ""
    return [key.strip() for key in raw.split(",") if key.strip()]


def _create_key_file(path: Path) -> None:
    """A new key in a new file, mode 0600 from the start, published whole (a hard link fails when the file
    exists): a process that loses the race to create it reads the winner's key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, (generate_key() + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
