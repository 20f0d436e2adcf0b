"""Labels, fingerprints and matchers: the vocabulary shared by every stage."""

from __future__ import annotations

import time

import pytest

from alertd.model import LabelMatcher, Labels
from alertd.regex import RegexError


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


def test_a_catastrophic_regex_runs_in_linear_time() -> None:
    # With a backtracking engine each extra "a" doubles the time (26 of them took 2.4 s);
    # RE2 answers in microseconds. The bound is generous: the point is exponential vs linear.
    m = LabelMatcher("instance", "=~", "(a+)+")
    started = time.perf_counter()
    assert not m.matches("a" * 30 + "!")
    assert m.matches("a" * 30)
    assert time.perf_counter() - started < 0.5


# (pattern, value, whether Prometheus's `=~` matches): anchoring, `.` and newlines, empty
# patterns, flags, and RE2's syntax where Python's `re` reads the pattern differently.
PROMETHEUS_CASES = [
    ("foo", "foo", True),
    ("foo", "foobar", False),  # anchored at both ends
    ("foo", "xfoo", False),
    ("a|b", "ab", False),  # the anchors hold for every alternative
    ("a|b", "b", True),
    ("a|ab", "ab", True),
    (".", "\n", True),  # `.` matches a newline, as in (?s:...)
    (".*", "line 1\nline 2", True),
    ("(?-s:.)", "\n", False),
    ("", "", True),
    ("", "x", False),
    ("(?i)foo", "FoO", True),
    ("foo", "FOO", False),
    ("a$", "a\n", False),  # `$` is the end of the value, not before a final newline
    (r"\d", "\u0663", False),  # ASCII classes: Arabic-Indic three is no \d
    (r"\w+", "é", False),
    (r"\s", "\u00a0", False),
    ("[[:alpha:]]+", "abc", True),  # POSIX classes
    (r"\p{Greek}+", "αβγ", True),  # Unicode classes
    ("a{,3}", "a{,3}", True),  # not a repetition in RE2, a literal
    ("a{,3}", "aa", False),
    (r"\Qa.b\E", "a.b", True),
    (r"\Qa.b\E", "axb", False),
]


def test_regex_matchers_have_prometheus_semantics() -> None:
    got = [(p, v, LabelMatcher("x", "=~", p).matches(v)) for p, v, _ in PROMETHEUS_CASES]
    assert got == PROMETHEUS_CASES
    negated = [not LabelMatcher("x", "!~", p).matches(v) for p, v, _ in PROMETHEUS_CASES]
    assert negated == [hit for _, _, hit in PROMETHEUS_CASES]


@pytest.mark.parametrize(("pattern", "reason"), [
    (r"(a)\1", r"invalid escape sequence: `\1`"),  # a backreference
    ("a(?=b)", "invalid perl operator: `(?=`"),  # lookahead
    ("(?<!a)b", "invalid perl operator: `(?<!`"),  # lookbehind
    ("a++", "bad repetition operator: `++`"),  # possessive
    (r"a\Z", r"invalid escape sequence: `\Z`"),
    ("a)|(b", "unexpected ): `a)|(b`"),  # cannot close the group the anchors wrap
])
def test_patterns_re2_does_not_accept_are_rejected(pattern: str, reason: str) -> None:
    with pytest.raises(RegexError) as info:
        LabelMatcher("x", "=~", pattern)
    assert str(info.value).startswith(reason)
    assert isinstance(info.value, ValueError)
