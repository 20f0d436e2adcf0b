"""The HTTP API: Alertmanager's v2 (read side here), alertd's own, metrics and health."""
