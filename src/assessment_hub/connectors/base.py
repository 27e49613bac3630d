"""The contract every ATS connector implements, its error taxonomy, and the explicit registry.

A connector turns the hub's unified result revisions and rejections into one ATS's write-back calls.
How orders come *in* differs per ATS (the sandbox: CLI and admin API; Greenhouse, Teamtailor, Ashby:
HTTP endpoints the ATS calls) and lives beside each connector.

Errors (only the delivery worker decides what to do with them):
- ``RetryableError``: try again later (timeouts, 5xx; ``rate_limited`` for 429, with its Retry-After).
- ``ConfigError``: a human must act (bad credentials, missing setting); retried slowly, then dead.
- ``RemoteInputError``: the ATS refused this payload; retrying the same payload cannot help: dead.

An ATS's HTTP answers map to these errors in one place, ``check_http_response``; what differs between
ATSs is data (``StatusRules``), not a second copy of the rule.

A connector instance is created fresh for each use and holds no state between uses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, Protocol

import httpx
from fastapi import APIRouter
from sqlalchemy.orm import Session, sessionmaker

from assessment_hub.config import Settings
from assessment_hub.errors import InputInvalid
from assessment_hub.kit.timestamps import utcnow


class ConnectorError(Exception):
    """Base of connector failures; ``message`` is shown to the operator."""

    error_class = "transient"

    def __init__(self, message: str, *, http_status: int | None = None, response_excerpt: str | None = None):
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.response_excerpt = response_excerpt


class RetryableError(ConnectorError):
    """Try again later. ``rate_limited``: the ATS asked the hub to slow down (HTTP 429); ``retry_after`` is
    its Retry-After in seconds when it sent a readable one. The policy (``delivery.policy``) waits the
    Retry-After, ``rate_limit_default_s`` without one, never less than its own backoff for that attempt."""

    def __init__(
        self, message: str, *, rate_limited: bool = False, retry_after: float | None = None, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
        self.error_class = "rate_limited" if rate_limited or retry_after is not None else "transient"


class ConfigError(ConnectorError):
    error_class = "needs_human"


class RemoteInputError(ConnectorError):
    error_class = "bad_input"


@dataclass(frozen=True)
class Capabilities:
    """What an ATS can show; used for vendor warnings, the README matrix and connector behaviour."""

    text_only_attributes: bool
    """Attributes are shown as text only: SUB_RESULTs are flattened (``connectors.text``)."""
    shows_open_results: bool
    """An interim OPEN result is visible in the ATS."""
    accepts_attachments: bool
    shows_rejection_message: bool
    ats_can_cancel: bool
    """The ATS can cancel an order (the vendor then gets ``assessment:order-cancelled``)."""
    inbound: str
    """How orders arrive, in a few words."""


@dataclass(frozen=True)
class SettingField:
    """One setting an operator gives when connecting the ATS; connectors list theirs in ``setting_fields``
    (the console's creation form is built from it)."""

    name: str
    label: str
    required: bool = False
    secret: bool = False
    """Masked when typed, never shown again."""
    help: str = ""


@dataclass(frozen=True)
class OrderSnapshot:
    id: str
    integration_id: str
    package_id: str
    status: str
    candidate: dict[str, Any]
    application: dict[str, Any]
    job: dict[str, Any]
    remote_data: dict[str, Any] | None
    rejection_message: str | None


@dataclass(frozen=True)
class AttachmentSnapshot:
    name: str
    content_type: str | None
    sha256: str
    size_bytes: int
    url: str
    """A signed, expiring link to the bytes served by the hub."""


@dataclass(frozen=True)
class ResultSnapshot:
    id: str
    revision: int
    status: str
    score: float | None
    max_score: float | None
    result_url: str
    completed_at: datetime | None
    attributes: list[dict[str, Any]]
    remote_fields: dict[str, Any] | None
    attachments: list[AttachmentSnapshot] = field(default_factory=list)


@dataclass
class ConnectorContext:
    """What a connector may use: its integration's decrypted settings, an HTTP client with the
    delivery timeout, the hub's settings, and two session factories: ``sessions`` for writing (the sandbox,
    whose ATS lives in the hub's database) and ``read_sessions`` for reading (Ashby's revision timestamps:
    on SQLite a read-only session begins DEFERRED and never waits for the write lock, which the API's
    writer holds while it commits). The worker gives its engine's; the console's preview
    (``delivery.preview``) gives sessions on the page's own connection for both, so ``result_request`` must
    only read, through ``read_sessions``, and must not reach for the engine behind them
    (``sessions.kw["bind"]`` is then a ``Connection``)."""

    integration_id: str
    settings: dict[str, Any]
    hub_settings: Settings
    http: httpx.Client
    sessions: sessionmaker[Session]
    read_sessions: sessionmaker[Session]
    sent: list[httpx.Request] = field(default_factory=list)
    """The requests sent through ``send_request`` during this use, in order (the worker records the last
    one with the attempt)."""
    answered: list[int] = field(default_factory=list)
    """The HTTP status of each answer ``send_request`` got, in order."""


def send_request(context: ConnectorContext, request: httpx.Request) -> httpx.Response:
    """Send a request a connector built (its ``result_request`` for results), remembering it on the
    context. Building and sending apart is what lets the console preview a write-back with the very code
    that sends it."""
    context.sent.append(request)
    response = context.http.send(request)
    context.answered.append(response.status_code)
    return response


class SettingsError(InputInvalid):
    """Connector settings given at integration creation are missing or invalid (message names the key)."""

    def __init__(self, message: str) -> None:
        super().__init__(f"settings: {message}")


_SECRET_NAME = re.compile(r"(^|_)(secret|key|token|password)$")


def is_secret_setting(connector: type, name: str) -> bool:
    """A setting that carries a credential: marked ``secret`` in the connector's ``setting_fields``, or named
    like one (``*_secret``, ``*_key``, ``*_token``, ``*_password``) for connectors that list no fields."""
    fields = {f.name: f for f in getattr(connector, "setting_fields", ())}
    return (name in fields and fields[name].secret) or bool(_SECRET_NAME.search(name))


def check_given_settings(
    connector: type, given: Mapping[str, object], *, blank_removes: bool = False
) -> dict[str, str]:
    """The rule every connector's settings pass before its ``prepare_settings`` (the CLI, the admin API, the
    console and Connect alike): every value is a string (a number, list, object or null is refused naming the
    setting, never dropped or turned into text), and a secret-bearing setting (``is_secret_setting``) is never
    empty or blank: an unset shell variable (``--setting webhook_secret=$SECRET``) must not switch a signature
    check off or store an empty credential; leave the setting out instead. With ``blank_removes`` (changing a
    live integration) an empty value means "remove the setting" and passes. Raises ``SettingsError``."""
    checked: dict[str, str] = {}
    for name, value in given.items():
        if not isinstance(value, str):
            kind = "null" if value is None else type(value).__name__
            raise SettingsError(f"{name}: must be a string (got {kind})")
        if not value.strip() and is_secret_setting(connector, name) and not blank_removes:
            raise SettingsError(
                f"{name}: must not be empty or blank (it holds a secret; leave the setting out instead of giving "
                "it empty)"
            )
        checked[name] = value
    return checked


class Connector(Protocol):
    """One ATS. Class-level parts serve integration set-up and inbound requests; instances write back."""

    tool: ClassVar[str]
    label: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    inbound: ClassVar[APIRouter | None]
    """Routes the ATS calls, mounted at ``/connectors/{tool}/{connection}`` (``connectors.inbound``)."""

    @classmethod
    def prepare_settings(cls, given: dict[str, str]) -> dict[str, Any]:
        """Validate the operator's settings and add what the hub mints (keys the ATS will send);
        raises ``SettingsError``."""

    @classmethod
    def setup(cls, settings: dict[str, Any], base_url: str) -> dict[str, Any]:
        """What the customer pastes into the ATS, keyed in the ATS's own terms; ``base_url`` is the
        integration's inbound base URL."""

    def __init__(self, context: ConnectorContext) -> None: ...

    def write_result(self, order: OrderSnapshot, result: ResultSnapshot) -> None:
        """Deliver one result revision to the ATS, or raise a ``ConnectorError``.

        Optional companion, used by the console's write-back preview: ``result_request(order, result) ->
        httpx.Request | None``, the request ``write_result`` sends (built with ``context.http.build_request``,
        sent with ``send_request``), None when nothing would go over HTTP; raises what ``write_result``
        raises before sending."""

    def write_rejection(self, order: OrderSnapshot, message: str) -> None:
        """Tell the ATS the vendor refused the order (with the vendor's message where it can show it)."""

    @classmethod
    def result_warnings(cls, result: ResultSnapshot) -> list[str]:
        """Warnings for the vendor, at PUT time, about what this ATS cannot show of ``result``."""


ConnectorFactory = Callable[[ConnectorContext], Connector]


@dataclass(frozen=True)
class StatusRules:
    """How one ATS's HTTP error statuses map to the error taxonomy (``check_http_response``).

    Any 2xx is success. ``rate_limited`` -> ``RetryableError(rate_limited=True)`` with the Retry-After;
    ``needs_human`` -> ``ConfigError`` (the message gets ``credentials_hint``); 5xx and ``retry`` ->
    ``RetryableError``; any other status -> ``RemoteInputError`` (sending the same payload again cannot help).
    """

    retry: frozenset[int] = frozenset({404, 408, 409, 425})
    """Statuses besides 5xx worth another try. The default counts 404/409 as a race with the ATS (the object
    is not there yet, a concurrent change) and 425 (Too Early, RFC 8470) as "later"."""
    rate_limited: frozenset[int] = frozenset({429})
    needs_human: frozenset[int] = frozenset({401, 403})
    credentials_hint: str = "credentials refused"


DEFAULT_STATUS_RULES = StatusRules()


def check_http_response(
    response: httpx.Response, what: str, rules: StatusRules = DEFAULT_STATUS_RULES, detail: str | None = None
) -> None:
    """Return for a 2xx answer; otherwise raise the ``ConnectorError`` ``rules`` give for its status.

    The message is ``"{what}: the ATS answered HTTP {status}[: {detail}]"`` (``detail``: what the ATS said,
    when the caller could read it); the exception carries the status and the first 1000 characters."""
    if response.is_success:
        return
    status = response.status_code
    kwargs: dict[str, Any] = {"http_status": status, "response_excerpt": response.text[:1000]}
    message = f"{what}: the ATS answered HTTP {status}" + (f": {detail}" if detail else "")
    if status in rules.rate_limited:
        raise RetryableError(
            message, rate_limited=True, retry_after=parse_retry_after(response.headers.get("retry-after")), **kwargs
        )
    if status in rules.needs_human:
        raise ConfigError(f"{message} ({rules.credentials_hint})", **kwargs)
    if status >= 500 or status in rules.retry:
        raise RetryableError(message, **kwargs)
    raise RemoteInputError(message, **kwargs)


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` (RFC 9110 §10.2.3: delta-seconds or an HTTP date) in seconds, never below 0; None when
    absent or unreadable. ``0`` and past dates give 0.0: the caller's policy floors the wait at its own
    backoff (``delivery.policy``), so neither can make the hub retry at once."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # not "²", which isdigit() accepts and float() refuses
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; parsedate_to_datetime leaves "-0000" naive
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - utcnow()).total_seconds())
