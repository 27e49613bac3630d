"""The explicit connector registry: tool id -> connector class. A tool not listed cannot be connected.

A plain mapping of plain imports (no discovery, nothing lazy, nothing swallowed): a broken connector fails
at start-up. Only the layers above the connectors import it (``app``, ``cli``, ``admin``, ``connecting``,
the delivery worker); routes reach it as ``app.state.connectors``. Adding a connector: one import and one
line here (docs/architecture.md, "Adding a connector").
"""

from __future__ import annotations

from collections.abc import Mapping

from assessment_hub.connectors.ashby.connector import AshbyConnector
from assessment_hub.connectors.base import Connector, ConnectorContext
from assessment_hub.connectors.greenhouse.connector import GreenhouseConnector
from assessment_hub.connectors.lever.connector import LeverConnector
from assessment_hub.connectors.recruitee.connector import RecruiteeConnector
from assessment_hub.connectors.sandbox.connector import SandboxConnector
from assessment_hub.connectors.smartrecruiters.connector import SmartRecruitersConnector
from assessment_hub.connectors.teamtailor.connector import TeamtailorConnector
from assessment_hub.connectors.workable.connector import WorkableConnector

CONNECTORS: Mapping[str, type[Connector]] = {
    SandboxConnector.tool: SandboxConnector,
    AshbyConnector.tool: AshbyConnector,
    TeamtailorConnector.tool: TeamtailorConnector,
    GreenhouseConnector.tool: GreenhouseConnector,
    SmartRecruitersConnector.tool: SmartRecruitersConnector,
    WorkableConnector.tool: WorkableConnector,
    RecruiteeConnector.tool: RecruiteeConnector,
    LeverConnector.tool: LeverConnector,
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
