"""Ashby for the tests: the package simulator (``assessment_hub.simulators.ashby``, where the protocol and every
check it makes are documented) with the fakes' test API (``tests.fakes._base.FakeCompat``)."""

from __future__ import annotations

from typing import Any

from assessment_hub.simulators.ashby import (
    BLOB_TYPES,
    SETUP_KEYS,
    AshbyRefusal,
    AshbySimulator,
    ProtocolViolation,
    blob_problems,
)

from ._base import FakeCompat

__all__ = ["FakeAshby", "AshbyRefusal", "ProtocolViolation", "SETUP_KEYS", "BLOB_TYPES", "blob_problems"]


class FakeAshby(FakeCompat, AshbySimulator):
    """``AshbySimulator`` whose default issued key is ``ashby-api-key``, as the tests have always used."""

    def __init__(self, *, ashby_api_key: str = "ashby-api-key", **kwargs: Any) -> None:
        super().__init__(ashby_api_key=ashby_api_key, **kwargs)

    @classmethod
    def from_setup(cls, setup: dict[str, str], **kwargs: Any) -> FakeAshby:
        missing = [k for k in SETUP_KEYS if not setup.get(k)]
        if missing:
            raise ValueError(f"Ashby setup values missing: {missing}")
        return cls(base_url=setup["base_url"], api_key=setup["api_key"], **kwargs)
