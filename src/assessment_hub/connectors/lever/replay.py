"""How long the hub remembers a Lever delivery ``token``, and when a delivery is too old to order.

Lever signs ``token + triggeredAt``, not the body (ats-protocols-2.md §4.2, SECONDARY), and a signature never
expires: whoever saw one delivery can post its ``token``, ``triggeredAt`` and ``signature`` again with another
``data``. So the webhook remembers each signed token with a digest of its body (``intake.remember_event``) and
refuses the token with another body. Lever's retry policy is not documented (§4.2, §5: UNCONFIRMED), so no past
``triggeredAt`` is refused for its age alone, but the memory has to end somewhere:

- a token is remembered until its ``triggeredAt`` is ``REPLAY_WINDOW_S`` (30 days) old, plus ``CLOCK_MARGIN_S``
  (an hour, for the hub's processes not sharing one clock): the expiry is measured from the signed
  ``triggeredAt``, on the hub's clock, so Lever's clock does not matter and a late first delivery is
  remembered no longer than needed;
- a delivery triggered more than ``REPLAY_WINDOW_S`` ago (or whose ``triggeredAt`` is not Unix milliseconds)
  may no longer be remembered, so it cannot be told from a replay: it creates no NEW order (``is_stale``). It
  is still answered as any other: ignored when its stage orders nothing, "Already ordered." with the order its
  token made (kept on the order as long as the order keeps its data);
- a delivery triggered more than ``CLOCK_MARGIN_S`` in the future is stale too (no clock is that far ahead):
  so the memory can be capped at ``REPLAY_WINDOW_S`` + 2 x ``CLOCK_MARGIN_S`` from now whatever Lever signs
  (``keep_s``), and a token once forgotten still makes no new order.

So a genuine delivery is refused only when Lever sends it for the first time, or keeps retrying it after the
hub failed it, more than 30 days after it was triggered; published retry schedules of webhook senders end
within hours to a few days, and the refusal leaves a notice for the vendor naming the opportunity and stage.
The memory holds one row per signed delivery of the last 30 days (about 260 bytes with its indexes on
PostgreSQL).
"""

from __future__ import annotations

import time

REPLAY_WINDOW_S = 30 * 24 * 3600
CLOCK_MARGIN_S = 3600
# The largest triggeredAt accepted (schemas.Delivery): 9999-12-31T23:59:59.999Z, the last instant the hub
# represents (kit/timestamps.py, years 1-9999), and below 2**53, so a JavaScript sender writes it exactly.
MAX_TRIGGERED_AT_MS = 253_402_300_799_999


def digits_ms(text: str) -> int | None:
    """``text`` (surrounding spaces aside) as a whole number when it is ASCII digits alone, else None.

    Not other Unicode digits (``"١٧١٤"``, ``"１７１４"``, ``"²"``), which ``str.isdigit()`` accepts and ``int()``
    reads or refuses with Python's own message; more than 15 significant digits (past
    ``MAX_TRIGGERED_AT_MS``) give ``MAX_TRIGGERED_AT_MS + 1`` without converting them, and leading zeros are
    dropped first (``int()`` refuses a string over 4,300 digits)."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()):
        return None
    significant = text.lstrip("0")
    return MAX_TRIGGERED_AT_MS + 1 if len(significant) > len(str(MAX_TRIGGERED_AT_MS)) else int(significant or "0")


def triggered_s(triggered_at: int | str) -> float | None:
    """``triggeredAt`` (Unix milliseconds, a number or its ASCII digits) in Unix seconds; None when it is neither."""
    if isinstance(triggered_at, int):
        return triggered_at / 1000
    number = digits_ms(triggered_at)
    return None if number is None else number / 1000


def is_stale(triggered_at: int | str, *, now: float | None = None) -> bool:
    """True when the delivery was triggered more than ``REPLAY_WINDOW_S`` ago, more than ``CLOCK_MARGIN_S``
    in the future (``is_future``), or at no readable instant."""
    instant = triggered_s(triggered_at)
    now = time.time() if now is None else now
    return instant is None or now - instant > REPLAY_WINDOW_S or is_future(triggered_at, now=now)


def is_future(triggered_at: int | str, *, now: float | None = None) -> bool:
    """True when ``triggeredAt`` is more than ``CLOCK_MARGIN_S`` after now (on the hub's clock)."""
    instant = triggered_s(triggered_at)
    return instant is not None and instant - (time.time() if now is None else now) > CLOCK_MARGIN_S


def keep_s(triggered_at: int | str, *, now: float | None = None) -> float:
    """Seconds from now to remember the delivery's token: until ``triggeredAt`` + ``REPLAY_WINDOW_S`` +
    ``CLOCK_MARGIN_S``, at least ``CLOCK_MARGIN_S`` (a stale delivery's too), at most ``REPLAY_WINDOW_S`` +
    2 x ``CLOCK_MARGIN_S``: that is as long as any delivery that is not stale needs (it is triggered at most
    ``CLOCK_MARGIN_S`` ahead), so a far-future ``triggeredAt`` (stale, ``is_stale``) keeps no token longer."""
    instant = triggered_s(triggered_at)
    left = 0.0 if instant is None else instant + REPLAY_WINDOW_S - (time.time() if now is None else now)
    return min(max(left, 0.0), REPLAY_WINDOW_S + CLOCK_MARGIN_S) + CLOCK_MARGIN_S
