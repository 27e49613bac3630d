"""Simulated ATSs, part of the product: each is a real HTTP server on loopback that plays one ATS's side of its
assessment-partner protocol. It calls the hub the way that ATS does (its client side) and takes the hub's
write-backs (its server side), refusing every request that deviates from the protocol. ``assessment-hub
simulate <tool>`` runs one for a vendor to point an integration at and click through (``GET /``);
``assessment-hub demo --tool <tool>`` and the tests drive the same classes.

Shared plumbing in ``base.py``; one module per ATS. Simulators speak HTTP only: they import nothing of the hub
but ``kit`` (docs/architecture.md)."""
