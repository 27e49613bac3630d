"""Sending: one prepared ``Job`` to its destination, as a ``Finished`` attempt (nothing is written here).

A webhook goes to the vendor endpoint (``delivery.senders.send_webhook``); a write-back goes through the
integration's connector (``connectors.registry.build_connector``), whose ``ConnectorError`` classes become
the attempt's failure class (``delivery.senders.connector_failure``). Any other exception while a
connector builds or sends its write-back is the hub's own failure (its database could not be used, as when
Ashby reads the revision timestamps with no free connection; or a fault in the connector): the attempt is
recorded as failed, class ``transient`` (retried with backoff), its message naming what failed, instead of
leaving the row claimed until its lease runs out with no attempt recorded. A job whose lease no longer
covers a whole send (``delivery_timeout_s``) is not sent at all: the worker gives its row back.
"""

from __future__ import annotations

import logging
import threading
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
from assessment_hub.errors import database_problem, first_line
from assessment_hub.kit.timestamps import utcnow

log = logging.getLogger("assessment_hub.worker")


class Sender:
    """Sends with the worker's one HTTP client (``delivery_timeout_s`` per request)."""

    def __init__(self, settings: Settings, http: httpx.Client) -> None:
        self.settings = settings
        self.http = http
        self._database_failures = 0
        """Write-backs failed on the hub's database since the last one that did not: one log line when they
        start, one when they stop (``_hub_failure``), not a line per attempt."""
        self._database_lock = threading.Lock()  # the senders' threads share the count

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
        order, context = target.order, target.context
        context.sent.clear()
        context.answered.clear()
        try:
            connector = build_connector(target.tool, context)
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
        except Exception as exc:  # the hub's own failure, not the ATS's answer
            outcome = self._hub_failure(target.tool, exc, sent=bool(context.sent))
        else:
            outcome = Outcome(SendStatus.SUCCEEDED, int((time.monotonic() - started) * 1000))
            if self._database_failures:
                self._database_answers()
        if context.sent:  # what went over HTTP, for the operator (delivery.requests)
            outcome.request_text = describe_request(context.sent[-1])
        if outcome.http_status is None and context.answered:
            outcome.http_status = context.answered[-1]
        return outcome

    def _hub_failure(self, tool: str, exc: Exception, *, sent: bool) -> Outcome:
        """The failed ``transient`` attempt for an exception that is neither the ATS's answer nor the network's:
        the hub's database could not be used (``errors.database_problem``: one warning per outage, no
        traceback) or a fault in the ``tool`` connector (logged with its traceback)."""
        when = "after the request was sent" if sent else "before anything was sent"
        if database_problem(exc) is not None:
            with self._database_lock:
                self._database_failures += 1
                first = self._database_failures == 1
            if first:
                log.warning(
                    "delivery worker: write-backs fail on the hub's database (%s); each is recorded as a failed "
                    "attempt and retried",
                    first_line(exc),
                )
            message = (
                f"the hub's database could not be used {when} ({first_line(exc)}); retried like a transient failure"
            )
        else:
            log.exception("the %s connector failed unexpectedly", tool)
            message = f"the {tool} connector failed unexpectedly {when} ({type(exc).__name__}: {first_line(exc)})"
        return Outcome(SendStatus.FAILED, error_class="transient", error_message=message)

    def _database_answers(self) -> None:
        with self._database_lock:
            failed, self._database_failures = self._database_failures, 0
        if failed:
            log.warning("delivery worker: write-backs use the hub's database again (after %d failed)", failed)
