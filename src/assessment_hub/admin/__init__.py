"""The operator's admin API (``/admin/*``): a thin HTTP layer over the services, behind its own key."""
