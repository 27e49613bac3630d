"""The explicit connector registry: tool id -> connector class. A tool not listed cannot be connected.

Imports are plain (no discovery, nothing swallowed): a broken connector fails at start-up.
"""

from __future__ import annotations

from assessment_hub.connectors.ashby.connector import AshbyConnector
from assessment_hub.connectors.base import Connector, ConnectorContext
from assessment_hub.connectors.greenhouse.connector import GreenhouseConnector
from assessment_hub.connectors.sandbox.connector import SandboxConnector
from assessment_hub.connectors.teamtailor.connector import TeamtailorConnector

CONNECTORS: dict[str, type[Connector]] = {
    SandboxConnector.tool: SandboxConnector,
    AshbyConnector.tool: AshbyConnector,
    TeamtailorConnector.tool: TeamtailorConnector,
    GreenhouseConnector.tool: GreenhouseConnector,
}


def connector_class(tool: str) -> type[Connector]:
    """Raise ``KeyError`` naming the known tools when ``tool`` has no connector."""
    try:
        return CONNECTORS[tool]
    except KeyError:
        raise KeyError(f"unknown tool {tool!r}; known tools: {', '.join(sorted(CONNECTORS))}") from None


def build_connector(tool: str, context: ConnectorContext) -> Connector:
    """A fresh connector instance for one use."""
    return connector_class(tool)(context)
