"""delivery.policy: a separate policy per failure class, capped, bounded in age and attempts."""

from __future__ import annotations

import random
from datetime import timedelta

from assessment_hub.config import Settings
from assessment_hub.delivery.policy import next_attempt_delay
from assessment_hub.kit.timestamps import utcnow

SETTINGS = Settings(
    retry_base_s=5,
    retry_cap_s=3600,
    retry_max_age_s=48 * 3600,
    retry_max_attempts=200,
    needs_human_delay_s=900,
    needs_human_max_attempts=3,
    rate_limit_default_s=30,
)


def delay(error_class: str, attempts: int, age_s: float = 0, retry_after: float | None = None) -> float | None:
    now = utcnow()
    return next_attempt_delay(
        SETTINGS,
        error_class,
        attempts,
        now - timedelta(seconds=age_s),
        now,
        retry_after=retry_after,
        rng=random.Random(1),
    )


def test_transient_doubles_with_jitter_and_caps_at_an_hour() -> None:
    delays = [delay("transient", n) for n in range(1, 15)]
    assert 4 <= delays[0] <= 6 and 8 <= delays[1] <= 12 and 16 <= delays[2] <= 24
    assert max(delays) <= 3600 * 1.2 and delays[-1] >= 3600 * 0.8


def test_transient_keeps_trying_for_at_least_a_day_then_dies() -> None:
    total, attempts = 0.0, 0
    while (d := delay("transient", attempts + 1, age_s=total)) is not None:
        total += d
        attempts += 1
    assert total >= 24 * 3600 and attempts < SETTINGS.retry_max_attempts


def test_rate_limited_honours_retry_after_capped() -> None:
    assert delay("rate_limited", 1, retry_after=120) == 120
    assert delay("rate_limited", 1) == 30
    assert delay("rate_limited", 1, retry_after=10**6) == 3600


def test_needs_human_is_slow_and_bounded_bad_input_is_final() -> None:
    assert [delay("needs_human", n) for n in (1, 2, 3)] == [900, 900, None]
    assert delay("bad_input", 1) is None
    assert delay("transient", 1, age_s=48 * 3600) is None
