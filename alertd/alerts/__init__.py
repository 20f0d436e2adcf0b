"""The alert store: every active alert, from alertd's rules and (later) from clients."""
