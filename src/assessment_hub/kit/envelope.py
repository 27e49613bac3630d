"""The Kombo success envelope (kombo-contract.md §3.1): ``{status, data, warnings}``, warnings always present."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def success(data: Any, warnings: Sequence[str] = ()) -> dict[str, Any]:
    return {"status": "success", "data": data, "warnings": [{"message": m} for m in warnings]}
