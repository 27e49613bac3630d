"""assessment-hub: a self-hosted hub between assessment vendors and applicant tracking systems.

The vendor-facing API is compatible with Kombo's Assessment API (see docs/api.md).
"""

__version__ = "0.1.0"
