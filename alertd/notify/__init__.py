"""From an aggregation group's flush to delivered notifications: mute, dedup, send, record."""
