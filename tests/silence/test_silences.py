"""The registry: Alertmanager's rules for set and expire, muting, expire_on_resolve, garbage
collection and write-through persistence. Time is a number passed in; nothing sleeps."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from alertd.model import Labels
from alertd.silence import (
    InvalidSilence,
    SilenceAlreadyExpired,
    SilenceNotFound,
    Silences,
)
from alertd.silence.silences import RETENTION, to_ms
from alertd.store import StoreError
from tests.silence.conftest import HOUR, T0, MemoryRepository, sil

NOW = T0 + 10 * 60  # ten minutes into the default silence


@pytest.fixture
def repo() -> MemoryRepository:
    return MemoryRepository()


@pytest.fixture
def silences(repo: MemoryRepository) -> Silences:
    return Silences(repo)


async def test_a_new_silence_gets_a_uuid4_and_is_written_before_set_returns(
        silences: Silences, repo: MemoryRepository) -> None:
    sid = await silences.set(sil(start=NOW, end=NOW + HOUR), NOW)
    assert uuid.UUID(sid).version == 4
    stored = silences.get(sid)
    assert stored is not None and repo.rows[sid] == stored
    assert (stored.starts_at, stored.ends_at, stored.updated_at) == (NOW, NOW + HOUR, NOW)
    assert stored.state(NOW) == "active"


async def test_a_new_silence_starting_in_the_past_starts_now(silences: Silences) -> None:
    sid = await silences.set(sil(start=NOW - HOUR, end=NOW + HOUR), NOW)
    s = silences.get(sid)
    assert s is not None and s.starts_at == NOW


async def test_a_given_id_of_a_new_silence_is_unknown(silences: Silences) -> None:
    with pytest.raises(SilenceNotFound, match="silence not found"):
        await silences.set(sil(sid=str(uuid.uuid4())), NOW)
    assert len(silences) == 0


async def test_times_are_kept_to_the_millisecond(silences: Silences) -> None:
    sid = await silences.set(sil(start=NOW + 1.2345678, end=NOW + 99.9999), NOW + 0.0004)
    s = silences.get(sid)
    assert s is not None
    assert (s.starts_at, s.ends_at, s.updated_at) == (NOW + 1.234, NOW + 99.999, NOW)
    assert to_ms(1_700_000_000.123) == 1_700_000_000.123  # exact values stay as they are


async def test_invalid_silences_are_refused_and_nothing_is_written(
        silences: Silences, repo: MemoryRepository) -> None:
    with pytest.raises(InvalidSilence, match="at least one matcher must not match"):
        await silences.set(sil('foo=~".*"'), NOW)
    assert repo.saves == [] and len(silences) == 0


# --- updates: in place, or expire and recreate, as Alertmanager decides --------------------

async def test_active_same_start_future_end_updates_in_place(
        silences: Silences, repo: MemoryRepository) -> None:
    sid = await silences.set(sil(start=T0, end=T0 + HOUR), T0)
    old = silences.get(sid)
    assert old is not None
    new_id = await silences.set(replace(old, ends_at=T0 + 2 * HOUR, comment="longer",
                                        created_by="bo", expire_on_resolve=True), NOW)
    assert new_id == sid and len(silences) == 1
    s = silences.get(sid)
    assert s is not None
    assert (s.starts_at, s.ends_at, s.comment, s.created_by, s.expire_on_resolve) == (
        T0, T0 + 2 * HOUR, "longer", "bo", True)
    assert s.updated_at == NOW
    assert repo.saves[-1] == (s,)


async def test_active_shortened_to_now_is_still_in_place(silences: Silences) -> None:
    sid = await silences.set(sil(start=T0, end=T0 + HOUR), T0)
    old = silences.get(sid)
    assert old is not None
    assert await silences.set(replace(old, ends_at=NOW), NOW) == sid
    s = silences.get(sid)
    assert s is not None and s.state(NOW) == "expired"


async def test_active_with_another_start_is_expired_and_recreated(
        silences: Silences, repo: MemoryRepository) -> None:
    sid = await silences.set(sil(start=T0, end=T0 + HOUR), T0)
    old = silences.get(sid)
    assert old is not None
    new_id = await silences.set(replace(old, starts_at=T0 + 60), NOW)
    assert new_id != sid and len(silences) == 2
    expired, created = silences.get(sid), silences.get(new_id)
    assert expired is not None and created is not None
    assert (expired.starts_at, expired.ends_at, expired.updated_at) == (T0, NOW, NOW)
    assert expired.state(NOW) == "expired"
    # The new one cannot start in the past: it starts now.
    assert (created.starts_at, created.ends_at, created.state(NOW)) == (NOW, T0 + HOUR, "active")
    # Both written together.
    assert {s.id for s in repo.saves[-1]} == {sid, new_id}


async def test_active_with_other_matchers_is_expired_and_recreated(silences: Silences) -> None:
    sid = await silences.set(sil('alertname="Foo"', start=T0), T0)
    old = silences.get(sid)
    assert old is not None
    new_id = await silences.set(replace(old, matchers=sil('alertname="Bar"').matchers), NOW)
    assert new_id != sid
    assert silences.mutes(Labels({"alertname": "Foo"}), NOW) == []
    assert silences.mutes(Labels({"alertname": "Bar"}), NOW) == [new_id]


async def test_matcher_order_is_part_of_a_silence(silences: Silences) -> None:
    sid = await silences.set(sil('a="1"', 'b="2"', start=T0), T0)
    old = silences.get(sid)
    assert old is not None
    assert await silences.set(replace(old, matchers=old.matchers[::-1]), NOW) != sid


async def test_active_moved_to_end_in_the_past_is_refused_and_changes_nothing(
        silences: Silences, repo: MemoryRepository) -> None:
    sid = await silences.set(sil(start=T0, end=T0 + HOUR), T0)
    old = silences.get(sid)
    assert old is not None
    saves = len(repo.saves)
    with pytest.raises(InvalidSilence, match="end time must not be before start time"):
        await silences.set(replace(old, ends_at=NOW - 1), NOW)
    # Alertmanager would have expired the old one already; here a refusal changes nothing.
    assert silences.get(sid) == old and len(silences) == 1 and len(repo.saves) == saves


async def test_pending_moved_to_another_future_start_is_in_place(silences: Silences) -> None:
    sid = await silences.set(sil(start=T0 + HOUR, end=T0 + 2 * HOUR), T0)
    old = silences.get(sid)
    assert old is not None and old.state(NOW) == "pending"
    assert await silences.set(replace(old, starts_at=T0 + 30 * 60), NOW) == sid
    # A start of exactly now is not in the past either.
    assert await silences.set(replace(old, starts_at=NOW), NOW) == sid
    s = silences.get(sid)
    assert s is not None and s.state(NOW) == "active"


async def test_pending_moved_to_a_past_start_is_expired_and_recreated(
        silences: Silences) -> None:
    sid = await silences.set(sil(start=T0 + HOUR, end=T0 + 2 * HOUR), T0)
    old = silences.get(sid)
    assert old is not None
    new_id = await silences.set(replace(old, starts_at=T0), NOW)
    assert new_id != sid
    expired, created = silences.get(sid), silences.get(new_id)
    assert expired is not None and created is not None
    # A pending silence is expired by making it start and end now.
    assert (expired.starts_at, expired.ends_at, expired.state(NOW)) == (NOW, NOW, "expired")
    assert (created.starts_at, created.state(NOW)) == (NOW, "active")


async def test_an_expired_silence_is_never_updated_a_new_one_is_made(
        silences: Silences, repo: MemoryRepository) -> None:
    sid = await silences.set(sil(start=T0, end=T0 + 60), T0)
    old = silences.get(sid)
    assert old is not None and old.state(NOW) == "expired"
    new_id = await silences.set(replace(old, ends_at=NOW + HOUR), NOW)
    assert new_id != sid
    assert silences.get(sid) == old  # left as it was, not expired a second time
    assert [s.id for s in repo.saves[-1]] == [new_id]


# --- expire ---------------------------------------------------------------------------------

async def test_expire_an_active_silence_ends_it_now(silences: Silences) -> None:
    sid = await silences.set(sil(start=T0, end=T0 + HOUR), T0)
    expired = await silences.expire(sid, NOW)
    assert (expired.starts_at, expired.ends_at, expired.updated_at) == (T0, NOW, NOW)
    assert silences.get(sid) == expired and expired.state(NOW) == "expired"


async def test_expire_a_pending_silence_starts_and_ends_it_now(silences: Silences) -> None:
    sid = await silences.set(sil(start=T0 + HOUR, end=T0 + 2 * HOUR), T0)
    expired = await silences.expire(sid, NOW)
    assert (expired.starts_at, expired.ends_at) == (NOW, NOW)
    assert expired.state(NOW) == "expired"


async def test_expire_an_expired_or_unknown_silence_is_an_error(silences: Silences) -> None:
    sid = await silences.set(sil(start=T0, end=T0 + HOUR), T0)
    await silences.expire(sid, NOW)
    with pytest.raises(SilenceAlreadyExpired, match=f"silence {sid} already expired"):
        await silences.expire(sid, NOW + 1)
    with pytest.raises(SilenceNotFound):
        await silences.expire(str(uuid.uuid4()), NOW)


# --- mutes ----------------------------------------------------------------------------------

async def test_mutes_with_every_operator(silences: Silences) -> None:
    eq = await silences.set(sil('alertname="Foo"'), T0)
    ne = await silences.set(sil('alertname="Foo"', 'env!="prod"'), T0)
    re_ = await silences.set(sil('severity=~"page|ticket"'), T0)
    nre = await silences.set(sil('alertname="Foo"', 'team!~"db.*"'), T0)

    def muting(**labels: str) -> set[str]:
        return set(silences.mutes(Labels(labels), NOW))

    assert muting(alertname="Foo", env="prod", team="dbre") == {eq}
    assert muting(alertname="Foo", env="dev", team="dbre") == {eq, ne}
    assert muting(alertname="Foo", env="prod", team="web") == {eq, nre}
    assert muting(alertname="Foo") == {eq, ne, nre}  # absent labels read as ""
    assert muting(alertname="Bar", severity="page") == {re_}
    assert muting(alertname="Bar", severity="pager") == set()  # regexes are anchored
    assert muting(alertname="Foo", severity="ticket", env="dev") == {eq, ne, re_, nre}
    # Any mapping will do.
    assert set(silences.mutes({"alertname": "Foo", "env": "prod", "team": "db"}, NOW)) == {eq}


async def test_only_active_silences_mute(silences: Silences) -> None:
    labels = Labels({"alertname": "Foo"})
    sid = await silences.set(sil(start=T0 + HOUR, end=T0 + 2 * HOUR), T0)
    assert silences.mutes(labels, T0) == []  # pending
    assert silences.mutes(labels, T0 + HOUR) == [sid]  # from its start, with no change made
    assert silences.mutes(labels, T0 + 2 * HOUR - 0.001) == [sid]
    assert silences.mutes(labels, T0 + 2 * HOUR) == []  # over at its end


async def test_the_mutes_cache_follows_every_change(silences: Silences) -> None:
    labels = Labels({"alertname": "Foo", "env": "prod"})
    assert silences.mutes(labels, NOW) == []
    version = silences.version
    first = await silences.set(sil('alertname="Foo"', start=T0), T0)
    assert silences.version > version
    assert silences.mutes(labels, NOW) == [first]
    second = await silences.set(sil('env="prod"', start=T0), T0)
    assert silences.mutes(labels, NOW) == sorted([first, second])
    await silences.expire(first, NOW)
    assert silences.mutes(labels, NOW) == [second]
    # An update in place that changes nothing about matching keeps the answer.
    s = silences.get(second)
    assert s is not None
    await silences.set(replace(s, comment="still here"), NOW)
    assert silences.mutes(labels, NOW) == [second]


async def test_many_silences_and_label_sets(silences: Silences) -> None:
    ids = [await silences.set(sil(f'alertname="A{i}"', 'severity=~"page|ticket"'), T0)
           for i in range(200)]
    for i in range(0, 200, 7):
        labels = Labels({"alertname": f"A{i}", "severity": "page"})
        assert silences.mutes(labels, NOW) == [ids[i]]
        assert silences.mutes(labels, NOW) == [ids[i]]  # from the cache
    assert silences.mutes(Labels({"alertname": "A1", "severity": "info"}), NOW) == []


# --- expire_on_resolve ----------------------------------------------------------------------

async def test_expire_on_resolve_when_nothing_it_matches_still_fires(silences: Silences) -> None:
    eor = await silences.set(sil('alertname="Foo"', expire_on_resolve=True), T0)
    plain = await silences.set(sil('alertname="Foo"'), T0)
    a = Labels({"alertname": "Foo", "instance": "a"})
    b = Labels({"alertname": "Foo", "instance": "b"})
    other = Labels({"alertname": "Bar"})
    # b still fires: the silence still has work to do.
    assert await silences.on_resolved(a, [b, other], NOW) == []
    assert silences.mutes(b, NOW) == sorted([eor, plain])
    # Now b resolves too, and only an unrelated alert fires.
    assert await silences.on_resolved(b, [other], NOW + 60) == [eor]
    expired = silences.get(eor)
    assert expired is not None
    assert (expired.ends_at, expired.state(NOW + 60)) == (NOW + 60, "expired")
    assert silences.mutes(b, NOW + 60) == [plain]  # a silence without the flag stays
    assert await silences.on_resolved(b, [], NOW + 120) == []


async def test_expire_on_resolve_ignores_pending_and_unrelated_silences(
        silences: Silences) -> None:
    await silences.set(sil('alertname="Foo"', start=T0 + HOUR, end=T0 + 2 * HOUR,
                           expire_on_resolve=True), T0)
    await silences.set(sil('alertname="Bar"', expire_on_resolve=True), T0)
    assert await silences.on_resolved(Labels({"alertname": "Foo"}), [], NOW) == []
    assert [s.state(NOW) for s in silences.query(now=NOW)] == ["active", "pending"]


# --- query ----------------------------------------------------------------------------------

async def test_query_by_state_and_filter_in_alertmanager_order(silences: Silences) -> None:
    a_late = await silences.set(sil('alertname="A"', start=T0, end=T0 + 3 * HOUR), T0)
    a_soon = await silences.set(sil('alertname="B"', start=T0, end=T0 + 2 * HOUR), T0)
    p_late = await silences.set(sil('alertname="A"', start=T0 + 5 * HOUR, end=T0 + 9 * HOUR), T0)
    p_soon = await silences.set(sil('alertname="B"', start=T0 + 4 * HOUR, end=T0 + 9 * HOUR), T0)
    e_old = await silences.set(sil('alertname="A"', start=T0, end=T0 + 60), T0)
    e_new = await silences.set(sil('alertname="B"', start=T0, end=T0 + 120), T0)
    assert [s.id for s in silences.query(now=NOW)] == [a_soon, a_late, p_soon, p_late, e_new,
                                                        e_old]
    assert [s.id for s in silences.query(states={"pending", "expired"}, now=NOW)] == [
        p_soon, p_late, e_new, e_old]
    from alertd.silence import parse_matcher

    assert [s.id for s in silences.query(filters=[parse_matcher('alertname="A"')],
                                         states={"active"}, now=NOW)] == [a_late]


# --- garbage collection and persistence -----------------------------------------------------

async def test_gc_forgets_silences_expired_longer_than_the_retention(
        silences: Silences, repo: MemoryRepository) -> None:
    old = await silences.set(sil(start=T0, end=T0 + 60), T0)
    live = await silences.set(sil(start=T0, end=T0 + HOUR), T0)
    assert RETENTION == 15 * 24 * HOUR  # longer than a weekly report and the one after
    assert await silences.gc(T0 + 60 + RETENTION) == []  # kept for exactly the retention
    version = silences.version
    assert await silences.gc(T0 + 60 + RETENTION + 1) == [old]
    assert silences.get(old) is None and old not in repo.rows
    assert silences.get(live) is not None and silences.version > version
    assert repo.deletes == [[old]]


async def test_load_reads_the_repository_and_collects_garbage(repo: MemoryRepository) -> None:
    first = Silences(repo, retention=HOUR)
    kept = await first.set(sil(start=T0, end=T0 + HOUR), T0)
    gone = await first.set(sil(start=T0, end=T0 + 60), T0)
    second = await Silences.open(repo, T0 + 60 + HOUR + 1, retention=HOUR)
    assert second.get(kept) == first.get(kept)
    assert second.get(gone) is None and gone not in repo.rows


async def test_a_failed_write_changes_nothing(silences: Silences,
                                              repo: MemoryRepository) -> None:
    sid = await silences.set(sil(start=T0, end=T0 + HOUR), T0)
    before = silences.get(sid)
    version = silences.version
    repo.fail = StoreError('database "x": cannot save silences: disk full')
    with pytest.raises(StoreError):
        await silences.set(sil('alertname="Bar"'), NOW)
    with pytest.raises(StoreError):
        await silences.expire(sid, NOW)
    with pytest.raises(StoreError):
        await silences.gc(T0 + HOUR + RETENTION + 1)
    assert silences.get(sid) == before and len(silences) == 1 and silences.version == version
    assert silences.mutes(Labels({"alertname": "Foo"}), NOW) == [sid]


async def test_memory_only_registry_works_without_a_repository() -> None:
    silences = Silences()
    sid = await silences.set(sil(), T0)
    await silences.expire(sid, NOW)
    assert await silences.gc(NOW + RETENTION + 1) == [sid]
