"""The Greenhouse Assessment Partner API connector (docs/connectors/greenhouse.md)."""
