"""Regexes and label names in alertd.yml: RE2's syntax and exact names, errors by key path."""

from __future__ import annotations

import pytest

from alertd.config import parse_config
from tests.config.test_routing_config import problems

HINT = ("(RE2 syntax, as in Prometheus, has no backreferences, look-around or possessive "
        "quantifiers)")


def test_route_and_inhibit_regexes_re2_rejects_name_their_key() -> None:
    text = (
        "route:\n"
        "  receiver: console\n"
        "  routes:\n"
        "    - matchers: ['instance=~\"(a)\\\\1\"']\n"
        "    - match_re: {host: 'db(?=-1)'}\n"
        "inhibit_rules:\n"
        "  - source_matchers: ['severity=~\"(?<!no)page\"']\n"
        "    target_matchers: ['severity=\"ticket\"']\n"
        "    target_match_re: {team: 'a++'}\n")
    assert problems(text) == [
        'alertd.yml: route.routes[0].matchers[0]: the regular expression of matcher '
        f'"instance=~"(a)\\\\1"" is invalid: invalid escape sequence: `\\1` {HINT}',
        'alertd.yml: route.routes[1].match_re: the regular expression of "host" "db(?=-1)" '
        f"is invalid: invalid perl operator: `(?=` {HINT}",
        "alertd.yml: inhibit_rules[0].source_matchers[0]: the regular expression of matcher "
        f'"severity=~"(?<!no)page"" is invalid: invalid perl operator: `(?<!` {HINT}',
        'alertd.yml: inhibit_rules[0].target_match_re: the regular expression of "team" '
        f'"a++" is invalid: bad repetition operator: `++` {HINT}',
    ]


def test_route_matchers_use_re2_semantics() -> None:
    config = parse_config(
        "route:\n  receiver: console\n  routes:\n"
        "    - matchers: ['host=~\"[[:alpha:]]+\"']\n"
        "      match_re: {zone: 'eu|us'}\n", "alertd.yml", env={})
    matchers = config.route.routes[0].compiled_matchers()
    by_name = {m.name: m for m in matchers}
    assert by_name["host"].matches("db") and not by_name["host"].matches("db1")
    assert by_name["zone"].matches("eu") and not by_name["zone"].matches("eu-us")
    assert not by_name["zone"].matches("us\n")


@pytest.mark.parametrize("text", [
    "route: {receiver: console, group_by: ['alertname\\n']}\n",
    "route: {receiver: console, routes: [{match: {'team\\n': ml}}]}\n",
    "inhibit_rules: [{equal: ['cluster\\n']}]\nroute: {receiver: console}\n",
])
def test_label_names_with_a_trailing_newline_are_rejected(text: str) -> None:
    # These validators already matched whole names; this keeps them exact.
    assert any('is not a valid label name' in p for p in problems(text))
