"""Where samples come from: Prometheus (pull), webhook and MQTT (push)."""
