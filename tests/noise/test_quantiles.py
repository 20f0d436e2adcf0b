"""Quantiles in bounded memory: exact by nearest rank up to EXACT_MAX values, within the
documented relative accuracy after, and a size that follows the spread of the values,
not their number."""

from __future__ import annotations

import math
import random
import tracemalloc

import pytest

from alertd.noise.quantiles import EXACT_MAX, RELATIVE_ACCURACY, Quantiles, nearest_rank


def filled(values: list[float]) -> Quantiles:
    q = Quantiles()
    for v in values:
        q.append(v)
    return q


def test_exact_by_nearest_rank_up_to_the_bound() -> None:
    rng = random.Random(1)
    values = [rng.uniform(0, 7200) for _ in range(EXACT_MAX)]
    q = filled(values)
    assert q.exact and len(q) == EXACT_MAX
    ordered = sorted(values)
    assert q.quantile(0.5) == ordered[EXACT_MAX // 2 - 1]  # the lower middle one
    assert q.quantile(0.95) == ordered[math.ceil(0.95 * EXACT_MAX) - 1]
    assert Quantiles().quantile(0.5) is None


@pytest.mark.parametrize("q", [0.5, 0.9, 0.95, 0.99])
def test_past_the_bound_within_the_relative_accuracy(q: float) -> None:
    rng = random.Random(2)
    # Firing lengths: a minute to days, heavy-tailed; and some zeros (acked at once).
    values = [0.0] * 50 + [60 * rng.paretovariate(1.2) for _ in range(3 * EXACT_MAX)]
    got = filled(values)
    assert not got.exact and len(got) == len(values)
    ordered = sorted(values)
    rank = math.ceil(q * len(values))
    # The sketch may count the rank one off: any of the neighbours, within the accuracy.
    near = ordered[max(rank - 2, 0):rank + 1]
    answer = got.quantile(q)
    assert answer is not None
    assert any(abs(answer - v) <= RELATIVE_ACCURACY * v + 1e-9 for v in near), (answer, near)


def test_memory_follows_the_spread_not_the_count() -> None:
    rng = random.Random(3)

    def size(n: int) -> int:
        tracemalloc.start()
        q = filled([rng.uniform(60, 3 * 86400) for _ in range(n)])
        held = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        assert len(q) == n
        return held

    small, large = size(2 * EXACT_MAX), size(40 * EXACT_MAX)
    assert large < small * 1.5
    assert nearest_rank([3.0, 1.0, 2.0], 0.5) == 2.0


def test_batches_answer_as_values_added_one_by_one() -> None:
    """Past the bound, values reach the sketch in batches of distinct values with their
    counts: the answers are those of a sketch given every value on its own, also when
    asked halfway (what is pending is added first) and when more come after."""
    from ddsketch import DDSketch

    rng = random.Random(4)
    # Whole minutes mostly (as firing lengths are), some odd values.
    values = [60.0 * rng.randrange(1, 600) if rng.random() < 0.9 else rng.uniform(1, 9e4)
              for _ in range(5 * EXACT_MAX + 17)]
    one_by_one = DDSketch(relative_accuracy=RELATIVE_ACCURACY)
    got = Quantiles()
    for i, v in enumerate(values):
        got.append(v)
        one_by_one.add(v)
        if i in (EXACT_MAX + 10, 3 * EXACT_MAX):
            assert got.quantile(0.5) == one_by_one.get_quantile_value(0.5)
            assert len(got) == i + 1
    assert len(got) == len(values)
    for q in (0.01, 0.5, 0.95, 0.99, 1.0):
        assert got.quantile(q) == one_by_one.get_quantile_value(q)


@pytest.mark.parametrize("sizes", [(10, 20), (EXACT_MAX, 5), (3 * EXACT_MAX, 7),
                                   (7, 3 * EXACT_MAX), (2 * EXACT_MAX, 2 * EXACT_MAX + 3)])
def test_extended_answers_as_appended_one_by_one(sizes: tuple[int, int]) -> None:
    """A rule and owner's values counted into everything's (alertd.noise.stats folds
    them so): the same answers as if every value had been appended there."""
    rng = random.Random(sum(sizes))
    first, second = ([60.0 * rng.randrange(1, 900) for _ in range(n)] for n in sizes)
    one_by_one, folded, other = Quantiles(), filled(first), filled(second)
    for v in first + second:
        one_by_one.append(v)
    folded.extend(other)
    assert len(folded) == len(one_by_one) and folded.exact == one_by_one.exact
    for q in (0.01, 0.5, 0.95, 1.0):
        assert folded.quantile(q) == one_by_one.quantile(q)
