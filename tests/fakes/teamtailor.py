"""Teamtailor for the tests: the package simulator (``assessment_hub.simulators.teamtailor``, where the protocol and
every check it makes are documented) with the fakes' test API (``tests.fakes._base.FakeCompat``)."""

from __future__ import annotations

from typing import Any

from assessment_hub.simulators.teamtailor import (
    API_VERSION,
    JSONAPI,
    RESULTS_PREFIX,
    SETUP_KEYS,
    ProtocolViolation,
    TeamtailorSimulator,
    WebhookDelivery,
    validate_attributes,
    validate_config,
)

from ._base import FakeCompat

__all__ = [
    "FakeTeamtailor",
    "WebhookDelivery",
    "ProtocolViolation",
    "SETUP_KEYS",
    "API_VERSION",
    "JSONAPI",
    "RESULTS_PREFIX",
    "validate_attributes",
    "validate_config",
]


class FakeTeamtailor(FakeCompat, TeamtailorSimulator):
    """``TeamtailorSimulator`` whose default issued key is ``tt-partner-api-key``, as the tests have always used."""

    def __init__(self, *, partner_api_key: str = "tt-partner-api-key", **kwargs: Any) -> None:
        super().__init__(partner_api_key=partner_api_key, **kwargs)

    @classmethod
    def from_setup(cls, setup: dict[str, str], **kwargs: Any) -> FakeTeamtailor:
        missing = [k for k in SETUP_KEYS if not setup.get(k)]
        if missing:
            raise ValueError(f"Teamtailor setup values missing: {missing}")
        return cls(base_url=setup["base_url"], provider_key=setup["provider_key"], **kwargs)
