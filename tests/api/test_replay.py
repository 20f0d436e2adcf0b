"""Signatures already seen are remembered for their window only, in bounded memory."""

from __future__ import annotations

from alertd.api.replay import SeenSignatures
from alertd.clock import FakeClock

T0 = 1_800_000_000.0


def test_a_signature_is_refused_again_until_its_window_has_passed() -> None:
    clock = FakeClock(T0)
    seen = SeenSignatures(clock)
    assert seen.first_time("v0=aa", int(T0))
    clock.set(T0 + 299)
    assert not seen.first_time("v0=aa", int(T0))
    # Past the window Slack's verifier refuses the timestamp anyway; remembering it
    # longer would only cost memory.
    clock.set(T0 + 301)
    assert seen.first_time("v0=bb", int(T0 + 301))
    assert len(seen) == 1


def test_memory_stays_bounded_under_a_burst() -> None:
    clock = FakeClock(T0)
    seen = SeenSignatures(clock, capacity=3)
    for i in range(10):
        assert seen.first_time(f"v0={i}", int(T0))
    assert len(seen) == 3
    assert not seen.first_time("v0=9", int(T0))
