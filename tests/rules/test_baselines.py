"""Baselines from files, and the versions the rules use when they load."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from alertd.drift.baseline_files import BaselineFileError, read_baseline_file
from alertd.lang.ast import Span
from alertd.lang.baselines import BaselineSpec
from alertd.lang.drift_eval import Baseline
from alertd.model import Labels
from alertd.rules.baselines import Resolver, references_from_series
from alertd.rules.files import check_paths
from alertd.rules.manager import RuleLoadError
from alertd.store import Store
from alertd.store.baselines import baseline_repository

T0 = 1_800_000_000.0
SPAN = Span(1, 1, 1, 2, 0, 1)


def test_a_wide_csv_has_a_column_per_feature(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("age,plan\n" + "".join(f"{i},{'ab'[i % 2]}\n" for i in range(40)))
    loaded = read_baseline_file(str(path), bins=4, max_missing=0)
    assert loaded.rows == 40
    assert loaded.features["age"].cuts.tolist() == [9.75, 19.5, 29.25]
    assert loaded.features["plan"].categories == ("a", "b")


def test_a_long_csv_has_feature_and_value_columns(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("feature,value\n" + "".join(f"age,{i}\nplan,{'ab'[i % 2]}\n"
                                                for i in range(40)))
    loaded = read_baseline_file(str(path), bins=4, max_missing=0)
    assert sorted(loaded.features) == ["age", "plan"]
    assert loaded.features["age"].count == 40
    with pytest.raises(BaselineFileError, match='no such feature "tenure"'):
        read_baseline_file(str(path), bins=4, max_missing=0, columns=["tenure"])


def test_a_parquet_file(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    table = pa.table({"age": pa.array([float(i) for i in range(40)] + [None]),
                      "plan": pa.array(["ab"[i % 2] for i in range(41)]).dictionary_encode(),
                      "at": pa.array([T0] * 41, type=pa.timestamp("s"))})
    pq.write_table(table, path)
    with pytest.raises(BaselineFileError, match='column "at" holds timestamp'):
        read_baseline_file(str(path), bins=4, max_missing=0.05)
    loaded = read_baseline_file(str(path), bins=4, max_missing=0.05, columns=["age", "plan"])
    assert loaded.features["age"].count == 40  # the null is a missing value
    assert loaded.features["plan"].kind == "categorical"
    with pytest.raises(BaselineFileError, match=r"1 of 41 values \(2.4%\) are missing"):
        read_baseline_file(str(path), bins=4, max_missing=0, columns=["age"])


def test_series_with_le_make_histogram_references() -> None:
    spec = BaselineSpec("s", "x.rules", SPAN, SPAN, "prometheus")
    series = [(Labels({"le": le, "feature": "score"}), values)
              for le, values in (("0.5", [1.0, 3.0]), ("1", [4.0, 6.0]), ("+Inf", [5.0, 5.0]))]
    refs = references_from_series(series, spec, "q")
    assert refs["score"].kind == "histogram"
    assert refs["score"].shares.tolist() == [0.4, 0.6, 0.0]


RULES = '''\
baseline "train" {
  file = "train.csv"
  bins = 4
}
baseline "live" {
  captured = true
}
alert Drift {
  when = psi(fv[1h], baseline="train") by (feature) > 0.25
}
alert LiveDrift {
  when = psi(fv{feature="age"}[1h], baseline="live") by (feature) > 0.25
}
'''


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(f"sqlite:///{tmp_path}/s.db") as opened:
        yield opened


def write(tmp_path: Path, values: range) -> Path:
    (tmp_path / "train.csv").write_text("age\n" + "".join(f"{i}\n" for i in values))
    (tmp_path / "a.rules").write_text(RULES)
    return tmp_path / "a.rules"


async def load(path: Path, store: Store, clock: list[float]) -> dict[str, Baseline]:
    checked = check_paths([str(path)])
    assert checked.ok, checked.diagnostics
    resolver = Resolver(baseline_repository(store), None, lambda: clock[0], "tester")
    return await resolver.load(checked.baselines, checked.groups)


async def test_a_captured_baseline_without_a_version_stops_the_load(tmp_path: Path,
                                                                     store: Store) -> None:
    path = write(tmp_path, range(40))
    with pytest.raises(RuleLoadError) as caught:
        await load(path, store, [T0])
    assert caught.value.diagnostics[0].startswith(
        f'{path}:5:10: baseline "live": no version has been captured yet: run alertd '
        "baseline capture live --from TIME --to TIME SELECTOR")


async def test_file_baselines_get_a_version_per_content(tmp_path: Path, store: Store) -> None:
    repo = baseline_repository(store)
    write(tmp_path, range(40))
    await repo.add("live", created_at=T0, created_by="ana", kind="capture",
                   origin={"selector": "fv"}, references=read_baseline_file(
                       str(tmp_path / "train.csv"), bins=4, max_missing=0).features)
    clock = [T0]
    first = await load(tmp_path / "a.rules", store, clock)
    assert (first["train"].label, first["live"].label) == ("train@1", "live@1")
    clock[0] += 60
    again = await load(tmp_path / "a.rules", store, clock)
    assert again["train"].label == "train@1"  # the same file: the same version
    write(tmp_path, range(10, 50))
    changed = await load(tmp_path / "a.rules", store, clock)
    assert changed["train"].label == "train@2"
    latest = await repo.latest("train")
    assert latest is not None
    assert (latest.created_by, latest.created_at, latest.kind) == ("tester", T0 + 60, "file")
    assert latest.origin["file"] == str(tmp_path / "train.csv")
    assert latest.origin["sha256"] != (await repo.versions("train"))[0].origin["sha256"]


async def test_a_feature_the_stored_version_lacks_stops_the_load(tmp_path: Path,
                                                                 store: Store) -> None:
    path = write(tmp_path, range(40))
    await baseline_repository(store).add(
        "live", created_at=T0, created_by="ana", kind="capture", origin={},
        references=read_baseline_file(str(tmp_path / "train.csv"), bins=4,
                                      max_missing=0).features)
    (tmp_path / "a.rules").write_text(RULES.replace('feature="age"', 'feature="tenure"'))
    with pytest.raises(RuleLoadError) as caught:
        await load(path, store, [T0])
    assert caught.value.diagnostics[0].startswith(
        f'{path}:12:25: baseline "live" has no feature "tenure" (its features: age) '
        "(version live@1)")
