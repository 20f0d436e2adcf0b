"""Regexes in rule files: RE2's syntax, checked where they are written, run in linear time."""

from __future__ import annotations

import time

import pytest

from alertd.errors import EvalError
from alertd.lang.functions import label_replace
from alertd.model import Labels, Sample
from tests.lang.test_check import check

SOURCE = '''\
alert Backref {
  when = up{instance=~"(a)\\\\1"} == 0
}
alert Lookahead {
  when = label_replace(up, "host", "$1", "instance", "(.*)(?=:9100)") == 0
}
alert Fine {
  when = up{instance=~"[[:alnum:]]+:9100", job!~"(?i)test.*"} == 0
}
'''


def test_patterns_re2_rejects_are_diagnostics_at_the_string() -> None:
    result = check(SOURCE, paths=("hosts.rules",))
    hint = "(RE2 syntax, as in Prometheus, has no backreferences, look-around or " \
           "possessive quantifiers)"
    assert [f"{d.span.line}:{d.span.column}: {d.message}" for d in result.diagnostics] == [
        f'2:23: invalid regular expression "(a)\\1": invalid escape sequence: `\\1` {hint}',
        f'5:54: invalid regular expression "(.*)(?=:9100)": invalid perl operator: `(?=` '
        f"{hint}",
    ]
    assert result.diagnostics[0].headline().startswith("hosts.rules:2:23: ")


def up(**labels: str) -> Sample:
    return Sample(Labels({"__name__": "up", **labels}), 1.0)


def test_label_replace_uses_re2_anchored() -> None:
    vector = [up(instance="db-1.example.com:9100"), up(instance="x" * 40 + "!")]
    started = time.perf_counter()
    got = label_replace(vector, "host", "${short}-$2", "instance", r"(?P<short>\w+)-(\d).*|(x+)+")
    assert time.perf_counter() - started < 0.5
    assert [s.labels.get("host") for s in got] == ["db-1", ""]
    # Anchored: "db" alone does not match the whole value, so nothing is replaced.
    assert label_replace(vector, "host", "$1", "instance", "(db)")[0].labels.get("host") == ""


def test_label_replace_with_a_pattern_re2_rejects_is_an_evaluation_error() -> None:
    with pytest.raises(EvalError, match=r'label_replace\(\): invalid regular expression "\(a\)'):
        label_replace([up(instance="aa")], "x", "$1", "instance", r"(a)\1")
