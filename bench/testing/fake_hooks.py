"""Hook overrides for the fake hub (``bench/run.py --hooks bench.testing.fake_hooks``).

Shows how the real hub plugs in: define any HUB HOOK of bench/run.py here.
"""

from __future__ import annotations

from typing import Any


def delivery_env(ats_url: str, vendor_url: str) -> dict[str, str]:
    return {"FAKE_HUB_ATS_URL": ats_url, "FAKE_HUB_VENDOR_URL": vendor_url}


def configure_delivery(ctx: Any, ats_url: str, vendor_url: str) -> None:
    return None  # the fake hub reads its targets from the environment


def create_order_request(ctx: Any, i: int) -> tuple[str, str, str, Any]:
    return f"new{i}", "POST", ctx.base_url + "/fake/orders", {"email": f"bench{i}@example.com"}
