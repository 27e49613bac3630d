"""Candidates' personal data: erasure on request (``erasure``) and after a retention period (``retention``)."""
