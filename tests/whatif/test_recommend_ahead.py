"""Replays started before the figures are known (Recommender.guess): whatever rules are
guessed, the recommendations are those of the figures' own choice; a guessed rule's
replays are used when its figures are those the report found, done again when not."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest

from alertd.config import load_config
from alertd.history import HistoryEvent
from alertd.noise.report import RuleRow
from alertd.report.source import ReportQuery, build, config_rules
from alertd.whatif import judge, recommend
from tests.noise.timelines import END, START
from tests.whatif.scenario import InMemoryHistory, history, write_files


class Counting(InMemoryHistory):
    """A history that answers `paged_rules` with the rules given, as a store would."""

    def __init__(self, events: Iterable[HistoryEvent], busiest: list[tuple[str, int]],
                 fails: bool = False) -> None:
        super().__init__(events)
        self.busiest = busiest
        self.fails = fails

    async def paged_rules(self, since: float, until: float, *, owner: str | None = None,
                          quiet: Sequence[str] = (),
                          limit: int = 10) -> list[tuple[str, int]]:
        if self.fails:
            raise recommend.AlertdError("database is locked")
        return self.busiest[:limit]


@pytest.fixture
def judged(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The rules whose replays were run, in order."""
    names: list[str] = []
    real = judge.judge_job

    def counted(job: Any) -> Any:
        names.append(job[1].rule)
        return real(job)

    monkeypatch.setattr(judge, "judge_job", counted)
    return names


async def recommendations(directory: Path, source: InMemoryHistory) -> list[dict[str, Any]]:
    path = write_files(directory)
    config = load_config(str(path))
    rules, errors = config_rules(config)
    assert errors == 0
    report = await build(source, config, rules,  # type: ignore[arg-type]
                         ReportQuery(START, END, None, END), str(path))
    return list(report["recommendations"])


async def test_guessed_rules_give_the_same_recommendations(
        tmp_path: Path, judged: list[str]) -> None:
    """A guess that names a rule the figures do not choose (not in the rule files) and
    leaves one out: the same recommendations as without a guess; each chosen rule
    replayed once."""
    unguessed = await recommendations(tmp_path, InMemoryHistory(history()))
    assert sorted(judged) == ["Barks", "Flappy", "Useless"]
    judged.clear()
    guess = [("Useless", 9), ("NotARule", 8), ("Barks", 7)]
    assert await recommendations(tmp_path, Counting(history(), guess)) == unguessed
    assert judged[:2] == ["Useless", "Barks"]  # started first: guessed
    assert sorted(judged) == ["Barks", "Flappy", "Useless"]  # none done twice


async def test_a_guess_made_on_other_figures_is_done_again(
        tmp_path: Path, judged: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A guessed rule whose own figures differ from the report's in what its replays read
    (here: its owner) is replayed again for the report's."""
    unguessed = await recommendations(tmp_path, InMemoryHistory(history()))
    judged.clear()
    real = recommend.Recommender._job

    async def elsewhere(self: recommend.Recommender, rule: str,
                        row: RuleRow | None) -> Any:
        job = await real(self, rule, row)
        if row is None and job is not None:  # a guess: made on another owner
            job = (job[0], dataclasses.replace(job[1], owner="someone-else"), *job[2:])
        return job

    monkeypatch.setattr(recommend.Recommender, "_job", elsewhere)
    guess = [("Barks", 9)]
    assert await recommendations(tmp_path, Counting(history(), guess)) == unguessed
    assert judged.count("Barks") == 2


async def test_a_store_that_cannot_count_guesses_nothing(
        tmp_path: Path, judged: list[str]) -> None:
    unguessed = await recommendations(tmp_path, InMemoryHistory(history()))
    judged.clear()
    failing = Counting(history(), [("Barks", 9)], fails=True)
    assert await recommendations(tmp_path, failing) == unguessed
    assert sorted(judged) == ["Barks", "Flappy", "Useless"]
