"""The values the hub keeps encrypted at rest, checked against the key ring at start-up and re-encrypted by
``assessment-hub secret-key rotate``.

Encrypted columns: ``integrations.settings_encrypted`` (connector credentials) and
``webhook_endpoints.secret_encrypted`` (vendor webhook signing secrets). Key ring: ``kit/secret_keys.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from assessment_hub.integrations.models import IntegrationRow
from assessment_hub.kit.crypto import Cipher
from assessment_hub.kit.secret_keys import SecretKeyError
from assessment_hub.webhooks.models import WebhookEndpointRow

ENCRYPTED: list[tuple[Any, str, str]] = [
    (IntegrationRow, "settings_encrypted", "integration"),
    (WebhookEndpointRow, "secret_encrypted", "webhook endpoint"),
]


def _rows(session: Session, *, limit: int | None = None) -> Iterator[tuple[Any, str, str]]:
    """(row, column name, what) for every row holding an encrypted value, newest first per table."""
    for model, column, what in ENCRYPTED:
        query = select(model).where(getattr(model, column).is_not(None)).order_by(model.created_at.desc())
        for row in session.scalars(query.limit(limit) if limit else query):
            yield row, column, what


def require_readable(session: Session, cipher: Cipher, *, sample: int = 1000) -> None:
    """Raise ``SecretKeyError`` naming the fix when a stored value (of the newest ``sample`` per table) does
    not decrypt with the key ring: a new key set on an existing database would otherwise turn every inbound
    call and admin read of those integrations into an error."""
    unreadable = [
        f"{what} {row.id}"
        for row, column, what in _rows(session, limit=sample)
        if not cipher.readable(getattr(row, column))
    ]
    if unreadable:
        shown = ", ".join(unreadable[:3]) + (f" and {len(unreadable) - 3} more" if len(unreadable) > 3 else "")
        raise SecretKeyError(
            f"the secret key ({cipher.source}) does not decrypt what this database holds ({shown}): it was "
            "encrypted with another key. Set ASSESSMENT_HUB_SECRET_KEY to the key it was encrypted with (with "
            "SQLite and no ASSESSMENT_HUB_SECRET_KEY: the key file beside the database), or, to move to the new "
            "key, put the old one in ASSESSMENT_HUB_PREVIOUS_SECRET_KEYS and run `assessment-hub secret-key rotate`"
        )


def reencrypt_all(session: Session, cipher: Cipher) -> int:
    """Every encrypted value re-encrypted under ``cipher``'s first key (read with any of its keys); the count.
    Raises ``SecretKeyError`` (before anything is changed) when one is unreadable. Flushes; the caller commits."""
    rows = list(_rows(session))
    unreadable = [f"{what} {row.id}" for row, column, what in rows if not cipher.readable(getattr(row, column))]
    if unreadable:
        raise SecretKeyError(
            f"{len(unreadable)} stored value(s) ({', '.join(unreadable[:3])}) decrypt with none of the keys "
            "(ASSESSMENT_HUB_SECRET_KEY, ASSESSMENT_HUB_PREVIOUS_SECRET_KEYS, the key file); add the key they "
            "were encrypted with to ASSESSMENT_HUB_PREVIOUS_SECRET_KEYS. Nothing was changed."
        )
    for row, column, _what in rows:
        setattr(row, column, cipher.rotate(getattr(row, column)))
    session.flush()
    return len(rows)
