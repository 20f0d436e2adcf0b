"""Fixtures shared by the receiver tests."""

from __future__ import annotations

# The real Mosquitto broker of the source tests, for the MQTT receiver's tests.
from tests.sources.conftest import mosquitto

__all__ = ["mosquitto"]
