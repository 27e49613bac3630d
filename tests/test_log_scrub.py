"""The net under every log line (``kit.logging.scrub_text``): addresses of people masked, a URL's user kept.

Found in review: the start-up line ``cannot open the database at postgresql+psycopg://hub@127.0.0.1/hub``
was logged as ``postgresql+psycopg:[email]/hub``, hiding which role and host were refused.
"""

from __future__ import annotations

import pytest

from assessment_hub.kit.logging import scrub_text


@pytest.mark.parametrize(
    "text",
    [
        "cannot open the database at postgresql+psycopg://hub@127.0.0.1:5432/hub: refused",
        "cannot open the database at postgresql+psycopg://hub:***@db.internal/hub: refused",
    ],
)
def test_a_urls_user_at_host_is_kept(text: str) -> None:
    assert scrub_text(text) == text


@pytest.mark.parametrize(
    "text, masked",
    [
        ("candidate ada.lovelace@example.com failed", "candidate [email] failed"),
        ("email:ada@example.com", "email:[email]"),
        ("<ada+test@mail.example.org>", "<[email]>"),
        ("files/ada@example.com", "files/[email]"),
    ],
)
def test_an_address_is_masked_wherever_it_is(text: str, masked: str) -> None:
    assert scrub_text(text) == masked
