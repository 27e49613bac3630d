"""The ATS tools the hub can connect, with their display data (GET /integrations/{id} ``tool``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tool:
    id: str
    label: str


TOOLS: dict[str, Tool] = {
    "sandbox": Tool("sandbox", "Assessment Hub Sandbox"),
}
"""Explicit registry: a tool is connectable only when listed here."""


def get_tool(tool_id: str) -> Tool:
    """Raise ``KeyError`` naming the known tools when ``tool_id`` is not one of them."""
    try:
        return TOOLS[tool_id]
    except KeyError:
        raise KeyError(f"unknown tool {tool_id!r}; known tools: {', '.join(sorted(TOOLS))}") from None
