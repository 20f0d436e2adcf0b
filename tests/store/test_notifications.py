"""The notification log and history repositories, on SQLite and PostgreSQL (see conftest.py)."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import Connection, inspect, text

from alertd import history
from alertd.clock import FakeClock
from alertd.history import HistoryEvent
from alertd.history.details import decode_details, encode_details
from alertd.history.recorder import HistoryRecorder
from alertd.model import Labels
from alertd.nflog import Entry, NotificationLog, needs_update
from alertd.store import Store, StoreError, history_read
from alertd.store import nflog as nflog_module
from alertd.store import notifications as repo_module

T0 = 1_800_000_000.0
HOUR = 3600.0

CHURN = Labels({"alertname": "ChurnLatencyP99High", "model_version": "v1", "owner": "team-ml",
                "severity": "page"})
DRIFT = Labels({"alertname": "ChurnFeatureDrift", "feature": "âge", "owner": "team-data",
                "severity": "ticket"})
POSTED = Labels({"alertname": "DiskFull", "instance": "db-1"})  # no owner, no severity


def entry(group: str, receiver: str, firing: set[str], resolved: set[str] | None = None, *,
          at: float = T0, retention: float = 120 * HOUR) -> Entry:
    return Entry(group, receiver, frozenset(firing), frozenset(resolved or set()), at,
                 at + retention)


def canon(events: Sequence[HistoryEvent]) -> list[tuple[Any, ...]]:
    """Events as plain data; NaN spelt out so that equal reads as equal."""
    def plain(v: Any) -> Any:
        if isinstance(v, float) and math.isnan(v):
            return "<nan>"
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [plain(x) for x in v]
        return v

    return [(e.at, e.kind, e.fingerprint, e.alertname, e.rule, e.owner, e.severity,
             e.labels.items_tuple, plain(dict(e.details))) for e in events]


async def read_all(store: Store, since: float = 0, until: float = math.inf,
                   **filters: Any) -> list[HistoryEvent]:
    return [e async for e in store.history.between(since, until, **filters)]


# --- schema -------------------------------------------------------------------------------

async def test_migration_builds_the_tables_the_repositories_use(store: Store) -> None:
    def describe(conn: Connection) -> dict[str, Any]:
        insp = inspect(conn)
        return {name: ({c["name"]: c["nullable"] for c in insp.get_columns(name)},
                       insp.get_pk_constraint(name)["constrained_columns"],
                       sorted(tuple(i["column_names"]) for i in insp.get_indexes(name)))
                for name in ("nflog_entry", "alert_history")}

    async with store.engine.connect() as conn:
        actual = await conn.run_sync(describe)
    for table in (nflog_module.nflog_entry, repo_module.alert_history):
        columns, pk, _ = actual[table.name]
        assert columns == {c.name: c.nullable for c in table.columns}
        assert pk == [c.name for c in table.primary_key]
    assert actual["nflog_entry"][2] == [("expires_at",)]
    # One index per query that needs it: every live append pays for each.
    assert actual["alert_history"][2] == [
        ("alertname", "at"), ("at",), ("fingerprint", "at"), ("kind", "at"), ("rule", "at")]


# --- notification log ---------------------------------------------------------------------

async def test_nflog_entries_round_trip(store: Store) -> None:
    long_key = "{}/{severity=\"page\"}:{" + ",".join(f'l{i}="{"v" * 40}"' for i in range(80)) + "}"
    entries = [
        entry("{}:{alertname=\"X\"}", "team-ml/slack/0", {"a1", "a2"}, {"r1"}),
        entry("{}:{alertname=\"X\"}", "team-ml/pagerduty/0", set(), {"a1"}, at=T0 + 0.25),
        entry(long_key, "équipe", {"f"}, at=T0 + 1),
    ]
    for e in entries:
        await store.nflog.save(e)
    loaded = await store.nflog.load_all()
    assert sorted(loaded, key=lambda e: e.at) == entries


async def test_nflog_save_replaces_the_entry_of_a_group_and_receiver(store: Store) -> None:
    await store.nflog.save(entry("g", "r", {"a"}))
    await store.nflog.save(entry("g", "other", {"a"}))
    newer = entry("g", "r", {"a", "b"}, {"c"}, at=T0 + 300)
    await store.nflog.save(newer)
    loaded = {(e.group_key, e.receiver): e for e in await store.nflog.load_all()}
    assert len(loaded) == 2 and loaded[("g", "r")] == newer


async def test_nflog_save_keeps_a_newer_entry(store: Store) -> None:
    newer = entry("g", "r", {"a", "b"}, at=T0 + 300)
    await store.nflog.save(newer)
    await store.nflog.save(entry("g", "r", {"a"}, at=T0))  # another replica, late
    assert await store.nflog.load_all() == [newer]


async def test_nflog_forget_deletes_only_the_entry_logged_at_that_time(store: Store) -> None:
    await store.nflog.save(entry("g", "r", {"a"}, at=T0))
    await store.nflog.save(entry("g", "other", {"a"}, at=T0))
    assert not await store.nflog.forget("g", "r", T0 - 1)  # not that notification's entry
    assert await store.nflog.forget("g", "r", T0)
    assert [e.receiver for e in await store.nflog.load_all()] == ["other"]
    newer = entry("g", "other", {"a", "b"}, at=T0 + 300)
    await store.nflog.save(newer)
    assert not await store.nflog.forget("g", "other", T0)  # a later one was logged since
    assert await store.nflog.load_all() == [newer]


async def test_nflog_delete_expired(store: Store) -> None:
    await store.nflog.save(entry("g", "short", {"a"}, retention=HOUR))
    await store.nflog.save(entry("g", "long", {"a"}, retention=2 * HOUR))
    assert await store.nflog.delete_expired(T0 + HOUR - 1) == 0
    assert await store.nflog.delete_expired(T0 + HOUR) == 1  # expires_at itself is expired
    assert [e.receiver for e in await store.nflog.load_all()] == ["long"]
    assert await store.nflog.delete_expired(T0 + 10 * HOUR) == 1
    assert await store.nflog.load_all() == []


async def test_nflog_refuses_a_nan_time(store: Store) -> None:
    with pytest.raises(StoreError, match="cannot save notification log: at is nan"):
        await store.nflog.save(entry("g", "r", {"a"}, at=math.nan))
    assert await store.nflog.load_all() == []


async def test_a_restart_keeps_the_notification_log(db_url: str) -> None:
    """The same flushes after a restart give the same decisions: nobody is paged again."""
    clock = FakeClock(T0)
    flushes = [  # (group, receiver, firing, resolved, send_resolved)
        ("g1", "team-ml/slack/0", {"a", "b"}, set(), True),
        ("g1", "team-ml/slack/0", {"a"}, {"b"}, True),
        ("g1", "team-ml/pagerduty/0", {"a"}, {"b"}, False),
        ("g2", "team-data/slack/0", set(), {"c"}, True),
        ("g3", "team-data/slack/0", {"d"}, set(), True),
    ]

    def decisions(nflog: NotificationLog) -> list[tuple[bool, str]]:
        return [needs_update(nflog.query(g, r), firing, resolved, repeat_interval=4 * HOUR,
                             send_resolved=sr, now=clock.now())
                for g, r, firing, resolved, sr in flushes]

    async with await Store.open(db_url) as store:
        nflog = NotificationLog(store.nflog, clock)
        await nflog.load()
        await nflog.log("g1", "team-ml/slack/0", ["a", "b"], [])
        await nflog.log("g1", "team-ml/pagerduty/0", ["a", "b"], [])
        await nflog.log("g3", "team-data/slack/0", ["d"], [], retention=HOUR)
        clock.advance(120)
        before = decisions(nflog)

    async with await Store.open(db_url) as store:
        restarted = NotificationLog(store.nflog, clock)
        assert await restarted.load() == 3
        assert decisions(restarted) == before == [
            (False, "nothing new (last sent 2m ago)"),
            (True, "some alerts resolved"),
            (False, "nothing new (last sent 2m ago)"),
            (False, "only resolved alerts, never notified"),
            (False, "nothing new (last sent 2m ago)"),
        ]
        clock.advance(HOUR)  # g3's entry expired: its alert is news again
        assert decisions(restarted)[4] == (True, "first notification")
        assert await restarted.gc() == 1
        assert len(await store.nflog.load_all()) == 2


# --- history ------------------------------------------------------------------------------

def story() -> list[HistoryEvent]:
    """One alert's life, and a few events of others."""
    return [
        history.transition(T0, CHURN, old="inactive", new="pending", value=0.31,
                           expr="latency > 100ms", rule="ChurnLatencyP99High"),
        history.transition(T0, DRIFT, old="inactive", new="firing", value=math.inf),
        history.transition(T0 + 300, CHURN, old="pending", new="firing", value=math.nan,
                           rule="ChurnLatencyP99High"),
        history.routed(T0 + 300, CHURN, receiver="team-ml", route='{}/{severity="page"}',
                       group_key='{}/{severity="page"}:{alertname="ChurnLatencyP99High"}'),
        history.silenced(T0 + 301, POSTED, silences={"s2", "s1"}, until=T0 + HOUR),
        history.dedup(T0 + 330, CHURN, receiver="team-ml", group_key="g", send=True,
                      reason="first notification"),
        history.delivery(T0 + 331, CHURN, receiver="team-ml", integration="slack", attempt=1,
                         outcome="retry", status=503, error="service unavailable"),
        history.delivery(T0 + 335, CHURN, receiver="team-ml", integration="slack", attempt=2,
                         outcome="ok", status=200),
        history.inhibited(T0 + 340, DRIFT, sources=[CHURN.fingerprint()]),
        history.ack(T0 + 400, CHURN, by="alice", via="slack"),
        history.feedback(T0 + 500, CHURN, by="alice", verdict="noise", comment="flaky"),
        history.transition(T0 + 900, CHURN, old="firing", new="resolved", value=-math.inf,
                           rule="ChurnLatencyP99High"),
    ]


async def test_history_round_trips_every_field(store: Store) -> None:
    events = story()
    await store.history.append(events)
    read = await read_all(store)
    assert canon(read) == canon(events)
    first = read[0]
    assert (first.alertname, first.rule, first.owner, first.severity) == (
        "ChurnLatencyP99High", "ChurnLatencyP99High", "team-ml", "page")
    silenced = read[4]
    assert (silenced.owner, silenced.severity, silenced.rule) == (None, None, None)
    assert silenced.details["silences"] == ["s1", "s2"]


async def test_history_keeps_nan_and_infinities_of_values(store: Store) -> None:
    await store.history.append(story())
    values = [e.details["value"] for e in await read_all(store, kinds=["transition"])]
    assert values[0] == 0.31 and values[1] == math.inf and values[3] == -math.inf
    assert isinstance(values[2], float) and math.isnan(values[2])


def test_details_encoding_is_strict_json() -> None:
    details = {"value": math.nan, "values": [math.inf, 1.5], "nested": {"value": -math.inf},
               "name": "NaN", "ids": frozenset({"b", "a"}), "labels": CHURN, "when": None}
    text = encode_details(details)
    assert "NaN" in text and "Infinity" not in text
    back = decode_details(text)
    assert math.isnan(back["value"]) and back["nested"]["value"] == -math.inf
    assert back["values"] == ["+Inf", 1.5]  # only "value" keys are read back as numbers
    assert back["name"] == "NaN" and back["ids"] == ["a", "b"]
    assert back["labels"] == dict(CHURN) and back["when"] is None


async def test_history_of_an_alert_is_chronological(store: Store) -> None:
    events = story()
    # Appended out of order, in two batches: read back by time, same instant in append order.
    await store.history.append(events[6:])
    await store.history.append(events[:6])
    read = await store.history.for_alert(CHURN.fingerprint())
    assert [e.at for e in read] == sorted(e.at for e in read)
    assert canon(read) == canon([e for e in events if e.fingerprint == CHURN.fingerprint()])
    same_instant = [history.ack(T0, POSTED, by=f"user{i}") for i in range(5)]
    await store.history.append(same_instant)
    read = await store.history.for_alert(POSTED.fingerprint(), since=T0, limit=10)
    assert [e.details.get("by", e.kind) for e in read] == [
        "user0", "user1", "user2", "user3", "user4", "silenced"]


async def test_history_of_an_alert_keeps_the_latest_within_the_limit(store: Store) -> None:
    await store.history.append(story())
    fp = CHURN.fingerprint()
    read = await store.history.for_alert(fp, limit=3)
    assert [e.kind for e in read] == ["ack", "feedback", "transition"]
    read = await store.history.for_alert(fp, since=T0 + 330)
    assert [e.at for e in read] == [T0 + 330, T0 + 331, T0 + 335, T0 + 400, T0 + 500, T0 + 900]
    assert await store.history.for_alert("0000000000000000") == []


async def test_history_of_an_alertname(store: Store) -> None:
    events = story()
    other = CHURN.merged({"model_version": "v2"})
    events.append(history.transition(T0 + 600, other, old="inactive", new="firing", value=2.0))
    await store.history.append(events)
    read = await store.history.for_alertname("ChurnLatencyP99High")
    assert len(read) == 10 and {e.fingerprint for e in read} == {
        CHURN.fingerprint(), other.fingerprint()}
    window = await store.history.for_alertname("ChurnLatencyP99High", since=T0 + 300,
                                               until=T0 + 400)
    assert [e.at for e in window] == [T0 + 300, T0 + 300, T0 + 330, T0 + 331, T0 + 335]
    latest = await store.history.for_alertname("ChurnLatencyP99High", limit=2)
    assert [e.at for e in latest] == [T0 + 600, T0 + 900]


async def test_history_between_filters_by_time_kind_owner_and_rule(store: Store) -> None:
    await store.history.append(story())
    assert len(await read_all(store, T0 + 300, T0 + 340)) == 6  # until is excluded
    deliveries = await read_all(store, T0, T0 + HOUR, kinds=["delivery"])
    assert [e.details["outcome"] for e in deliveries] == ["retry", "ok"]
    assert [e.details.get("status") for e in deliveries] == [503, 200]
    several = await read_all(store, T0, T0 + HOUR, kinds={"ack", "feedback"}, owner="team-ml")
    assert [e.kind for e in several] == ["ack", "feedback"]
    assert [e.kind for e in await read_all(store, owner="team-data")] == [
        "transition", "inhibited"]
    by_rule = await read_all(store, rule="ChurnLatencyP99High")
    assert [e.details["to"] for e in by_rule] == ["pending", "firing", "resolved"]
    assert await read_all(store, T0, T0 + HOUR, kinds=[]) == []


async def test_history_between_pages_through_ties(store: Store,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(repo_module, "_PAGE", 3)
    events = [history.ack(T0 + i // 4, CHURN, by=f"u{i}") for i in range(14)]
    await store.history.append(events)
    read = await read_all(store)
    assert [e.details["by"] for e in read] == [f"u{i}" for i in range(14)]


async def scan_all(store: Store, since: float | None = 0, until: float | None = math.inf,
                   kinds: Sequence[str] | None = None) -> list[tuple[Any, ...]]:
    """What `scan` gives, as plain data (NaN spelt out by repr)."""
    return [(r.at, r.kind, r.fingerprint, r.alertname, r.rule, r.owner, repr(dict(r.details)))
            async for page in store.history.scan(since, until, kinds) for r in page]


def light(events: Sequence[HistoryEvent]) -> list[tuple[Any, ...]]:
    return [(e.at, e.kind, e.fingerprint, e.alertname, e.rule, e.owner, repr(dict(e.details)))
            for e in events]


async def test_history_scan_gives_the_events_of_between_page_by_page(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(repo_module, "_PAGE", 4)
    await store.history.append(story())
    sizes = [len(list(page)) async for page in store.history.scan(0, math.inf)]
    assert sum(sizes) == len(story()) and max(sizes) == 4
    assert await scan_all(store) == light(await read_all(store))
    kinds = ["transition", "ack"]
    assert await scan_all(store, T0 + 1, T0 + HOUR, kinds) == light(
        await read_all(store, T0 + 1, T0 + HOUR, kinds=kinds))
    assert await scan_all(store, kinds=[]) == []


async def test_history_reads_every_event_across_gaps_ties_and_bursts(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    # Pages are read within time windows, which grow over quiet stretches and shrink to
    # what held a page in a burst: every event comes once and in order, however spaced.
    monkeypatch.setattr(repo_module, "_PAGE", 3)
    times = sorted([T0, *[T0 + 0.5] * 7, T0 + 1, T0 + 3 * HOUR, T0 + 400 * 24 * HOUR,
                    *[T0 + 400 * 24 * HOUR + i / 100 for i in range(20)],
                    *[T0 + 401 * 24 * HOUR + i * 30 for i in range(10)]])
    await store.history.append([history.ack(t, CHURN, by=f"u{i}") for i, t in enumerate(times)])
    everyone = [f"u{i}" for i in range(len(times))]

    async def who(since: float | None, until: float | None) -> list[str]:
        return [e.details["by"] async for e in store.history.between(since, until)]

    assert await who(None, None) == everyone
    assert await who(-math.inf, math.inf) == everyone
    lo, hi = T0 + 0.5, T0 + 400 * 24 * HOUR + 0.05
    assert await who(lo, hi) == [f"u{i}" for i, t in enumerate(times) if lo <= t < hi]
    assert [r[0] for r in await scan_all(store, None, None)] == times
    assert await who(T0 + 5 * HOUR, T0 + 6 * HOUR) == []


def test_a_page_window_shrinks_to_a_full_page_and_grows_after_a_short_one() -> None:
    w = history_read._Windows(100.0, 10_000.0, page=4)
    assert w.parameters(["x"]) == [100.0, 100.0 + history_read.FIRST_WINDOW, 100.0, -1, "x", 4]
    # A full page: the next starts after its last row, in a window as wide as it spanned.
    assert w.advance([(150.0, 7), (150.0, 8), (155.0, 3), (160.0, 9)])
    assert (w.after, w.end) == ((160.0, 9), 220.0)
    # A short page: the window is read; the next is wider by page / rows (8x at most).
    assert w.advance([(200.0, 12), (210.0, 13)])
    assert (w.after, w.width, w.end) == ((220.0, -1), 120.0, 340.0)
    assert w.advance([])
    assert (w.after, w.width, w.end) == ((340.0, -1), 480.0, 820.0)
    # A full page of one instant: a window of MIN_WINDOW, never none.
    assert w.advance([(340.0, 20)] * 4)
    assert (w.after, w.end) == ((340.0, 20), 340.0 + history_read.MIN_WINDOW)
    last = history_read._Windows(100.0, 150.0, page=4)
    assert last.end == 150.0 and not last.advance([(120.0, 1)])


async def test_history_read_names_an_event_whose_details_are_broken(store: Store) -> None:
    await store.history.append(story())
    async with store.engine.begin() as conn:
        await conn.execute(text("UPDATE alert_history SET details = 'not json' "
                                "WHERE id = (SELECT max(id) FROM alert_history)"))
    with pytest.raises(StoreError, match=r"cannot read history: event \d+: "):
        await read_all(store)
    with pytest.raises(StoreError, match=r"cannot read history: event \d+: "):
        await scan_all(store)


async def test_a_history_read_that_the_database_refuses_is_a_store_error(store: Store) -> None:
    await store.history.append(story())
    async with store.engine.begin() as conn:
        await conn.execute(text("ALTER TABLE alert_history RENAME TO alert_history_gone"))
    with pytest.raises(StoreError, match=r"cannot read history: .*alert_history"):
        await read_all(store)
    with pytest.raises(StoreError, match=r"cannot read history: .*alert_history"):
        await scan_all(store)


async def test_a_history_scan_stopped_early_gives_its_connection_back(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(repo_module, "_PAGE", 2)
    await store.history.append(story())
    for _ in range(30):  # more than the pool holds
        async with contextlib.aclosing(store.history.scan(0, math.inf)) as pages:
            async for page in pages:
                assert next(iter(page)).at == T0
                break
    assert len(await read_all(store)) == len(story())


async def test_history_reads_from_an_in_memory_database(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(repo_module, "_PAGE", 3)
    store = await Store.open("sqlite:///:memory:")
    try:
        events = story()
        await store.history.append(events)
        assert canon(await read_all(store)) == canon(events)
        assert await scan_all(store) == light(events)
    finally:
        await store.close()


async def test_history_prune(store: Store) -> None:
    await store.history.append(story())
    assert await store.history.prune(T0 + 300) == 2
    assert await store.history.prune(T0 + 300) == 0
    read = await read_all(store)
    assert len(read) == 10 and read[0].at == T0 + 300  # `before` itself is kept
    assert await store.history.prune(T0 + 10 * HOUR) == 10
    assert await read_all(store) == []


async def test_history_append_is_atomic(store: Store) -> None:
    bad = history.ack(math.nan, CHURN, by="alice")
    with pytest.raises(StoreError, match=r"cannot append history: event ack of \w+: time is nan"):
        await store.history.append([*story(), bad])
    assert await read_all(store) == []
    await store.history.append([])
    assert await read_all(store) == []


async def test_history_appends_a_large_batch(store: Store) -> None:
    events = [history.transition(T0 + i, CHURN.merged({"pod": f"p{i % 100}"}),
                                 old="pending", new="firing", value=float(i))
              for i in range(10_000)]
    await store.history.append(events)
    read = await read_all(store)
    assert len(read) == 10_000
    assert [e.details["value"] for e in read[:3]] == [0.0, 1.0, 2.0]
    assert read[-1].at == T0 + 9_999


async def test_recorder_writes_what_sync_code_recorded(store: Store) -> None:
    clock = FakeClock(T0)
    recorder = HistoryRecorder(store.history, clock, batch_size=4)
    for e in story():
        recorder.record(e)
    assert await read_all(store) == []  # nothing waits on the database in record()
    clock.advance(1)
    assert await recorder.flush() == 12
    assert canon(await read_all(store)) == canon(story())
    assert (recorder.pending, recorder.written, recorder.last_flush) == (0, 12, T0 + 1)


async def test_event_kinds_are_checked() -> None:
    with pytest.raises(ValueError, match='unknown history event kind "page"'):
        history.event(T0, "page", CHURN, {})
    with pytest.raises(ValueError, match='unknown delivery outcome "sent"'):
        history.delivery(T0, CHURN, receiver="r", integration="slack", attempt=1,
                         outcome="sent")
