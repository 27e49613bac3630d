"""Sending: one prepared ``Job`` to its destination, as a ``Finished`` attempt (nothing is written here).

A webhook goes to the vendor endpoint (``delivery.senders.send_webhook``); a write-back goes through the
integration's connector (``connectors.registry.build_connector``), whose ``ConnectorError`` classes become
the attempt's failure class (``delivery.senders.connector_failure``). A job whose lease no longer covers a
whole send (``delivery_timeout_s``) is not sent at all: the worker gives its row back.
"""

from __future__ import annotations

import time
from datetime import timedelta

import httpx

from assessment_hub.config import Settings
from assessment_hub.connectors.base import ConnectorError
from assessment_hub.connectors.registry import build_connector
from assessment_hub.delivery.jobs import Finished, Job, WebhookTarget, WritebackTarget
from assessment_hub.delivery.requests import describe_request
from assessment_hub.delivery.senders import Outcome, connector_failure, send_webhook
from assessment_hub.delivery.states import SendStatus
from assessment_hub.kit.timestamps import utcnow


class Sender:
    """Sends with the worker's one HTTP client (``delivery_timeout_s`` per request)."""

    def __init__(self, settings: Settings, http: httpx.Client) -> None:
        self.settings = settings
        self.http = http

    def send(self, job: Job) -> Finished | None:
        """Send ``job``; None (nothing sent) when its lease no longer covers a whole send."""
        started_at = utcnow()
        if (
            job.lease_until is not None
            and started_at + timedelta(seconds=self.settings.delivery_timeout_s) >= job.lease_until
        ):
            return None
        started = time.monotonic()
        target = job.target
        if job.superseded:
            outcome = Outcome(SendStatus.SUPERSEDED, error_message="a newer write-back of this order exists; not sent")
        elif target is None:
            outcome = Outcome(
                SendStatus.FAILED,
                error_class="bad_input",
                error_message="the destination no longer exists (endpoint or integration deleted)",
            )
        elif isinstance(target, WebhookTarget):
            outcome = send_webhook(
                self.http, target.url, target.secret, job.body or "", job.action, self.settings.delivery_timeout_s
            )
        else:
            outcome = self._send_writeback(job.action, target, started)
        return Finished(job.outbox_id, outcome, started_at, utcnow())

    def _send_writeback(self, action: str, target: WritebackTarget, started: float) -> Outcome:
        """``result``: ``write_result``; ``rejection``: ``write_rejection`` with the vendor's message."""
        connector = build_connector(target.tool, target.context)
        order, context = target.order, target.context
        context.sent.clear()
        context.answered.clear()
        try:
            if action == "result":
                assert target.result is not None
                connector.write_result(order, target.result)
            else:
                connector.write_rejection(order, order.rejection_message or "The vendor rejected the order.")
        except ConnectorError as exc:
            outcome = connector_failure(exc, started)
        except httpx.TimeoutException:
            outcome = Outcome(
                SendStatus.FAILED, error_class="transient", error_message="the ATS did not answer in time"
            )
        except httpx.HTTPError as exc:
            outcome = Outcome(SendStatus.FAILED, error_class="transient", error_message=f"{type(exc).__name__}: {exc}")
        else:
            outcome = Outcome(SendStatus.SUCCEEDED, int((time.monotonic() - started) * 1000))
        if context.sent:  # what went over HTTP, for the operator (delivery.requests)
            outcome.request_text = describe_request(context.sent[-1])
        if outcome.http_status is None and context.answered:
            outcome.http_status = context.answered[-1]
        return outcome
