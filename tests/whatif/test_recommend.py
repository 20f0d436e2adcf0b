"""Recommendations over the constructed week of tests/whatif/scenario.py, against the
answers worked out by hand there."""

from __future__ import annotations

from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pytest

from alertd.config import load_config
from alertd.report.source import ReportQuery, build, config_rules
from alertd.whatif import workers
from tests.noise.timelines import END, START
from tests.whatif.scenario import InMemoryHistory, history, write_files

FIELDS = ("rule", "kind", "change", "pages_before", "pages_after", "pages_saved",
          "sleep_pages_saved", "actionable_pages", "actionable_lost", "actionable_delayed",
          "max_delay_s", "safe")


async def recommendations(directory: Path) -> list[dict[str, Any]]:
    path = write_files(directory)
    config = load_config(str(path))
    rules, errors = config_rules(config)
    assert errors == 0
    report = await build(InMemoryHistory(history()), config, rules,  # type: ignore[arg-type]
                         ReportQuery(START, END, None, END), str(path))
    return list(report["recommendations"])


@pytest.fixture
async def recs(tmp_path: Path) -> list[dict[str, Any]]:
    return await recommendations(tmp_path)


async def test_what_each_change_would_have_saved(recs: list[dict[str, Any]]) -> None:
    assert [tuple(r[k] for k in FIELDS) for r in recs] == [
        ("Flappy", "for", "for 1m → 5m", 20, 1, 19, 7, 1, 0, 1, 240.0, True),
        ("Flappy", "group", "group_wait 30s → 5m", 20, 1, 19, 7, 1, 0, 1, 270.0, True),
        ("Barks", "for", "for 0s → 5m", 10, 0, 10, 5, 1, 1, 0, 0.0, False),
        ("Barks", "group", "group_wait 30s → 5m", 10, 0, 10, 5, 1, 1, 0, 0.0, False),
        ("Flappy", "sleep_route",
         "sleep-hour notifications (22:00-08:00 Europe/Berlin) to ml-tickets instead of "
         "ml-oncall", 20, 13, 7, 7, 1, 0, 0, 0.0, True),
        ("Barks", "sleep_route",
         "sleep-hour notifications (22:00-08:00 Europe/Berlin) to ml-tickets instead of "
         "ml-oncall", 10, 5, 5, 5, 1, 0, 0, 0.0, True),
        ("Useless", "delete", "delete the rule", 5, 0, 5, 0, 0, 0, 0, 0.0, True),
        ("Useless", "for", "for 0s → 10m", 5, 0, 5, 0, 0, 0, 0, 0.0, True),
    ]


async def test_each_states_the_change_as_a_diff(recs: list[dict[str, Any]],
                                                tmp_path: Path) -> None:
    by = {(r["rule"], r["kind"]): r for r in recs}
    flappy_for = by[("Flappy", "for")]
    assert flappy_for["file"] == str(tmp_path / "ml.rules")
    assert "-    for      = 1m\n+    for      = 5m\n" in flappy_for["diff"]
    group = by[("Flappy", "group")]
    assert group["file"] == str(tmp_path / "alertd.yml")
    assert "+" in group["diff"] and 'alertname="Flappy"' in group["diff"]
    assert "group_wait: 5m" in group["diff"]
    assert "-  alert Useless {" in by[("Useless", "delete")]["diff"]
    assert "location: Europe/Berlin" in by[("Flappy", "sleep_route")]["diff"]


async def test_worker_processes_recommend_as_a_thread_does(
        tmp_path: Path, recs: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    """Over a long history the rules' replays run in worker processes, side by side (here
    forced for the constructed week, on however many cores): the same recommendations."""
    started: list[int] = []
    real = ProcessPoolExecutor

    def pool(count: int, **kwargs: Any) -> Any:
        started.append(count)
        return real(count, **kwargs)

    monkeypatch.setattr(workers, "PARALLEL_MIN_WEIGHT", 0)
    monkeypatch.setattr(workers, "_cores", lambda: 2)
    monkeypatch.setattr(workers, "ProcessPoolExecutor", pool)
    assert await recommendations(tmp_path) == recs
    assert started == [2]  # two workers: the week's three rules side by side


async def test_without_workers_the_thread_replays_them(
        tmp_path: Path, recs: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """Worker processes that cannot start (no /dev/shm in a container, say), or that die,
    leave the replays to the thread: the same recommendations, and a warning."""
    def no_pool(count: int, **kwargs: Any) -> Any:
        raise OSError("[Errno 38] Function not implemented")

    monkeypatch.setattr(workers, "PARALLEL_MIN_WEIGHT", 0)
    monkeypatch.setattr(workers, "_cores", lambda: 2)
    monkeypatch.setattr(workers, "ProcessPoolExecutor", no_pool)
    assert await recommendations(tmp_path) == recs
    assert "worker processes cannot start" in caplog.text

    class Died(Executor):
        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
            future: Future[Any] = Future()
            future.set_exception(BrokenProcessPool("a worker was killed"))
            return future

    monkeypatch.setattr(workers, "ProcessPoolExecutor", lambda count, **kwargs: Died())
    assert await recommendations(tmp_path) == recs
