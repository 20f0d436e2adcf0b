"""The store's contract, run against SQLite and PostgreSQL alike (see conftest.py)."""

from __future__ import annotations

import asyncio
import functools
import math
import socket
import struct
import subprocess
import sys
import textwrap
import traceback
from array import array
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from sqlalchemy import Connection, event, insert, inspect, select, text
from sqlalchemy.engine import make_url

from alertd.model import Labels
from alertd.rules.state import Health, Instance, RuleState, Status
from alertd.series import STALE_NAN, is_stale
from alertd.store import (
    LATEST_VERSION,
    MIGRATIONS,
    SchemaVersionError,
    Store,
    StoreError,
)
from alertd.store.db import open_database, schema_version
from alertd.store.migrations import Migration, migrate
from tests.store.conftest import PG_PASSWORD

INF = math.inf
OTHER_NAN = struct.unpack(">d", bytes.fromhex("fff8000000000123"))[0]  # negative, with payload


def bits(x: float | None) -> str | None:
    return None if x is None else struct.pack(">d", x).hex()


def canon(states: Mapping[str, RuleState]) -> dict[str, Any]:
    """States as plain data, floats as their bits: NaN == NaN, and -0.0 != 0.0."""
    out: dict[str, Any] = {}
    for name, st in states.items():
        instances = {}
        for labels, i in st.instances.items():
            assert labels == i.labels
            instances[labels] = (
                i.labels.items_tuple, i.expr_labels.items_tuple, i.status, bits(i.active_at),
                bits(i.value), bits(i.fired_at), bits(i.resolved_at), bits(i.keep_firing_since),
                bits(i.last_seen), i.nodata)
        out[name] = (st.health, st.last_error, bits(st.last_eval), st.nodata, instances)
    return out


def inst(status: Status, value: float, *, nodata: bool = False, **labels: str) -> Instance:
    expr = Labels(labels)
    return Instance(labels=expr.merged({"alertname": "X", "severity": "page"}),
                    expr_labels=expr, status=status, active_at=1_700_000_000.125, value=value,
                    nodata=nodata)


def state(*instances: Instance, health: Health = Health.OK, last_error: str | None = None,
          last_eval: float | None = 1_700_000_100.5, nodata: bool = False) -> RuleState:
    return RuleState(MappingProxyType({i.labels: i for i in instances}), health, last_error,
                     last_eval, nodata)


def complex_states() -> dict[str, RuleState]:
    firing = inst(Status.FIRING, math.nan, model="churn", version="v2")
    return {
        "ChurnLatencyP99High": state(
            Instance(Labels({"alertname": "ChurnLatencyP99High", "model_version": "v1"}),
                     Labels({"model_version": "v1"}), Status.PENDING, 10.0, 0.125,
                     last_seen=40.0),
            Instance(firing.labels, firing.expr_labels, Status.FIRING, 10.0, math.nan,
                     fired_at=70.0, keep_firing_since=130.0, last_seen=100.0),
            inst(Status.RESOLVED, INF, model="résolu", note='a "quoted"\nline\\'),
            inst(Status.INACTIVE, -INF, model="gone"),
            inst(Status.FIRING, -0.0, model="zero"),
            inst(Status.FIRING, 5e-324, model="tiny"),
            inst(Status.FIRING, 1.7976931348623157e308, model="huge"),
            inst(Status.FIRING, OTHER_NAN, model="payload"),
            inst(Status.FIRING, STALE_NAN, model="stale"),
            Instance(Labels({"alertname": "NoData"}), Labels(), Status.FIRING, 5.0, 1.0,
                     fired_at=5.0, resolved_at=None, last_seen=5.0, nodata=True),
        ),
        "ChurnErrors": state(
            Instance(Labels({"alertname": "ChurnErrors", "empty": ""}), Labels({"empty": ""}),
                     Status.RESOLVED, 1.0, 0.5, fired_at=2.0, resolved_at=3.0, last_seen=2.5),
            health=Health.ERROR,
            last_error='prometheus: 503 "Service Unavailable"\nretry later — ünïcode',
        ),
        "Quiet": RuleState(),
        "NoSamples": state(last_eval=INF, nodata=True),
        "Drift: churn/ü 🙂": state(inst(Status.PENDING, 0.3, feature="age"), last_eval=-INF),
    }


def windows() -> list[tuple[Labels, Sequence[float], Sequence[float]]]:
    many = 10_000
    return [
        (Labels({"__name__": "predict_latency_seconds", "model": "churn"}),
         [1.0, 2.0, 3.0, 4.0], [0.1, STALE_NAN, math.nan, OTHER_NAN]),
        (Labels({"__name__": "empty"}), [], []),
        (Labels({"__name__": "extremes", "é": 'x"y'}),
         (1.5, 2.5, 3.5, 4.5, 5.5), (INF, -INF, -0.0, 5e-324, -1.7976931348623157e308)),
        (Labels({"__name__": "long"}), array("d", (float(t) for t in range(many))),
         array("d", (t / 7 for t in range(many)))),
    ]


def window_bits(
    series: Sequence[tuple[Labels, Sequence[float], Sequence[float]]],
) -> list[tuple[tuple[tuple[str, str], ...], list[str | None], list[str | None]]]:
    return [(labels.items_tuple, [bits(t) for t in ts], [bits(v) for v in vs])
            for labels, ts, vs in series]


# Rule states


async def test_a_new_store_is_empty(store: Store) -> None:
    assert await store.rule_states.load() == {}
    assert await store.windows.load() == []


async def test_rule_states_round_trip_exactly(store: Store) -> None:
    saved = complex_states()
    await store.rule_states.save(saved)

    loaded = await store.rule_states.load()

    assert canon(loaded) == canon(saved)
    for st in loaded.values():
        assert type(st.health) is Health
        assert isinstance(st.instances, Mapping)
        for labels, i in st.instances.items():
            assert isinstance(labels, Labels) and isinstance(i.labels, Labels)
            assert isinstance(i.expr_labels, Labels)
            assert type(i.status) is Status
    stale = loaded["ChurnLatencyP99High"].instances[inst(Status.FIRING, 0, model="stale").labels]
    assert is_stale(stale.value)


async def test_save_overwrites_a_rule_and_replaces_its_instances(store: Store) -> None:
    a, b, c = (inst(Status.PENDING, 1.0, model=m) for m in "abc")
    await store.rule_states.save({"R": state(a, b), "Other": state(c)})

    firing_b = Instance(b.labels, b.expr_labels, Status.FIRING, b.active_at, 2.0, fired_at=9.0)
    await store.rule_states.save({"R": state(firing_b, c, health=Health.ERROR,
                                             last_error="boom", last_eval=None)})

    loaded = await store.rule_states.load()
    assert canon(loaded) == canon({"R": state(firing_b, c, health=Health.ERROR,
                                              last_error="boom", last_eval=None),
                                   "Other": state(c)})


async def test_saving_nothing_changes_nothing(store: Store) -> None:
    await store.rule_states.save({"R": state(inst(Status.FIRING, 1.0))})
    await store.rule_states.save({})
    assert list(await store.rule_states.load()) == ["R"]


async def test_a_rule_can_lose_all_its_instances(store: Store) -> None:
    await store.rule_states.save({"R": state(inst(Status.FIRING, 1.0, model="a"))})
    await store.rule_states.save({"R": state()})
    assert (await store.rule_states.load())["R"].instances == {}


async def test_delete_forgets_only_the_named_rules(store: Store) -> None:
    await store.rule_states.save({n: state(inst(Status.FIRING, 1.0, model=n)) for n in "ABC"})

    await store.rule_states.delete(name for name in ["A", "missing", "A", "C"])
    await store.rule_states.delete([])

    assert list(await store.rule_states.load()) == ["B"]


async def test_many_rules_and_instances(store: Store) -> None:
    # More names than one IN (...) takes, and one rule with many instances.
    saved = {f"rule{n:04d}": state(inst(Status.FIRING, n, model="a"),
                                   inst(Status.PENDING, -n, model="b"))
             for n in range(1201)}
    saved["big"] = state(*(inst(Status.FIRING, n / 3, shard=str(n)) for n in range(3000)))
    await store.rule_states.save(saved)
    assert canon(await store.rule_states.load()) == canon(saved)

    await store.rule_states.save({n: state() for n in list(saved)[:1100]})
    await store.rule_states.delete(list(saved)[1000:])

    loaded = await store.rule_states.load()
    assert len(loaded) == 1000
    assert all(not st.instances for st in loaded.values())


async def test_a_nan_time_is_refused_and_nothing_is_written(store: Store) -> None:
    await store.rule_states.save({"R": state(inst(Status.FIRING, 1.0))})

    with pytest.raises(StoreError, match='rule "S": last_eval is NaN'):
        await store.rule_states.save({"R": state(), "S": state(last_eval=math.nan)})

    assert len((await store.rule_states.load())["R"].instances) == 1


# Windows


async def test_windows_round_trip_every_bit(store: Store) -> None:
    saved = windows()
    await store.windows.save(saved)

    loaded = await store.windows.load()

    assert window_bits(loaded) == window_bits(saved)
    assert is_stale(loaded[0][2][1]) and not is_stale(loaded[0][2][2])
    for labels, ts, vs in loaded:
        assert isinstance(labels, Labels) and type(ts) is list and type(vs) is list


async def test_windows_save_replaces_the_whole_snapshot(store: Store) -> None:
    first = windows()
    await store.windows.save(first)
    second = [(Labels({"__name__": "new"}), [7.0], [STALE_NAN])]

    await store.windows.save(iter(second))
    assert window_bits(await store.windows.load()) == window_bits(second)

    await store.windows.save([])
    assert await store.windows.load() == []


async def test_a_series_that_cannot_be_stored_is_left_out_of_the_snapshot_alone(
        store: Store) -> None:
    good = [(Labels({"__name__": "a"}), [1.0], [1.0]), (Labels({"__name__": "c"}), [3.0], [3.0])]
    bad = (Labels({"__name__": "b", "model": "\ud800"}), [2.0], [2.0])
    await store.windows.save([good[0], bad, good[1]])
    assert window_bits(await store.windows.load()) == window_bits(good)


async def test_windows_of_unequal_lengths_are_refused(store: Store) -> None:
    await store.windows.save(windows())

    with pytest.raises(StoreError, match=r'series \{__name__="bad"\} has 2 timestamps and 1'):
        await store.windows.save([(Labels({"__name__": "ok"}), [1.0], [1.0]),
                                  (Labels({"__name__": "bad"}), [1.0, 2.0], [1.0])])

    assert window_bits(await store.windows.load()) == window_bits(windows())


# Atomicity and durability


class Crash(Exception):
    pass


async def test_a_failed_save_leaves_the_previous_snapshot(store: Store) -> None:
    await store.windows.save(windows())
    await store.rule_states.save(complex_states())

    # The DELETEs of the new saves run, then their INSERTs fail.
    for engine in store.sync_engines:
        event.listen(engine, "before_cursor_execute", _crash_on_insert)
    try:
        with pytest.raises(Crash):
            await store.windows.save([(Labels({"__name__": "new"}), [1.0], [1.0])])
        with pytest.raises(Crash):
            await store.rule_states.save({"ChurnErrors": state(inst(Status.FIRING, 1.0))})
    finally:
        for engine in store.sync_engines:
            event.remove(engine, "before_cursor_execute", _crash_on_insert)

    assert window_bits(await store.windows.load()) == window_bits(windows())
    assert canon(await store.rule_states.load()) == canon(complex_states())


def _crash_on_insert(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
    if statement.lstrip().upper().startswith("INSERT"):
        raise Crash(statement)


_KILLED_MID_SAVE = textwrap.dedent("""
    import asyncio, os, sys
    from sqlalchemy import event
    from alertd.model import Labels
    from alertd.store import Store

    def die_on_insert(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("INSERT"):
            os._exit(3)  # as a kill -9 would, between the DELETE and the INSERT

    async def main():
        store = await Store.open(sys.argv[1])
        await store.windows.save([(Labels({"__name__": "old"}), [1.0], [2.0])])
        for engine in store.sync_engines:
            event.listen(engine, "before_cursor_execute", die_on_insert)
        await store.windows.save([(Labels({"__name__": "new"}), [3.0], [4.0])])

    asyncio.run(main())
""")


async def test_a_process_killed_mid_save_leaves_the_previous_snapshot(db_url: str) -> None:
    proc = subprocess.run([sys.executable, "-c", _KILLED_MID_SAVE, db_url],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 3, proc.stderr

    async with await Store.open(db_url) as store:
        assert await store.windows.load() == [(Labels({"__name__": "old"}), [1.0], [2.0])]


async def test_concurrent_saves_serialise(db_url: str) -> None:
    # Two writers at once (two replicas, or two snapshot tasks): each save is whole.
    one, two = await Store.open(db_url), await Store.open(db_url)
    try:
        for n in range(5):
            series = [[(Labels({"__name__": f"{who}{n}", "i": str(i)}), [1.0], [float(i)])
                       for i in range(50)] for who in ("one", "two")]
            forward = {name: state(inst(Status.FIRING, n, model=name)) for name in "ABCDEF"}
            backward = {name: state(inst(Status.PENDING, -n, model=name))
                        for name in reversed("ABCDEF")}
            await asyncio.gather(one.windows.save(series[0]), two.windows.save(series[1]),
                                 one.rule_states.save(forward), two.rule_states.save(backward))

            loaded = await one.windows.load()
            assert window_bits(loaded) in (window_bits(series[0]), window_bits(series[1]))
            assert canon(await one.rule_states.load()) in (canon(forward), canon(backward))
    finally:
        await one.close()
        await two.close()


async def test_reopening_keeps_everything(db_url: str) -> None:
    async with await Store.open(db_url) as store:
        await store.rule_states.save(complex_states())
        await store.windows.save(windows())

    async with await Store.open(db_url) as store:
        assert canon(await store.rule_states.load()) == canon(complex_states())
        assert window_bits(await store.windows.load()) == window_bits(windows())


async def test_a_url_without_driver_gets_the_asyncio_one(db_url: str) -> None:
    bare = db_url.replace("+aiosqlite", "").replace("+asyncpg", "")
    async with await Store.open(bare) as store:
        assert store.url.split(":")[0] in ("sqlite+aiosqlite", "postgresql+asyncpg")
        await store.windows.save([(Labels({"__name__": "m"}), [1.0], [1.0])])
        assert len(await store.windows.load()) == 1


# Migrations


async def _versions(store: Store) -> list[tuple[int, str, Any]]:
    async with store.engine.connect() as conn:
        rows = await conn.execute(select(schema_version).order_by(schema_version.c.version))
        return [(r.version, r.description, r.applied_at) for r in rows]


async def test_open_applies_every_migration_once(db_url: str) -> None:
    async with await Store.open(db_url) as store:
        first = await _versions(store)
    assert [(v, d) for v, d, _ in first] == [(m.version, m.description) for m in MIGRATIONS]
    assert first[-1][0] == LATEST_VERSION

    async with await Store.open(db_url) as store:
        assert await _versions(store) == first
        async with store.engine.begin() as conn:
            assert await conn.run_sync(migrate) == []


async def test_stores_opened_together_migrate_once(db_url: str) -> None:
    # Replicas starting at the same time share one database.
    stores = await asyncio.gather(*(Store.open(db_url) for _ in range(4)))
    try:
        versions = await _versions(stores[0])
        assert [v for v, _, _ in versions] == list(range(1, LATEST_VERSION + 1))
    finally:
        for store in stores:
            await store.close()


async def test_open_applies_only_the_pending_migrations(db_url: str) -> None:
    db = open_database(db_url)
    try:
        async with db.transaction("migrate", write=True) as conn:
            assert await conn.run_sync(migrate, MIGRATIONS[:1]) == [1]
    finally:
        await db.dispose()

    async with await Store.open(db_url) as store:
        assert [v for v, _, _ in await _versions(store)] == list(range(1, LATEST_VERSION + 1))
        await store.windows.save(windows())


async def test_a_failed_migration_changes_nothing(db_url: str) -> None:
    async with await Store.open(db_url) as store:
        before = await _versions(store)

    def half_done(conn: Connection) -> None:
        conn.execute(text("CREATE TABLE half_done (x INTEGER)"))
        raise Crash("step failed")

    broken = (*MIGRATIONS, Migration(LATEST_VERSION + 1, "broken", half_done))
    db = open_database(db_url)
    try:
        with pytest.raises(Crash):
            async with db.transaction("migrate", write=True) as conn:
                await conn.run_sync(functools.partial(migrate, migrations=broken))
        async with db.engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
        assert "half_done" not in tables
    finally:
        await db.dispose()

    async with await Store.open(db_url) as store:
        assert await _versions(store) == before


def test_migration_versions_must_follow_each_other() -> None:
    from alertd.store.migrations import check_order

    def noop(conn: Connection) -> None:
        pass

    with pytest.raises(ValueError, match="has version 3, expected 2"):
        check_order([Migration(1, "a", noop), Migration(3, "c", noop)])


async def test_a_database_from_a_newer_alertd_is_refused(db_url: str) -> None:
    async with await Store.open(db_url) as store:
        await store.rule_states.save(complex_states())
        async with store.engine.begin() as conn:
            await conn.execute(insert(schema_version).values(version=LATEST_VERSION + 5,
                                                             description="from the future"))

    with pytest.raises(SchemaVersionError) as info:
        await Store.open(db_url)

    assert str(info.value) == (f"database schema version {LATEST_VERSION + 5} is newer than "
                               f"this alertd ({LATEST_VERSION}); upgrade alertd")
    assert isinstance(info.value, StoreError)


# Errors


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _whole(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))


async def test_cannot_connect_names_the_database_not_the_password(
        backend: str, db_url: str, tmp_path: Path) -> None:
    if backend == "sqlite":
        (tmp_path / "a-file").write_text("")
        url = f"sqlite+aiosqlite:///{tmp_path / 'a-file' / 'alertd.db'}"
        expected = f'database "{url}": cannot create directory "{tmp_path / "a-file"}"'
    else:
        url = str(make_url(db_url).set(port=_free_port()).render_as_string(False))
        shown = make_url(url).render_as_string(hide_password=True)
        expected = f'database "{shown}": cannot open: '
        assert "***" in shown

    with pytest.raises(StoreError) as info:
        await Store.open(url)

    assert str(info.value).startswith(expected)
    assert PG_PASSWORD not in _whole(info.value)


async def test_query_errors_name_the_database_not_the_password(store: Store) -> None:
    async with store.engine.begin() as conn:
        await conn.execute(text("DROP TABLE window_series"))

    with pytest.raises(StoreError) as info:
        await store.windows.load()

    assert str(info.value).startswith(f'database "{store.url}": cannot load windows: ')
    assert "window_series" in str(info.value)
    assert PG_PASSWORD not in _whole(info.value)


@pytest.mark.parametrize("url", ["mysql+aiomysql://user:pg-s3cret-do-not-show@host/db",
                                 "no url at all", "postgresql://u:pg-s3cret-do-not-show@@/"])
async def test_unusable_urls_are_refused(url: str) -> None:
    with pytest.raises(StoreError) as info:
        await Store.open(url)
    assert "pg-s3cret-do-not-show" not in _whole(info.value)


async def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'alertd.db'}"
    async with await Store.open(url) as store, store.engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
