"""Sending one outbox message: a signed webhook to a vendor endpoint, or a write-back through a connector.

Each returns an ``Outcome``; nothing here touches the outbox row (the worker records outcomes).
Vendor answers to ``assessment:order-received`` (shared/cases/order-rejection.json): 2xx delivered;
422 with a non-empty JSON string ``message`` rejects the order; anything else (a 422 without such a
message, other 4xx, 5xx, timeout, refused connection, TLS failure) is transient and retried.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import httpx

from assessment_hub import __version__
from assessment_hub.connectors.base import ConnectorError, parse_retry_after
from assessment_hub.delivery.models import RESPONSE_EXCERPT_CHARS
from assessment_hub.delivery.requests import describe_request
from assessment_hub.delivery.states import SendStatus
from assessment_hub.signing import SIGNATURE_HEADER, sign
from assessment_hub.webhooks.events import ORDER_RECEIVED

USER_AGENT = f"assessment-hub/{__version__}"
MAX_REJECTION_CHARS = 1000
"""A vendor's rejection message is kept up to this many characters."""


@dataclass
class Outcome:
    status: SendStatus
    """``succeeded``, ``rejected`` (the vendor refused the order), ``failed``, or ``superseded`` (not sent:
    a newer write-back of the same order exists)."""
    duration_ms: int = 0
    http_status: int | None = None
    response_excerpt: str | None = None
    error_class: str | None = None
    error_message: str | None = None
    retry_after: float | None = None
    rejection_message: str | None = None
    assessment_url: str | None = None
    request_text: str | None = None
    """The request sent, as ``delivery.requests.describe_request`` writes it (None: nothing was sent)."""


def send_webhook(http: httpx.Client, url: str, secret: str, body: str, event_type: str, timeout: float) -> Outcome:
    raw = body.encode("utf-8")
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, raw), "User-Agent": USER_AGENT}
    request = http.build_request("POST", url, content=raw, headers=headers, timeout=timeout)
    sent = describe_request(request)
    started = time.monotonic()
    try:
        response = http.send(request)
    except httpx.TimeoutException:
        return Outcome(
            SendStatus.FAILED,
            _ms(started),
            error_class="transient",
            error_message=f"no answer within {timeout:g} s",
            request_text=sent,
        )
    except httpx.HTTPError as exc:
        return Outcome(
            SendStatus.FAILED,
            _ms(started),
            error_class="transient",
            error_message=f"{type(exc).__name__}: {exc}",
            request_text=sent,
        )
    excerpt = response.text[:RESPONSE_EXCERPT_CHARS]
    outcome = Outcome(
        SendStatus.SUCCEEDED,
        _ms(started),
        http_status=response.status_code,
        response_excerpt=excerpt,
        request_text=sent,
    )
    if response.is_success:
        if event_type.startswith("inline-"):
            outcome.assessment_url = _json_field(response, "assessment_url")
            if not outcome.assessment_url:
                outcome.status, outcome.error_class = SendStatus.FAILED, "transient"
                outcome.error_message = "the inline order answer has no assessment_url"
        return outcome
    if response.status_code == 422 and event_type == ORDER_RECEIVED:
        message = _json_field(response, "message")
        if message:  # only a 422 with a JSON message is a rejection; a framework's default 422 is not
            outcome.status, outcome.rejection_message = SendStatus.REJECTED, message[:MAX_REJECTION_CHARS]
            return outcome
    outcome.status = SendStatus.FAILED
    outcome.error_message = f"the vendor answered HTTP {response.status_code}" + (
        " without a JSON message, so the order is not rejected" if response.status_code == 422 else ""
    )
    if response.status_code == 429:
        outcome.error_class = "rate_limited"
        outcome.retry_after = parse_retry_after(response.headers.get("retry-after"))
    else:
        outcome.error_class = "transient"
    return outcome


def connector_failure(exc: ConnectorError, started: float) -> Outcome:
    return Outcome(
        SendStatus.FAILED,
        _ms(started),
        http_status=exc.http_status,
        response_excerpt=exc.response_excerpt,
        error_class=exc.error_class,
        error_message=exc.message,
        retry_after=getattr(exc, "retry_after", None),
    )


def _json_field(response: httpx.Response, key: str) -> str | None:
    try:
        value = json.loads(response.content).get(key)
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) and value.strip() else None


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
