"""Running the daemon: the HTTP server (/healthz, /metrics), metrics, logs and systemd.

Leaf modules: they import nothing of courierd but each other, so every other
subpackage may use them.
"""
