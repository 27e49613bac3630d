"""Integrations, vendor API keys and the hub's environment id.

API keys look like ``ahk_<40 alphanumerics>``; only their SHA-256 is stored (keys are random and
long, so a fast hash is the right tool: there is nothing to brute-force).
"""

from __future__ import annotations

import hashlib
import secrets
import string
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from assessment_hub.errors import AuthenticationInvalid, InputInvalid, IntegrationNotFound, NotFound
from assessment_hub.integrations.models import ApiKeyRow, HubMetaRow, IntegrationRow
from assessment_hub.kit.crypto import Cipher
from assessment_hub.kit.ids import new_id, new_integration_id
from assessment_hub.kit.timestamps import utcnow
from assessment_hub.webhooks.events import (
    INTEGRATION_CREATED,
    INTEGRATION_DELETED,
    INTEGRATION_STATE_CHANGED,
    integration_data,
    integration_state_data,
)
from assessment_hub.webhooks.service import enqueue_event

KEY_PREFIX = "ahk_"
_KEY_ALPHABET = string.ascii_letters + string.digits


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(session: Session, name: str) -> str:
    """Create a key and return it in clear; it cannot be read back later. Raises ``InputInvalid`` for a blank name."""
    name = name.strip()
    if not name:
        raise InputInvalid("name: must not be empty.")
    if len(name) > 255:
        raise InputInvalid("name: at most 255 characters.")
    key = KEY_PREFIX + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(40))
    session.add(ApiKeyRow(id=new_id(), name=name, key_hash=hash_key(key), key_prefix=key[:10]))
    session.flush()
    return key


def list_api_keys(session: Session) -> Sequence[ApiKeyRow]:
    """Every API key, revoked ones included, oldest first (rows hold only the hash and a prefix)."""
    return session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.created_at, ApiKeyRow.id)).all()


def revoke_api_key(session: Session, key_id: str) -> tuple[ApiKeyRow, bool]:
    """Revoke the key (``authenticate`` refuses it from then on); returns the row and whether this call revoked
    it (False: it already was, and keeps its first ``revoked_at``). Raises ``NotFound``."""
    row = session.get(ApiKeyRow, key_id)
    if row is None:
        raise NotFound(f"No API key with id {key_id!r}.")
    if row.revoked_at is not None:
        return row, False
    row.revoked_at = utcnow()
    session.flush()
    return row, True


def bearer_token(authorization: str | None, what: str = "api key") -> str:
    """The key of ``Authorization: Bearer <key>``; raises ``AuthenticationInvalid`` naming ``what`` is expected."""
    if not authorization:
        raise AuthenticationInvalid(f"Missing Authorization header; send 'Authorization: Bearer <{what}>'.")
    scheme, _, key = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise AuthenticationInvalid(f"The Authorization header must be 'Bearer <{what}>'.")
    return key.strip()


def authenticate(session: Session, authorization: str | None) -> ApiKeyRow:
    """Resolve ``Authorization: Bearer <key>`` to a live key; raises ``AuthenticationInvalid``."""
    key = bearer_token(authorization)
    row = session.scalar(select(ApiKeyRow).where(ApiKeyRow.key_hash == hash_key(key)))
    if row is None or row.revoked_at is not None:
        raise AuthenticationInvalid("The API key is not valid.")
    return row


def add_integration(
    session: Session,
    tool: str,
    organization_name: str,
    *,
    settings: dict[str, Any],
    cipher: Cipher | None = None,
    creator_email: str | None = None,
    origin_id: str | None = None,
) -> IntegrationRow:
    """Store an ACTIVE integration and queue ``integration-created``.

    ``settings`` are the connector's settings as its ``prepare_settings`` made them (the caller checks them:
    ``connecting.create_integration``), stored encrypted with ``cipher``.
    """
    if settings and cipher is None:
        raise ValueError("connector settings are stored encrypted: pass the cipher")
    row = IntegrationRow(
        id=new_integration_id(tool),
        tool=tool,
        organization_name=organization_name,
        creator_email=creator_email,
        origin_id=origin_id,
        status="ACTIVE",
        settings_encrypted=cipher.encrypt_json(settings) if settings and cipher else None,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    enqueue_event(session, INTEGRATION_CREATED, integration_data(row), integration_id=row.id)
    return row


def integration_settings(row: IntegrationRow, cipher: Cipher) -> dict[str, Any]:
    """The integration's decrypted connector settings ({} when it has none)."""
    return cipher.decrypt_json(row.settings_encrypted) if row.settings_encrypted else {}


def get_integration(session: Session, integration_id: str | None, *, include_deleted: bool = False) -> IntegrationRow:
    """A live (not deleted, unless ``include_deleted``) integration; raises ``IntegrationNotFound``."""
    row = session.get(IntegrationRow, integration_id) if integration_id else None
    if row is None or (row.deleted_at is not None and not include_deleted):
        raise IntegrationNotFound(f"No integration with id {integration_id!r}.")
    return row


def get_active_integration(session: Session, integration_id: str | None) -> IntegrationRow:
    """A live integration that is not INACTIVE, as the vendor's ``/assessment/*`` calls need (an INVALID one, whose
    ATS refuses the hub's credentials, still takes results: ``integrations.credentials``).

    Raises ``IntegrationNotFound`` for an unknown or deleted one, and also for a deactivated one
    (the message says so): only ``PLATFORM.*`` codes are used by the hub.
    """
    row = get_integration(session, integration_id)
    if row.status == "INACTIVE":
        raise IntegrationNotFound(f"Integration {integration_id!r} is {row.status}: the hub's operator deactivated it.")
    return row


def list_integrations(session: Session, *, include_deleted: bool = False) -> Sequence[IntegrationRow]:
    """Integrations, oldest first; deleted ones only with ``include_deleted``."""
    query = select(IntegrationRow).order_by(IntegrationRow.created_at, IntegrationRow.id)
    if not include_deleted:
        query = query.where(IntegrationRow.deleted_at.is_(None))
    return session.scalars(query).all()


def deactivate_integration(session: Session, integration_id: str) -> IntegrationRow:
    """Set a live integration INACTIVE (idempotent; a change queues ``integration-state-changed``): the vendor API
    then refuses it (``get_active_integration``), its orders and queued deliveries stay. Raises ``IntegrationNotFound``."""
    return _set_status(session, get_integration(session, integration_id), "INACTIVE")


def activate_integration(session: Session, integration_id: str) -> IntegrationRow:
    """Set a deactivated (not deleted) integration ACTIVE again (idempotent). Raises ``IntegrationNotFound``."""
    return _set_status(session, get_integration(session, integration_id), "ACTIVE")


def _set_status(session: Session, row: IntegrationRow, status: str) -> IntegrationRow:
    """Change ``row.status``; a real change queues ``integration-state-changed`` (kombo-contract.md §7.5)."""
    if row.status != status:
        row.status = status
        session.flush()
        enqueue_event(session, INTEGRATION_STATE_CHANGED, integration_state_data(row), integration_id=row.id)
    return row


def delete_integration(session: Session, integration_id: str) -> IntegrationRow:
    """Mark the integration deleted; it then answers as unknown. Its orders stay stored for the operator."""
    row = get_integration(session, integration_id)
    row.deleted_at = utcnow()
    row.status = "INACTIVE"
    session.flush()
    enqueue_event(session, INTEGRATION_DELETED, integration_data(row, deleted=True), integration_id=row.id)
    return row


def environment_id(session: Session) -> str:
    """The hub's environment id, created on first use and stable afterwards."""
    row = session.get(HubMetaRow, "environment_id")
    if row is None:
        row = HubMetaRow(key="environment_id", value=new_id())
        session.add(row)
        session.flush()
    return row.value


def count_api_keys(session: Session) -> int:
    return len(session.scalars(select(ApiKeyRow.id).limit(1)).all())
