"""A silence's states, Alertmanager's validation rules, and its matcher syntax."""

from __future__ import annotations

import pytest

from alertd.model import LabelMatcher, Labels
from alertd.silence import InvalidSilence, Silence, format_matcher, parse_matcher
from alertd.silence.model import make_matcher, matches_filter, parse_time
from tests.silence.conftest import HOUR, T0, sil


def test_states_at_the_boundaries() -> None:
    s = sil(start=T0, end=T0 + HOUR)
    assert s.state(T0 - 0.001) == "pending"
    assert s.state(T0) == "active"  # it starts at its start
    assert s.state(T0 + HOUR - 0.001) == "active"
    assert s.state(T0 + HOUR) == "expired"  # and is over at its end
    # Expiring a pending silence sets both times to now: expired, not active.
    assert sil(start=T0, end=T0).state(T0) == "expired"


def test_a_valid_silence_passes() -> None:
    sil('alertname="Foo"', 'severity=~"page|ticket"', 'env!="dev"', 'team!~"a.*"').validate()


@pytest.mark.parametrize(("matchers", "message"), [
    ((), "at least one matcher required"),
    (('foo=""',), "at least one matcher must not match the empty string"),
    (('foo=~".*"', 'bar=""'), "at least one matcher must not match the empty string"),
    (('foo=~"a|"',), "at least one matcher must not match the empty string"),
])
def test_matchers_that_would_silence_everything_are_refused(
        matchers: tuple[str, ...], message: str) -> None:
    s = Silence(matchers=tuple(parse_matcher(m) for m in matchers), starts_at=T0,
                ends_at=T0 + HOUR, created_by="ana", comment="x")
    with pytest.raises(InvalidSilence, match=message):
        s.validate()


def test_negative_matchers_alone_pass_as_in_alertmanager() -> None:
    # Alertmanager only counts = and =~ when it asks whether all match the empty string.
    sil('env!="prod"').validate()
    sil('env!~"prod|staging"').validate()
    sil('foo=""', 'bar="x"').validate()


def test_invalid_label_names_and_values_are_refused() -> None:
    with pytest.raises(InvalidSilence, match='invalid label matcher 1: invalid label name "a-b"'):
        sil('alertname="Foo"', LabelMatcher("a-b", "=", "x")).validate()
    with pytest.raises(InvalidSilence, match="invalid label name"):
        sil(LabelMatcher("job:rate", "=", "x")).validate()
    with pytest.raises(InvalidSilence, match="invalid label value"):
        sil(LabelMatcher("job", "=", "\ud800")).validate()


def test_end_before_start_is_refused_equal_is_not() -> None:
    with pytest.raises(InvalidSilence, match="end time must not be before start time"):
        sil(start=T0, end=T0 - 1).validate()
    sil(start=T0, end=T0).validate()


def test_an_invalid_regex_is_an_invalid_silence() -> None:
    with pytest.raises(InvalidSilence, match=r'invalid label matcher 2: invalid regular '
                                             r'expression "\("'):
        make_matcher("job", "(", is_regex=True, index=2)


@pytest.mark.parametrize(("is_regex", "is_equal", "op"), [
    (False, True, "="), (False, False, "!="), (True, True, "=~"), (True, False, "!~")])
def test_api_matcher_fields_map_to_operators(is_regex: bool, is_equal: bool, op: str) -> None:
    assert make_matcher("a", "b", is_regex=is_regex, is_equal=is_equal).op == op


def test_matching_reads_a_missing_label_as_empty_and_regexes_are_anchored() -> None:
    s = sil('alertname="Foo"', 'severity=~"page|ticket"', 'env!="prod"', 'team!~"db.*"')
    assert s.matches(Labels({"alertname": "Foo", "severity": "page"}))
    assert s.matches({"alertname": "Foo", "severity": "ticket", "env": "dev", "team": "web"})
    assert not s.matches({"alertname": "Foo", "severity": "pager"})  # anchored
    assert not s.matches({"alertname": "Foo", "severity": "page", "env": "prod"})
    assert not s.matches({"alertname": "Foo", "severity": "page", "team": "dbre"})
    assert not s.matches({"alertname": "Foo"})


@pytest.mark.parametrize(("text", "name", "op", "value"), [
    ('alertname="Foo"', "alertname", "=", "Foo"),
    ("alertname=Foo", "alertname", "=", "Foo"),
    ('  severity =~ "page|ticket"  ', "severity", "=~", "page|ticket"),
    ("env!=prod", "env", "!=", "prod"),
    ('team!~"db.*"', "team", "!~", "db.*"),
    ('msg="say \\"hi\\"\\n\\\\"', "msg", "=", 'say "hi"\n\\'),
    ('path="C:\\temp"', "path", "=", "C:\\temp"),  # a spurious escape stays literal
    ('empty=""', "empty", "=", ""),
    ("empty=", "empty", "=", ""),
    ('x="a b"', "x", "=", "a b"),
])
def test_parse_matcher_reads_amtool_syntax(text: str, name: str, op: str, value: str) -> None:
    m = parse_matcher(text)
    assert (m.name, m.op, m.value) == (name, op, value)


@pytest.mark.parametrize(("text", "message"), [
    ("Foo", "bad matcher format: Foo"),
    ("=foo", "bad matcher format"),
    ('a="b', "matcher value contains unescaped double quote"),
    ('a="b"c"', "matcher value contains unescaped double quote"),
    ('a=b"', "matcher value contains unescaped double quote"),
    ('a=~"("', 'invalid regular expression "\\("'),
])
def test_parse_matcher_errors(text: str, message: str) -> None:
    with pytest.raises(InvalidSilence, match=message):
        parse_matcher(text)


def test_format_matcher_quotes_and_escapes_so_that_it_parses_back() -> None:
    m = LabelMatcher("msg", "!=", 'a"b\\c\nd')
    assert format_matcher(m) == 'msg!="a\\"b\\\\c\\nd"'
    assert parse_matcher(format_matcher(m)) == m


def test_filters_match_the_silence_matchers_as_a_label_set() -> None:
    # Alertmanager's silenceMatchesFilterLabels: name -> value (or pattern), any operator.
    s = sil('alertname="Foo"', 'severity=~"page|ticket"', 'env!="prod"')

    def listed(*filters: str) -> bool:
        return matches_filter(s, [parse_matcher(f) for f in filters])

    assert listed()
    assert listed('alertname="Foo"')
    assert listed('severity="page|ticket"')  # the pattern is the value compared
    assert not listed('severity="page"')
    assert listed('env="prod"')  # the operator of the silence's matcher does not count
    assert listed('alertname=~"F.*"', 'env!="dev"')
    assert not listed('alertname="Bar"')
    assert listed('team!="x"')  # absent reads as ""
    assert not listed('team="x"')
    # An empty value: = and =~ pass when the name is absent, != and !~ when present.
    assert listed('team=""')
    assert not listed('alertname=""')
    assert listed('alertname!=""')
    assert not listed('team!=""')
    assert listed('env!~""')


def test_parse_time_reads_rfc3339() -> None:
    assert parse_time("2023-11-14T22:13:20Z") == T0
    assert parse_time("2023-11-14t22:13:20.25z") == T0 + 0.25
    assert parse_time("2023-11-14T23:13:20+01:00") == T0
    assert parse_time("2023-11-14T21:43:20.001-00:30") == T0 + 0.001
    assert parse_time("2023-11-14T22:13:20.123456789Z") == T0 + 0.123456
    for bad in ("2023-11-14", "2023-11-14T22:13:20", "2023-02-30T00:00:00Z", "now"):
        with pytest.raises(ValueError):
            parse_time(bad)
