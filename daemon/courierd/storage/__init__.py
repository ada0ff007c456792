"""Durable state on local disk: the event spool, the report spool and their one SQLite setup.

Adapters at the edge: these modules may import `courierd.domain`, never a worker or
another adapter.
"""
