"""Retry policy: how long to wait after a failed attempt, per failure class, and when to give up.

Classes (``connectors.base`` and ``delivery.senders`` produce them):
- ``transient`` (timeouts, refused connections, 5xx, unexpected 4xx from a vendor): exponential backoff
  from ``retry_base_s``, doubling, capped at ``retry_cap_s``, with ±20 % jitter, until
  ``retry_max_age_s`` after the message was created or ``retry_max_attempts``;
- ``rate_limited`` (429): the server's ``Retry-After`` (or ``rate_limit_default_s`` without a readable one),
  never less than the transient backoff for that attempt (so ``Retry-After: 0`` or a past date cannot make
  the hub retry at once; shared/cases/retry-after-floor.json), capped, same limits;
- ``needs_human`` (credentials refused, setting missing): every ``needs_human_delay_s``, dead after
  ``needs_human_max_attempts`` attempts; an operator retries it once fixed;
- ``bad_input`` (the ATS refused this payload): dead at once, retrying the same payload cannot help.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from assessment_hub.config import Settings


def next_attempt_delay(
    settings: Settings,
    error_class: str,
    attempts: int,
    created_at: datetime,
    now: datetime,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float | None:
    """Seconds until the next attempt after ``attempts`` failed ones, or None when the message is dead."""
    if error_class == "bad_input":
        return None
    if error_class == "needs_human":
        return None if attempts >= settings.needs_human_max_attempts else settings.needs_human_delay_s
    if attempts >= settings.retry_max_attempts:
        return None
    if error_class == "rate_limited":
        asked = retry_after if retry_after is not None else settings.rate_limit_default_s
        delay = min(max(asked, settings.retry_base_s * 2 ** (attempts - 1)), settings.retry_cap_s)
    else:
        delay = min(settings.retry_base_s * 2 ** (attempts - 1), settings.retry_cap_s)
        delay *= (rng or random).uniform(0.8, 1.2)
    if now + timedelta(seconds=delay) > created_at + timedelta(seconds=settings.retry_max_age_s):
        return None
    return delay
