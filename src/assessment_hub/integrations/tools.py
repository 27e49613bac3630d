"""Display data of the ATS tools, from the connector registry."""

from __future__ import annotations

from assessment_hub.connectors.registry import CONNECTORS


def tool_label(tool_id: str) -> str:
    connector = CONNECTORS.get(tool_id)
    return connector.label if connector else tool_id
