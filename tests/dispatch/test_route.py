"""The routing tree: Alertmanager's matching order, continue, inheritance of options, route
keys, and the explanation `alertd routes test` prints."""

from __future__ import annotations

import pytest

from alertd.config import Config, parse_config
from alertd.dispatch.route import Route
from alertd.dispatch.routes_cli import routes_test
from alertd.model import Labels

TREE = """\
route:
  receiver: default
  group_by: [alertname]
  routes:
    - matchers: [severity="page"]
      receiver: pager
      continue: true
      group_wait: 10s
      routes:
        - matchers: [team=ml]
          receiver: ml-pager
          repeat_interval: 1h
    - matchers: ['team=~"ml|data"']
      receiver: ml-slack
      group_by: ['...']
      mute_time_intervals: [nights]
      routes:
        - matchers: [env!=prod]
          group_interval: 10m
          group_by: []
        - matchers: [env=prod]
          group_by: [cluster]
          active_time_intervals: [days]
          routes:
            - {receiver: ml-prod}
    - match: {team: ml}
      receiver: never-reached
    - match_re: {service: 'api|web'}
      receiver: web
receivers:
  - {name: default}
  - {name: pager}
  - {name: ml-pager}
  - {name: ml-slack}
  - {name: ml-prod}
  - {name: never-reached}
  - {name: web}
time_intervals: [{name: nights}, {name: days}]
"""


@pytest.fixture(scope="module")
def config() -> Config:
    return parse_config(TREE)


@pytest.fixture(scope="module")
def root(config: Config) -> Route:
    return Route.from_config(config.route)


def receivers(root: Route, **labels: str) -> list[str]:
    return [r.receiver for r in root.match(labels)]


def test_the_root_takes_what_no_child_takes(root: Route) -> None:
    assert receivers(root) == ["default"]
    assert receivers(root, team="infra") == ["default"]
    assert root.match({"team": "infra"}) == [root]


def test_the_first_matching_child_wins(root: Route) -> None:
    # team=ml matches routes[1] and routes[2]; routes[1] has no continue.
    assert receivers(root, team="ml", env="prod") == ["ml-prod"]
    assert receivers(root, team="data", env="dev") == ["ml-slack"]


def test_continue_goes_on_to_the_next_siblings(root: Route) -> None:
    assert receivers(root, severity="page", team="ml", env="dev") == ["ml-pager", "ml-slack"]
    assert receivers(root, severity="page", service="api") == ["pager", "web"]
    assert receivers(root, severity="page") == ["pager"]


def test_a_route_whose_children_do_not_match_is_itself_the_match(root: Route) -> None:
    [match] = root.match({"severity": "page", "team": "infra"})
    assert match.path == "route.routes[0]" and match.receiver == "pager"


def test_deprecated_match_re_is_anchored(root: Route) -> None:
    assert receivers(root, service="api") == ["web"]
    assert receivers(root, service="api2") == ["default"]


def test_options_are_inherited_unless_set(root: Route) -> None:
    by_path = {r.path: r for r in root.walk()}
    assert (root.group_by, root.group_wait, root.group_interval, root.repeat_interval) == (
        ("alertname",), 30.0, 300.0, 4 * 3600.0)
    pager_ml = by_path["route.routes[0].routes[0]"]
    assert (pager_ml.receiver, pager_ml.group_by, pager_ml.group_wait, pager_ml.repeat_interval
            ) == ("ml-pager", ("alertname",), 10.0, 3600.0)
    dev = by_path["route.routes[1].routes[0]"]
    # An empty group_by inherits, as in Alertmanager.
    assert (dev.receiver, dev.group_by, dev.group_interval) == ("ml-slack", "all", 600.0)
    prod = by_path["route.routes[1].routes[1].routes[0]"]
    assert (prod.receiver, prod.group_by) == ("ml-prod", ("cluster",))


def test_time_intervals_are_not_inherited(root: Route) -> None:
    by_path = {r.path: r for r in root.walk()}
    assert by_path["route.routes[1]"].mute_time_intervals == ("nights",)
    assert by_path["route.routes[1].routes[0]"].mute_time_intervals == ()
    assert by_path["route.routes[1].routes[1]"].active_time_intervals == ("days",)
    assert by_path["route.routes[1].routes[1].routes[0]"].active_time_intervals == ()


def test_route_keys_follow_alertmanager(root: Route) -> None:
    keys = [(r.key, r.id) for r in root.walk()]
    assert keys == [
        ("{}", "{}"),
        ('{}/{severity="page"}', '{}/{severity="page"}/0'),
        ('{}/{severity="page"}/{team="ml"}', '{}/{severity="page"}/{team="ml"}/0'),
        ('{}/{team=~"ml|data"}', '{}/{team=~"ml|data"}/1'),
        ('{}/{team=~"ml|data"}/{env!="prod"}', '{}/{team=~"ml|data"}/{env!="prod"}/0'),
        ('{}/{team=~"ml|data"}/{env="prod"}', '{}/{team=~"ml|data"}/{env="prod"}/1'),
        ('{}/{team=~"ml|data"}/{env="prod"}/{}', '{}/{team=~"ml|data"}/{env="prod"}/{}/0'),
        ('{}/{team="ml"}', '{}/{team="ml"}/2'),
        ('{}/{service=~"^(?:api|web)$"}', '{}/{service=~"^(?:api|web)$"}/3'),
    ]


def test_matchers_are_sorted_as_alertmanager_sorts_them() -> None:
    config = parse_config("""\
route:
  receiver: console
  routes:
    - matchers: ['z="1"', 'a!~"x"', 'a=~"x"', 'a="y"', 'a!="x"', 'a="x"']
      match: {m: v}
""")
    route = Route.from_config(config.route).routes[0]
    assert route.matchers_text == (
        '{a="x",a!="x",a=~"x",a!~"x",a="y",m="v",z="1"}')


def test_group_labels(root: Route) -> None:
    labels = Labels({"alertname": "A", "cluster": "c1", "team": "ml", "env": "prod"})
    [prod] = root.match(labels)
    assert prod.group_labels(labels) == Labels({"cluster": "c1"})
    assert root.group_labels(labels) == Labels({"alertname": "A"})
    [dev] = root.match(labels.merged({"env": "dev"}))
    assert dev.group_labels(labels) == labels


def test_explain_says_what_matched_and_what_failed(root: Route) -> None:
    assert root.explain({"severity": "page", "team": "ml", "env": "prod"}) == [
        "route {}: the root route takes every alert",
        '  route.routes[0] {severity="page"}: matches, continue: true',
        '    route.routes[0].routes[0] {team="ml"}: matches -> receiver "ml-pager"',
        '  route.routes[1] {team=~"ml|data"}: matches',
        '    route.routes[1].routes[0] {env!="prod"}: no match: env!="prod" fails (env="prod")',
        '    route.routes[1].routes[1] {env="prod"}: matches',
        '      route.routes[1].routes[1].routes[0] {}: matches (no matchers) -> receiver '
        '"ml-prod"',
        "  not tried: route.routes[2], route.routes[3] (route.routes[1] matched without "
        "continue)",
    ]
    assert root.explain({"severity": "page"}) == [
        "route {}: the root route takes every alert",
        '  route.routes[0] {severity="page"}: matches, continue: true',
        '    route.routes[0].routes[0] {team="ml"}: no match: team="ml" fails (team is not set)',
        '    no route below route.routes[0] matches: it takes the alert -> receiver "pager"',
        '  route.routes[1] {team=~"ml|data"}: no match: team=~"ml|data" fails (team is not '
        "set)",
        '  route.routes[2] {team="ml"}: no match: team="ml" fails (team is not set)',
        '  route.routes[3] {service=~"^(?:api|web)$"}: no match: service=~"^(?:api|web)$" '
        "fails (service is not set)",
    ]


def test_routes_test_lists_receivers_as_amtool_does(config: Config) -> None:
    found, text = routes_test(config, {"severity": "page", "service": "web"})
    assert found == ["pager", "web"]
    assert text.splitlines()[0] == 'alert {service="web", severity="page"}'
    assert text.splitlines()[-3:] == [
        "receivers: pager, web",
        '  "pager" via route.routes[0]: group_by [alertname], group_wait 10s, '
        "group_interval 5m, repeat_interval 4h",
        '  "web" via route.routes[3]: group_by [alertname], group_wait 30s, group_interval 5m, '
        "repeat_interval 4h",
    ]


def test_routes_test_lists_a_receiver_once_per_route() -> None:
    config = parse_config("""\
route:
  receiver: a
  routes:
    - {matchers: [x=1], continue: true}
    - {matchers: [y=1], continue: true}
receivers: [{name: a}]
""")
    assert routes_test(config, {"x": "1", "y": "1"})[0] == ["a", "a"]


def test_routes_test_adds_the_owner_as_ingest_does() -> None:
    config = parse_config("""\
owners:
  - {name: ml-platform, matchers: ['service=~"churn|fraud"']}
route:
  receiver: default
  routes: [{matchers: [owner=ml-platform], receiver: ml}]
receivers: [{name: default}, {name: ml}]
""")
    found, text = routes_test(config, {"service": "churn"})
    assert found == ["ml"]
    assert ('owner "ml-platform" added from owners[0] (matchers: service=~"churn|fraud")'
            in text.splitlines())
    assert routes_test(config, {"service": "churn", "owner": "other"})[0] == ["default"]
    assert routes_test(config, {"service": "ads"})[0] == ["default"]


def test_the_default_config_routes_everything_to_console() -> None:
    assert routes_test(Config(), {"alertname": "A"})[0] == ["console"]
