"""The ATS tools the hub can connect: the connector registry, seen from the integrations side."""

from __future__ import annotations

from assessment_hub.connectors.registry import CONNECTORS, connector_class


def tool_label(tool_id: str) -> str:
    connector = CONNECTORS.get(tool_id)
    return connector.label if connector else tool_id


def check_tool(tool_id: str) -> None:
    """Raise ``KeyError`` naming the known tools when ``tool_id`` is not one of them."""
    connector_class(tool_id)
