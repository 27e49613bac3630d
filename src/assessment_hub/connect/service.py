"""Connection links: creating them, what state they are in, completing one into an integration, and
exchanging the activation token (kombo-contract.md §6).

Lifetimes: an ``EMBEDDED`` link is open for 1 hour, a ``MAGIC_LINK`` for 1 year (Kombo's, per the SDKs'
``link_type`` docs); a link creates at most one integration. The activation token handed to the embedding
window works for ``ACTIVATION_TTL`` and only with the API key that created the link. Tokens are random
(256 bits) and stored as SHA-256 only; the activation token is also kept encrypted for the done page.
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from assessment_hub.config import Settings
from assessment_hub.connect.forms import ToolForm
from assessment_hub.connect.models import ConnectLinkRow
from assessment_hub.connect.schemas import CreateLinkIn
from assessment_hub.connecting import create_integration
from assessment_hub.connectors.base import SettingsError
from assessment_hub.connectors.registry import CONNECTORS, connector_class
from assessment_hub.errors import InputInvalid, NotFound
from assessment_hub.integrations.models import IntegrationRow
from assessment_hub.kit.ids import new_id
from assessment_hub.kit.timestamps import format_instant, utcnow

LINK_TTL = {"EMBEDDED": timedelta(hours=1), "MAGIC_LINK": timedelta(days=365)}
ACTIVATION_TTL = timedelta(hours=24)
"""How long the activation token can be exchanged (integration-by-token) after the customer finished."""
DONE_PAGE_TTL = timedelta(hours=1)
"""How long after finishing the done page (with the values to paste into the ATS) can be shown again."""
CATEGORY = "ASSESSMENT"

LinkState = Literal["open", "used", "expired"]
LINK_STATES: tuple[LinkState, ...] = ("open", "used", "expired")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def connectable_tools() -> list[str]:
    """Every tool of the connector registry, in its order."""
    return list(CONNECTORS)


def create_link(session: Session, api_key_id: str, body: CreateLinkIn) -> tuple[ConnectLinkRow, str]:
    """Store a new link for ``body``'s end user; returns the row and the link's token (shown once, in the URL).

    Raises ``InputInvalid`` for a category other than ASSESSMENT and for a tool the hub cannot connect."""
    category = body.integration_category
    if category is not None and category != CATEGORY:
        raise InputInvalid(
            f"integration_category: the hub connects assessment tools only, so it must be 'ASSESSMENT' (got "
            f"{category!r}; Kombo's SDKs default to 'HRIS': pass integration_category='ASSESSMENT')."
        )
    tool = body.integration_tool
    if tool is not None and tool not in CONNECTORS:
        raise InputInvalid(
            f"integration_tool: {tool!r} cannot be connected through this hub; tools: {', '.join(connectable_tools())}."
        )
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = ConnectLinkRow(
        id=new_id(),
        token_hash=_hash(token),
        api_key_id=api_key_id,
        link_type=body.link_type,
        end_user_email=body.end_user_email,
        end_user_organization_name=body.end_user_organization_name,
        end_user_origin_id=body.end_user_origin_id,
        integration_tool=tool,
        language=body.language or "en",
        options={
            "remote_environment": body.remote_environment,
            "scope_config_id": body.scope_config_id,
            "enable_filtering": body.enable_filtering,
            "enable_field_mapping": body.enable_field_mapping,
            "enable_static_ips": body.enable_static_ips,
        },
        created_at=now,
        expires_at=now + LINK_TTL[body.link_type],
    )
    session.add(row)
    session.flush()
    return row, token


def link_state(row: ConnectLinkRow, now: datetime | None = None) -> LinkState:
    if row.used_at is not None:
        return "used"
    return "open" if (now or utcnow()) < row.expires_at else "expired"


def find_link(session: Session, token: str) -> ConnectLinkRow | None:
    """The link whose token is ``token``, or None (unknown, mistyped or forged)."""
    if not token or len(token) > 100:
        return None
    return session.scalar(select(ConnectLinkRow).where(ConnectLinkRow.token_hash == _hash(token)))


def tools_of(link: ConnectLinkRow) -> list[str]:
    """The tools the link lets the customer connect (one when the vendor named it)."""
    if link.integration_tool:
        return [link.integration_tool] if link.integration_tool in CONNECTORS else []
    return connectable_tools()


def tool_label(tool: str) -> str:
    return connector_class(tool).label


@dataclass(frozen=True)
class Given:
    chosen: dict[str, str]
    """What the customer gave, as ``integrations create --setting`` would take it (``complete_link`` stores it
    through ``create_integration``, which prepares it again and mints the hub's keys)."""
    prepared: dict[str, Any]
    """The same through the connector's ``prepare_settings`` (defaults filled in): what the credential check uses."""


def prepare_given(form: ToolForm, tool: str, given: dict[str, str], settings: Settings) -> Given:
    """The connector settings from the customer's form: only the form's fields, blanks dropped, required ones
    present, base URLs public (unless ALLOW_PRIVATE_NETWORK); then checked by the connector's own
    ``prepare_settings``. Raises ``SettingsError`` naming the field's label (or the connector's setting)."""
    chosen: dict[str, str] = {}
    for f in form.fields:
        value = (given.get(f.name) or "").strip()
        if not value:
            if f.required:
                raise SettingsError(f"{f.label} is required.")
            continue
        if f.url:
            problem = _url_problem(value, settings.allow_private_network)
            if problem:
                raise SettingsError(f"{f.label} {problem}.")
        chosen[f.name] = value
    return Given(chosen, connector_class(tool).prepare_settings(dict(chosen)))


def _url_problem(url: str, allow_private: bool) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http(s) URL"
    if allow_private:
        return None
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except (socket.gaierror, UnicodeError):
        return f"names a host that does not resolve ({parts.hostname})"
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global or address.is_multicast:
            return "must be a public address"
    return None


class LinkClosed(Exception):
    """The link was used or expired while the customer was filling in the form."""


@dataclass(frozen=True)
class Completed:
    integration: IntegrationRow
    activation_token: str


def complete_link(session: Session, link_id: str, tool: str, chosen: dict[str, str], settings: Settings) -> Completed:
    """Create the integration the link was for, with its end user, and mark the link used, in the caller's
    transaction (``integration-created`` is queued with it). Claiming is one conditional UPDATE, so two
    submissions of the same link create one integration on SQLite and PostgreSQL alike. Raises ``LinkClosed``."""
    now = utcnow()
    activation = "act_" + secrets.token_urlsafe(32)
    claimed = session.execute(
        update(ConnectLinkRow)
        .where(ConnectLinkRow.id == link_id, ConnectLinkRow.used_at.is_(None), ConnectLinkRow.expires_at > now)
        .values(
            used_at=now,
            activation_hash=_hash(activation),
            activation_encrypted=settings.cipher.encrypt_json(activation),
            activation_expires_at=now + ACTIVATION_TTL,
        )
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise LinkClosed(link_id)
    link = session.get(ConnectLinkRow, link_id)
    assert link is not None  # claimed just now
    integration = create_integration(
        session,
        tool,
        link.end_user_organization_name,
        settings=chosen,
        cipher=settings.cipher,
        creator_email=link.end_user_email,
        origin_id=link.end_user_origin_id,
    )
    link.integration_id = integration.id
    session.flush()
    return Completed(integration, activation)


def activation_token(link: ConnectLinkRow, settings: Settings) -> str | None:
    return settings.cipher.decrypt_json(link.activation_encrypted) if link.activation_encrypted else None


def done_page_open(link: ConnectLinkRow, now: datetime | None = None) -> bool:
    return link.used_at is not None and (now or utcnow()) < link.used_at + DONE_PAGE_TTL


def integration_by_token(session: Session, token: str, api_key_id: str) -> dict[str, Any]:
    """``data`` of ``GET /connect/integration-by-token/{token}``: ``{tool, id, end_user_origin_id,
    end_user_organization_name, end_user_email, setup_status}``. Raises ``NotFound`` for a token that is unknown,
    past ``ACTIVATION_TTL``, of another API key, or whose integration was deleted (one message: which it is is
    not the caller's to learn)."""
    refused = NotFound(
        "No integration for this activation token: it is unknown, older than 24 hours, was issued for a link "
        "created with another API key, or its integration was deleted."
    )
    if not token or len(token) > 200:
        raise refused
    link = session.scalar(select(ConnectLinkRow).where(ConnectLinkRow.activation_hash == _hash(token)))
    if (
        link is None
        or link.api_key_id != api_key_id
        or link.activation_expires_at is None
        or utcnow() >= link.activation_expires_at
        or link.integration_id is None
    ):
        raise refused
    integration = session.get(IntegrationRow, link.integration_id)
    if integration is None or integration.deleted_at is not None:
        raise refused
    return {
        "tool": integration.tool,
        "id": integration.id,
        "end_user_origin_id": integration.origin_id,
        "end_user_organization_name": integration.organization_name,
        "end_user_email": integration.creator_email,
        "setup_status": "COMPLETED",
    }


def list_links(session: Session, state: LinkState | None = None, limit: int = 100) -> Sequence[ConnectLinkRow]:
    """Links, newest first; ``state`` filters on open, used or expired."""
    query = select(ConnectLinkRow).order_by(ConnectLinkRow.created_at.desc(), ConnectLinkRow.id.desc())
    now = utcnow()
    if state == "used":
        query = query.where(ConnectLinkRow.used_at.is_not(None))
    elif state == "open":
        query = query.where(ConnectLinkRow.used_at.is_(None), ConnectLinkRow.expires_at > now)
    elif state == "expired":
        query = query.where(ConnectLinkRow.used_at.is_(None), ConnectLinkRow.expires_at <= now)
    return session.scalars(query.limit(limit)).all()


def link_view(row: ConnectLinkRow, now: datetime | None = None) -> dict[str, Any]:
    """A link as the operator sees it (never its tokens)."""
    return {
        "id": row.id,
        "state": link_state(row, now),
        "link_type": row.link_type,
        "integration_tool": row.integration_tool,
        "end_user": {
            "email": row.end_user_email,
            "organization_name": row.end_user_organization_name,
            "origin_id": row.end_user_origin_id,
        },
        "language": row.language,
        "api_key_id": row.api_key_id,
        "created_at": format_instant(row.created_at),
        "expires_at": format_instant(row.expires_at),
        "used_at": format_instant(row.used_at),
        "integration_id": row.integration_id,
    }
