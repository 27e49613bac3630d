"""Recruitee's Partners API (assessment partners): docs/connectors/recruitee.md."""
