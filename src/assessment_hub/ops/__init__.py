"""Operating the hub: request ids and access lines, Prometheus metrics, ``/health`` and ``/ready``."""
