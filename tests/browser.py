"""Real headless Chromium for the browser tests: Debian's ``/usr/bin/chromium`` driven by the ``playwright``
pip package (never ``playwright install``).

``browser`` (module fixture): a Playwright ``Browser``. Module-scoped on purpose: while Playwright's sync API is
running it owns the main thread's asyncio loop, so a session-wide browser made every later ``asyncio.run`` in the
suite fail with "cannot be called from a running event loop". Skipped, with the reason, where chromium or the
playwright package is missing (``.ci/run`` installs both).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = CHROMIUM if CHROMIUM.exists() else None
    if executable is None:
        found = shutil.which("chromium")
        if not found:
            pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
        executable = Path(found)
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(executable), headless=True, args=ARGS)
        try:
            yield launched
        finally:
            launched.close()
