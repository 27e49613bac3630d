"""Greenhouse for the tests: the package simulator (``assessment_hub.simulators.greenhouse``, where the protocol and
every check it makes are documented) with the fakes' test API (``tests.fakes._base.FakeCompat``)."""

from __future__ import annotations

from typing import Any

from assessment_hub.simulators.greenhouse import (
    PATCH_PREFIX,
    SETUP_KEYS,
    GreenhouseSimulator,
    ProtocolViolation,
    validate_test_status,
)

from ._base import FakeCompat

__all__ = ["FakeGreenhouse", "PATCH_PREFIX", "ProtocolViolation", "SETUP_KEYS", "validate_test_status"]


class FakeGreenhouse(FakeCompat, GreenhouseSimulator):
    """``GreenhouseSimulator`` built from the hub's set-up values or given them one by one."""

    @classmethod
    def from_setup(cls, setup: dict[str, str], **kwargs: Any) -> FakeGreenhouse:
        """Build from the hub's setup values (keys: see SETUP_KEYS)."""
        missing = [k for k in SETUP_KEYS if not setup.get(k)]
        if missing:
            raise ValueError(f"Greenhouse setup values missing: {missing}")
        return cls(**{k: setup[k] for k in SETUP_KEYS}, **kwargs)
