"""Lever: no assessment API; orders from Candidate Stage Change webhooks, results as notes (docs/connectors/lever.md)."""
