"""The shared browser for tests: Debian's ``chromium`` driven by the ``playwright`` pip package.

Never ``playwright install`` (no browser downloads): the browser is ``/usr/bin/chromium`` (``apt-get install
chromium``; ``.ci/run`` installs it when missing). Tests that take the session-scoped ``browser`` fixture are
skipped, with one line saying how to get it, when it is missing. Mark them ``@pytest.mark.browser``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SKIP_REASON = "no /usr/bin/chromium: install Debian's chromium (apt-get install -y chromium) to run browser tests"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A headless Playwright ``Browser`` on /usr/bin/chromium, shared by the session's tests."""
    if not CHROMIUM.exists():
        pytest.skip(SKIP_REASON)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        try:
            yield launched
        finally:
            launched.close()
