"""Labels, fingerprints and matchers: the vocabulary shared by every stage."""

from __future__ import annotations

import pytest

from alertd.model import LabelMatcher, Labels


def test_fingerprint_matches_prometheus_and_alertmanager() -> None:
    # Values from prometheus/common's signature tests: alertd fingerprints must equal
    # Alertmanager's so that alerts keep their identity across both.
    labels = Labels({"name": "garland, briggs", "fear": "love is not enough"})
    assert int(labels.fingerprint(), 16) == 5799056148416392346
    assert int(Labels().fingerprint(), 16) == 14695981039346656037


def test_labels_are_ordered_hashable_values() -> None:
    a = Labels({"b": "2", "a": "1"})
    b = Labels([("a", "1"), ("b", "2")])
    assert a == b and hash(a) == hash(b) and a == {"a": "1", "b": "2"}
    assert list(a) == ["a", "b"]
    assert str(a) == '{a="1", b="2"}'
    assert a.get("missing") == ""


def test_label_operations() -> None:
    labels = Labels({"__name__": "up", "job": "api", "pod": "p1"})
    assert labels.without_name() == {"job": "api", "pod": "p1"}
    assert labels.keep(["job"]) == {"job": "api"}
    assert labels.without(["pod"]) == {"__name__": "up", "job": "api"}
    assert labels.merged({"pod": "", "team": "ml"}) == {"__name__": "up", "job": "api",
                                                        "team": "ml"}


@pytest.mark.parametrize(("op", "value", "hits"), [
    ("=", "api", ["api"]),
    ("!=", "api", ["api-canary", ""]),
    ("=~", "api.*", ["api", "api-canary"]),
    ("=~", "api", ["api"]),  # anchored
    ("!~", "api", ["api-canary", ""]),
    ("=~", "", [""]),
])
def test_matchers(op: str, value: str, hits: list[str]) -> None:
    m = LabelMatcher("job", op, value)
    assert [v for v in ["api", "api-canary", ""] if m.matches(v)] == hits
