"""Stored baselines, on SQLite and PostgreSQL (see conftest.py): versions, references kept
bit for bit, deletion."""

from __future__ import annotations

import numpy as np

from alertd.drift import Reference
from alertd.store import LATEST_VERSION, Store
from alertd.store.baselines import baseline_repository

T0 = 1_800_000_000.0


def refs(shift: float = 0.0) -> dict[str, Reference]:
    rng = np.random.default_rng(7)
    return {
        "age": Reference.numeric(rng.normal(40 + shift, 9, 500), bins=10),
        "plan": Reference.categorical(["basic"] * 5 + ["pro"] * 3 + ["team"] * 2),
        "score": Reference.from_buckets([0.5, 1.0, float("inf")], [40, 90, 100]),
    }


async def test_the_baselines_migration_is_the_latest_step(store: Store) -> None:
    assert LATEST_VERSION >= 12
    assert await baseline_repository(store).versions() == []


async def test_versions_count_up_and_say_who_when_and_from_what(store: Store) -> None:
    repo = baseline_repository(store)
    first = await repo.add("churn-training", created_at=T0, created_by="ana@ml-1",
                           kind="file", origin={"file": "/r/t.csv", "sha256": "ab"},
                           references=refs())
    second = await repo.add("churn-training", created_at=T0 + 60, created_by="alertd",
                            kind="file", origin={"file": "/r/t.csv", "sha256": "cd"},
                            references=refs(5))
    other = await repo.add("scores", created_at=T0, created_by="ana@ml-1", kind="prometheus",
                           origin={"prometheus": "x", "from": T0 - 86400, "to": T0},
                           references={"score": refs()["score"]})
    assert (first.label, second.label, other.label) == (
        "churn-training@1", "churn-training@2", "scores@1")
    latest = await repo.latest("churn-training")
    assert latest is not None
    assert latest.version == 2
    assert latest.created_by == "alertd" and latest.created_at == T0 + 60
    assert dict(latest.origin) == {"file": "/r/t.csv", "sha256": "cd"}
    assert [(f.name, f.kind, f.count) for f in latest.features] == [
        ("age", "numeric", 500.0), ("plan", "categorical", 10.0),
        ("score", "histogram", 100.0)]
    assert [v.label for v in await repo.versions()] == [
        "churn-training@1", "churn-training@2", "scores@1"]


async def test_references_come_back_exactly(store: Store) -> None:
    repo = baseline_repository(store)
    original = refs()
    await repo.add("b", created_at=T0, created_by="x", kind="file", origin={},
                   references=original)
    stored = await repo.load("b")
    assert stored is not None
    assert set(stored.references) == set(original)
    for name, ref in original.items():
        assert stored.references[name].to_dict() == ref.to_dict()


async def test_load_names_a_version_or_takes_the_latest(store: Store) -> None:
    repo = baseline_repository(store)
    for shift in (0.0, 10.0):
        await repo.add("b", created_at=T0, created_by="x", kind="file", origin={},
                       references={"age": refs(shift)["age"]})
    older = await repo.load("b", 1)
    newer = await repo.load("b")
    assert older is not None and newer is not None
    assert newer.meta.version == 2
    assert newer.references["age"].sample.mean() > older.references["age"].sample.mean()
    assert await repo.load("b", 3) is None
    assert await repo.load("nope") is None


async def test_a_deleted_version_number_is_never_given_again(store: Store) -> None:
    repo = baseline_repository(store)
    for _ in range(2):
        await repo.add("b", created_at=T0, created_by="x", kind="file", origin={},
                       references={"age": refs()["age"]})
    assert await repo.delete("b", 2) == 1
    assert await repo.delete("b", 2) == 0
    made = await repo.add("b", created_at=T0, created_by="x", kind="file", origin={},
                          references={"age": refs()["age"]})
    assert made.version == 3  # a history event naming b@2 never means another version
    assert await repo.delete("b") == 2
    assert await repo.versions("b") == []


async def test_a_reference_of_100_000_values_is_stored(store: Store) -> None:
    repo = baseline_repository(store)
    big = Reference.numeric(np.random.default_rng(1).normal(0, 1, 100_000))
    await repo.add("big", created_at=T0, created_by="x", kind="file", origin={},
                   references={"x": big})
    stored = await repo.load("big")
    assert stored is not None
    assert np.array_equal(stored.references["x"].sample, big.sample)
