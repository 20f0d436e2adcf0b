"""A silence's end is told once, however it comes: expired, replaced by an update, freed
by its alerts' resolution, or its end time passing (seen at a sweep). What shows a
silence (a Slack page) follows it through this. Time is a number passed in."""

from __future__ import annotations

from dataclasses import replace

from alertd.model import Labels
from alertd.silence import Silence, Silences
from tests.silence.conftest import HOUR, T0, MemoryRepository, sil

NOW = T0 + 10 * 60


class Ends:
    """An on_end listener that remembers what it was told."""

    def __init__(self) -> None:
        self.told: list[tuple[str, str | None]] = []

    def __call__(self, ended: Silence, successor: Silence | None) -> None:
        self.told.append((ended.id, successor.id if successor else None))


async def test_an_expired_silence_is_told_at_once_and_only_once() -> None:
    ends = Ends()
    silences = Silences(on_end=ends)
    sid = await silences.set(sil(start=NOW, end=NOW + HOUR), NOW)
    assert ends.told == []
    await silences.expire(sid, NOW + 60)
    assert ends.told == [(sid, None)]
    silences.sweep(NOW + 2 * HOUR)  # its end is long past: told already
    assert ends.told == [(sid, None)]


async def test_a_silence_whose_end_passes_is_told_at_the_next_sweep() -> None:
    ends = Ends()
    silences = Silences(on_end=ends)
    sid = await silences.set(sil(start=NOW, end=NOW + HOUR), NOW)
    silences.sweep(NOW + HOUR - 1)
    assert ends.told == []
    silences.sweep(NOW + HOUR)
    silences.sweep(NOW + HOUR + 10)
    assert ends.told == [(sid, None)]


async def test_an_update_that_replaces_a_silence_names_its_successor() -> None:
    ends = Ends()
    silences = Silences(on_end=ends)
    sid = await silences.set(sil("alertname=Foo", start=NOW, end=NOW + HOUR), NOW)
    old = silences.get(sid)
    assert old is not None
    # Other matchers cannot be changed in place: a new silence takes over.
    new = await silences.set(replace(old, matchers=sil("alertname=Bar").matchers), NOW + 60)
    assert new != sid and ends.told == [(sid, new)]
    # Changed in place (a later end): nothing ended.
    current = silences.get(new)
    assert current is not None
    await silences.set(replace(current, ends_at=NOW + 2 * HOUR), NOW + 120)
    assert ends.told == [(sid, new)]


async def test_a_silence_expired_on_resolve_is_told() -> None:
    ends = Ends()
    silences = Silences(on_end=ends)
    sid = await silences.set(sil("alertname=Foo", start=NOW, end=NOW + HOUR,
                                 expire_on_resolve=True), NOW)
    assert await silences.on_resolved(Labels({"alertname": "Foo"}), [], NOW + 60) == [sid]
    assert ends.told == [(sid, None)]


async def test_silences_that_ended_while_alertd_was_down_are_told_at_the_first_sweep() -> None:
    repo = MemoryRepository()
    before = Silences(repo)
    sid = await before.set(sil(start=NOW, end=NOW + HOUR), NOW)
    ends = Ends()
    after = await Silences.open(repo, NOW + 2 * HOUR, on_end=ends)
    after.sweep(NOW + 2 * HOUR)
    assert ends.told == [(sid, None)]


async def test_a_failing_listener_does_not_undo_the_expiry() -> None:
    def broken(ended: Silence, successor: Silence | None) -> None:
        raise RuntimeError("boom")

    silences = Silences(on_end=broken)
    sid = await silences.set(sil(start=NOW, end=NOW + HOUR), NOW)
    expired = await silences.expire(sid, NOW + 60)
    assert expired.state(NOW + 60) == "expired"
    stored = silences.get(sid)
    assert stored is not None and stored.ends_at == NOW + 60
