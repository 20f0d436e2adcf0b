"""Silences persisted, on SQLite and on PostgreSQL (an unreachable PostgreSQL fails these)."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
from sqlalchemy import text

from alertd.model import LabelMatcher, Labels
from alertd.silence import RETENTION, Silence, Silences
from alertd.store import Store, StoreError
from tests.silence.conftest import HOUR, T0

NOW = T0 + 60.0


def everything(**changes: object) -> Silence:
    base = Silence(
        id=str(uuid.uuid4()),
        matchers=(LabelMatcher("alertname", "=", "ChurnLatencyP99High"),
                  LabelMatcher("env", "!=", "dév \"quoted\"\n"),
                  LabelMatcher("severity", "=~", "page|ticket"),
                  LabelMatcher("team", "!~", "db.*")),
        starts_at=T0 + 0.125,
        ends_at=T0 + HOUR + 0.999,
        updated_at=T0 + 0.001,
        created_by="ana@example.com",
        comment="déploiement ✓",
        expire_on_resolve=True,
        annotations=Labels({"ticket": "OPS-1"}),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


async def test_a_new_store_has_no_silences(store: Store) -> None:
    assert await store.silences.load_all() == []


async def test_silences_round_trip_exactly(store: Store) -> None:
    a = everything()
    b = everything(id=str(uuid.uuid4()), matchers=(LabelMatcher("job", "=", "x"),),
                   expire_on_resolve=False, annotations=Labels(), comment="", created_by="")
    await store.silences.save(a, b)
    loaded = await store.silences.load_all()
    assert loaded == sorted([a, b], key=lambda s: s.id)
    # Matchers keep their order, their operators and their regexes still match.
    got = next(s for s in loaded if s.id == a.id)
    assert [m.op for m in got.matchers] == ["=", "!=", "=~", "!~"]
    assert got.matches({"alertname": "ChurnLatencyP99High", "severity": "page"})
    assert not got.matches({"alertname": "ChurnLatencyP99High", "severity": "pager"})


async def test_save_replaces_by_id_and_delete_forgets(store: Store) -> None:
    a, b = everything(), everything(id=str(uuid.uuid4()))
    await store.silences.save(a, b)
    changed = everything(id=a.id, ends_at=T0 + 2 * HOUR, comment="longer")
    await store.silences.save(changed)
    assert {s.id: s for s in await store.silences.load_all()} == {a.id: changed, b.id: b}
    await store.silences.delete([a.id, "not-there"])
    assert await store.silences.load_all() == [b]
    await store.silences.delete([])
    await store.silences.save()
    assert await store.silences.load_all() == [b]


async def test_many_silences_deleted_in_chunks(store: Store) -> None:
    many = [everything(id=str(uuid.uuid4())) for _ in range(1200)]
    await store.silences.save(*many)
    assert len(await store.silences.load_all()) == 1200
    await store.silences.delete(s.id for s in many[:1100])
    assert {s.id for s in await store.silences.load_all()} == {s.id for s in many[1100:]}


async def test_a_silence_without_an_id_or_with_a_nan_time_is_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="cannot save silences: a silence without an id"):
        await store.silences.save(everything(id=""))
    with pytest.raises(StoreError, match="ends_at is not a finite time"):
        await store.silences.save(everything(), everything(ends_at=float("nan")))
    assert await store.silences.load_all() == []  # nothing of the batch was written


async def test_a_silence_that_cannot_be_read_is_left_out_alone_and_named(
        store: Store, caplog: pytest.LogCaptureFixture) -> None:
    a, b = everything(id="a"), everything(id="b")
    await store.silences.save(a, b)
    async with store.engine.begin() as conn:
        # A look-ahead, which Python's re accepted and RE2 (Prometheus's syntax) does not.
        await conn.execute(text("UPDATE silence SET matchers = :m WHERE id = 'a'"),
                           {"m": '[{"name":"x","value":"a(?=b)","isRegex":true,"isEqual":true}]'})
    assert [s.id for s in await store.silences.load_all()] == ["b"]
    assert 'silence "a" cannot be loaded and does not apply: invalid label matcher 0' in \
        caplog.text


async def test_the_registry_survives_a_restart(db_url: str) -> None:
    async with await Store.open(db_url) as store:
        silences = await Silences.open(store.silences, T0)
        kept = await silences.set(everything(id="", starts_at=T0, ends_at=T0 + HOUR), T0)
        expired = await silences.set(everything(id="", starts_at=T0, ends_at=T0 + 2 * HOUR), T0)
        await silences.expire(expired, NOW)
        replaced = silences.get(kept)
        assert replaced is not None
        # Not in place (another start): the old one is expired and a new one made, both
        # written before set returns.
        new = await silences.set(everything(id=kept, starts_at=NOW + HOUR,
                                            ends_at=NOW + 2 * HOUR), NOW)
        before = {s.id: s for s in silences}
    async with await Store.open(db_url) as store:
        after = await Silences.open(store.silences, NOW)
        assert {s.id: s for s in after} == before
        states = [s.state(NOW) for i in (kept, expired, new) if (s := after.get(i))]
        assert states == ["expired", "expired", "pending"]
        alert = Labels({"alertname": "ChurnLatencyP99High", "severity": "page"})
        assert after.mutes(alert, NOW + HOUR) == [new]
        # Garbage collection on load removes the rows too.
        collected = await Silences.open(store.silences, NOW + 3 * HOUR + RETENTION + HOUR)
        assert len(collected) == 0
        assert await store.silences.load_all() == []
