"""The admin credential: ``ASSESSMENT_HUB_ADMIN_API_KEY``, or in development the key ``serve`` created.

On a first start in development with no admin key configured, ``serve`` creates one (``aha_`` + 40
alphanumerics), prints it once and stores only its SHA-256 in ``hub_meta`` (key ``admin_key_sha256``).
A configured key always wins; in production only a configured key is accepted.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from typing import Any

from sqlalchemy.orm import Session

from assessment_hub.config import Settings
from assessment_hub.integrations.models import HubMetaRow

ADMIN_KEY_PREFIX = "aha_"
META_KEY = "admin_key_sha256"
_ALPHABET = string.ascii_letters + string.digits


def _sha256(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def stored_admin_key_hash(session: Session) -> str | None:
    row = session.get(HubMetaRow, META_KEY)
    return row.value if row is not None else None


def create_development_admin_key(session: Session) -> str:
    """Create (or replace) the stored development admin key; returns it in clear, once."""
    key = ADMIN_KEY_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(40))
    row = session.get(HubMetaRow, META_KEY)
    if row is None:
        session.add(HubMetaRow(key=META_KEY, value=_sha256(key)))
    else:
        row.value = _sha256(key)
    session.flush()
    return key


def admin_fingerprint(settings: Settings, stored_hash: str | None) -> str | None:
    """A stable digest of the admin credential in force (None: there is none): the console signs its
    session cookies with it, so changing the admin key signs everyone out."""
    if settings.admin_api_key is not None:
        return _sha256(settings.admin_api_key.get_secret_value())
    if settings.environment == "development":
        return stored_hash
    return None


def admin_key_matches(settings: Settings, stored_hash: str | None, key: str) -> bool:
    """Whether ``key`` is the admin credential in force (constant-time comparisons)."""
    if settings.admin_api_key is not None:
        return hmac.compare_digest(key.encode(), settings.admin_api_key.get_secret_value().encode())
    if settings.environment == "development" and stored_hash is not None:
        return hmac.compare_digest(_sha256(key), stored_hash)
    return False


def load_admin_key_hash(sessions: Any, settings: Settings) -> str | None:
    """At start-up: the stored development key's hash, when no key is configured (None otherwise)."""
    if settings.admin_api_key is not None or settings.environment != "development":
        return None
    with sessions() as session:
        return stored_admin_key_hash(session)
