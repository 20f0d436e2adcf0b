"""The daemon's parts, each built from the configuration and replaced by a reload.

`alertd.daemon.Daemon` holds them together: `sources` (Prometheus, MQTT and the sinks of
pushed samples), `publish` (what each evaluation tells the alert store, the history and
the metrics), `persistence` (rule states and sample windows kept across restarts),
`reload` (the files watched and the outcome of the last reload), `maintenance` (the
periodic tasks) and `serve` (the HTTP API on its port, and what it reads and calls of
the daemon).
"""
