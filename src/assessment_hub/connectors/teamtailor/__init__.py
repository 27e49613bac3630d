"""Teamtailor Partner API connector (docs/connectors/teamtailor.md)."""
