"""Kombo's concurrency cap: at most ``CONCURRENCY_LIMIT`` write actions in flight per integration.

``slots`` holds the two ways of counting them across processes (file locks beside a SQLite database,
advisory locks on PostgreSQL); ``http`` applies the cap to vendor API write routes and stamps
``Concurrency-Remaining`` on their responses.
"""
