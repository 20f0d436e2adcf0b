"""alertd.yml: defaults, a full file, every kind of error by its exact message, durations,
sizes, secrets from the environment and from files, storage URLs and the listen address."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from alertd.config import (
    BasicAuth,
    Config,
    MqttSource,
    MqttTopic,
    PrometheusSource,
    SamplesConfig,
    TLSConfig,
    WebhookSource,
    load_config,
    parse_config,
)
from alertd.errors import ConfigError

SECRET = "s3cr3t-Value"


def write(path: Path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return str(path)


def problems(text: str, env: dict[str, str] | None = None, path: str = "alertd.yml") -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, path, env=env or {})
    return str(info.value).splitlines()


def problem(text: str, env: dict[str, str] | None = None) -> str:
    found = problems(text, env)
    assert len(found) == 1, found
    return found[0]


# --- defaults ------------------------------------------------------------------------------


def test_defaults() -> None:
    config = load_config(None)
    assert config == Config()
    assert config.listen == "127.0.0.1:9095"
    assert config.storage == "sqlite:///data/alertd.db"
    assert config.rule_files == ["rules/*.rules"]
    assert config.evaluation_interval == 60.0
    assert config.console is True
    assert config.base_dir is None
    prom = config.sources.prometheus
    assert (prom.enabled, prom.url, prom.timeout, prom.max_concurrency) == (
        True, "http://127.0.0.1:9090", 10.0, 16)
    assert prom.auth_header() is None
    hook = config.sources.webhook
    assert hook.enabled and hook.max_body_bytes == 10 * 1024 * 1024 and hook.tokens() == frozenset()
    mqtt = config.sources.mqtt
    assert not mqtt.enabled and mqtt.url == "mqtt://127.0.0.1:1883" and mqtt.topics == []
    assert (mqtt.keepalive, mqtt.reconnect_min, mqtt.reconnect_max) == (60.0, 0.5, 30.0)
    assert mqtt.password_value() is None
    assert config.samples == SamplesConfig(
        max_series_per_metric=10000, snapshot_interval=60.0, min_retention=3600.0)


def test_defaults_resolve_against_the_working_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(None)
    assert config.storage_url() == f"sqlite+aiosqlite:///{tmp_path}/data/alertd.db"
    assert config.listen_host_port() == ("127.0.0.1", 9095)


@pytest.mark.parametrize("text", ["", "\n", "# nothing configured yet\n", "---\n"])
def test_an_empty_file_means_defaults(tmp_path: Path, text: str) -> None:
    config = load_config(write(tmp_path / "alertd.yml", text))
    assert config.sources == Config().sources
    assert config.base_dir == str(tmp_path)
    # Relative defaults are relative to the config file's directory too.
    assert config.rule_files == [f"{tmp_path}/rules/*.rules"]
    assert config.storage_url() == f"sqlite+aiosqlite:///{tmp_path}/data/alertd.db"


def test_models_are_frozen() -> None:
    config = Config()
    with pytest.raises(ValueError, match="frozen"):
        config.listen = "0.0.0.0:1"


# --- a full file ---------------------------------------------------------------------------

FULL = """\
listen: "[::1]:9100"
storage: sqlite:///state/alertd.db
rule_files: ["rules/*.rules", "/etc/alertd/extra/*.rules"]
evaluation_interval: 30s
console: false
sources:
  prometheus:
    enabled: true
    url: https://prometheus.example.com:9090/prom/
    timeout: 1m30s
    max_concurrency: 4
    basic_auth:
      username: alertd
      password_file: secrets/prom-password
    tls:
      ca_file: tls/ca.pem
      server_name: prometheus.internal
      insecure_skip_verify: false
  webhook:
    bearer_tokens: ["${HOOK_TOKEN}", literal-token]
    bearer_token_files: [secrets/hook-token]
    max_body_bytes: 512KiB
  mqtt:
    enabled: true
    url: mqtts://broker.example.com
    client_id: alertd-1
    username: alertd
    password: ${MQTT_PASSWORD}
    tls: {}
    keepalive: 30s
    reconnect_min: 1s
    reconnect_max: 2m
    topics:
      - ml/+/predictions
      - topic: ml/+/+/latency
        labels_from_topic: {model: 1, version: 2}
        qos: 0
samples:
  max_series_per_metric: 500
  snapshot_interval: 5m
  min_retention: 2h
"""


def full_dir(tmp_path: Path) -> Path:
    write(tmp_path / "secrets/prom-password", "prom-pass\n")
    write(tmp_path / "secrets/hook-token", "  file-token  \n")
    (tmp_path / "tls").mkdir()
    make_cert(tmp_path / "tls/ca.pem", tmp_path / "tls/key.pem")
    write(tmp_path / "alertd.yml", FULL)
    return tmp_path


def make_cert(cert: Path, key: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a certificate")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=alertd-test", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True)


def test_a_full_file(tmp_path: Path) -> None:
    d = full_dir(tmp_path)
    env = {"HOOK_TOKEN": "env-token", "MQTT_PASSWORD": "mqtt-pass"}
    config = load_config(str(d / "alertd.yml"), env=env)

    assert config.listen_host_port() == ("::1", 9100)
    assert config.storage_url() == f"sqlite+aiosqlite:///{d}/state/alertd.db"
    assert config.rule_files == [f"{d}/rules/*.rules", "/etc/alertd/extra/*.rules"]
    assert config.evaluation_interval == 30.0
    assert config.console is False

    prom = config.sources.prometheus
    assert prom.url == "https://prometheus.example.com:9090/prom"  # the trailing / dropped
    assert prom.timeout == 90.0 and prom.max_concurrency == 4
    assert prom.basic_auth == BasicAuth(username="alertd",
                                        password_file=f"{d}/secrets/prom-password")
    expected = base64.b64encode(b"alertd:prom-pass").decode()
    assert prom.auth_header() == f"Basic {expected}"
    assert prom.tls is not None and prom.tls.ca_file == f"{d}/tls/ca.pem"
    assert prom.tls.server_name == "prometheus.internal"
    assert prom.tls.ssl_context().verify_mode.name == "CERT_REQUIRED"

    hook = config.sources.webhook
    assert hook.tokens() == frozenset({"env-token", "literal-token", "file-token"})
    assert hook.max_body_bytes == 512 * 1024

    mqtt = config.sources.mqtt
    assert mqtt.enabled and mqtt.uses_tls() and mqtt.host_port() == ("broker.example.com", 8883)
    assert mqtt.client_id == "alertd-1" and mqtt.username == "alertd"
    assert mqtt.password_value() == "mqtt-pass"
    assert (mqtt.keepalive, mqtt.reconnect_min, mqtt.reconnect_max) == (30.0, 1.0, 120.0)
    assert mqtt.topics == [
        MqttTopic(topic="ml/+/predictions"),
        MqttTopic(topic="ml/+/+/latency", labels_from_topic={"model": 1, "version": 2}, qos=0),
    ]
    assert mqtt.topics[0].qos == 1

    assert config.samples == SamplesConfig(
        max_series_per_metric=500, snapshot_interval=300.0, min_retention=7200.0)
    # Durations are written back as text.
    assert config.model_dump(mode="json")["samples"]["min_retention"] == "2h"


def test_the_example_in_the_docs_is_valid(tmp_path: Path) -> None:
    doc = Path(__file__).parents[2] / "docs" / "configuration.md"
    text = doc.read_text(encoding="utf-8")
    start = text.index("```yaml\n# alertd.yml") + len("```yaml\n")
    example = text[start:text.index("```", start)]
    write(tmp_path / "secrets/prometheus-token", "token\n")
    write(tmp_path / "secrets/webhook-token", "token\n")
    write(tmp_path / "secrets/slack-signing-secret", "8f742231b10e8888abcd99yyyzzz85a5\n")
    config = parse_config(example, str(tmp_path / "alertd.yml"),
                          env={"MQTT_PASSWORD": "pw", "WEBHOOK_TOKEN": "t"})
    assert config.sources.mqtt.enabled
    assert config.notify.slack.signing_secret_file is not None


# --- error messages ------------------------------------------------------------------------


def test_unknown_key_with_a_suggestion() -> None:
    assert problem("sources:\n  prometheus:\n    timout: 10s\n") == (
        'alertd.yml: sources.prometheus.timout: unknown key (did you mean "timeout"?)')
    assert problem("evaluation_intervall: 1m\n") == (
        'alertd.yml: evaluation_intervall: unknown key (did you mean "evaluation_interval"?)')


@pytest.mark.parametrize("key", ["noise"])
def test_later_sections_are_unknown_keys_for_now(key: str) -> None:
    # (a suggestion may follow: "templates" is close enough to "samples")
    assert problem(f"{key}: {{}}\n").startswith(f"alertd.yml: {key}: unknown key")


def test_unknown_key_in_a_list_item() -> None:
    text = "sources:\n  mqtt:\n    topics:\n      - a/b\n      - {topic: c, qso: 1}\n"
    assert problem(text) == (
        'alertd.yml: sources.mqtt.topics[1].qso: unknown key (did you mean "qos"?)')


def test_required_key_missing() -> None:
    text = "sources:\n  prometheus:\n    basic_auth: {password: x}\n"
    assert problem(text) == (
        "alertd.yml: sources.prometheus.basic_auth.username: required key missing")
    text = "sources:\n  mqtt:\n    topics: [{qos: 1}]\n"
    assert problem(text) == "alertd.yml: sources.mqtt.topics[0].topic: required key missing"


@pytest.mark.parametrize(("text", "message"), [
    ("listen: [a]", 'listen: expected a string, got a list'),
    ("listen: 9095", "listen: expected a string, got the number 9095; quote it"),
    ("console: maybe", 'console: expected true or false, got the string "maybe"'),
    ("rule_files: rules/*.rules", 'rule_files: expected a list, got the string "rules/*.rules"'),
    ("sources: [prometheus]", "sources: expected a mapping, got a list"),
    ("sources: {prometheus: null}", "sources.prometheus: expected a mapping, got nothing (null)"),
    ("samples: {max_series_per_metric: 1.5}",
     "samples.max_series_per_metric: expected a whole number, got the number 1.5"),
    ('samples: {max_series_per_metric: "10"}',
     'samples.max_series_per_metric: expected a whole number, got the string "10"'),
    ("samples: {max_series_per_metric: 0}",
     "samples.max_series_per_metric: must be at least 1, got 0"),
    ("sources: {prometheus: {max_concurrency: true}}",
     "sources.prometheus.max_concurrency: expected a whole number, got the boolean true"),
    ("sources: {mqtt: {topics: [{topic: a, qos: 3}]}}",
     "sources.mqtt.topics[0].qos: must be 0, 1 or 2, got 3"),
    ("sources: {mqtt: {topics: [a, 5]}}",
     "sources.mqtt.topics[1]: expected a mapping, got the number 5"),
    ("sources: {mqtt: {topics: [{topic: a/+, labels_from_topic: {m: x}}]}}",
     'sources.mqtt.topics[0].labels_from_topic.m: expected a whole number, got the string "x"'),
    ("sources: {mqtt: {topics: [{topic: a/+, labels_from_topic: {5: 1}}]}}",
     "sources.mqtt.topics[0].labels_from_topic.5: keys must be strings, got the number 5"),
    ("1: x", "1: unknown key (keys are strings: quote it)"),
])
def test_type_errors(text: str, message: str) -> None:
    assert problem(text + "\n") == f"alertd.yml: {message}"


@pytest.mark.parametrize(("text", "message"), [
    ("evaluation_interval: 1x",
     'evaluation_interval: invalid duration "1x": expected a number followed by a unit '
     "(ms, s, m, h, d, w, y)"),
    ("evaluation_interval: 1.5h",
     'evaluation_interval: invalid duration "1.5h": fractions are not allowed; '
     "write 1h30m rather than 1.5h"),
    ("evaluation_interval: 30",
     "evaluation_interval: expected a duration, got the number 30; write a duration such as 30s"),
    ("evaluation_interval: 0s", "evaluation_interval: must be longer than 0s, got 0s"),
    ("evaluation_interval: [1m]",
     "evaluation_interval: expected a duration such as 30s, got a list"),
    ("sources: {mqtt: {keepalive: 1d}}",
     "sources.mqtt.keepalive: must be between 1s and 18h12m15s, got 1d"),
])
def test_duration_errors(text: str, message: str) -> None:
    assert problem(text + "\n") == f"alertd.yml: {message}"


@pytest.mark.parametrize(("text", "message"), [
    ("listen: localhost", 'listen: invalid address "localhost": write host:port, such as '
                          "127.0.0.1:9095"),
    ("listen: ':99999'",
     'listen: invalid address ":99999": the port must be 0 to 65535, got 99999'),
    ("listen: '::1:9095'", 'listen: invalid address "::1:9095": write an IPv6 address in '
                           "brackets, as in [::1]:9095"),
    ("listen: '[nope]:1'", 'listen: invalid address "[nope]:1": "nope" is not an IPv6 address'),
    ("listen: 'a b:1'", 'listen: invalid address "a b:1": "a b" is not a host name or address'),
    ("storage: mysql://db/alertd", 'storage: unsupported storage "mysql://db/alertd": write '
                                   "sqlite:///path/to/file.db or postgresql://user@host/database"),
    ("storage: 'sqlite:///'", 'storage: "sqlite:///" names no database file'),
    ("rule_files: ['']", "rule_files[0]: must not be empty"),
    ("sources: {prometheus: {url: 'ftp://x'}}",
     'sources.prometheus.url: invalid URL "ftp://x": write http://host:port or https://host:port'),
    ("sources: {prometheus: {url: 'http://u:pw@x'}}",
     'sources.prometheus.url: the URL "http://u:***@x" must not hold credentials; '
     "give them in their own keys"),
    ("sources: {prometheus: {url: 'http://x:port'}}",
     'sources.prometheus.url: invalid URL "http://x:port": write http://host:port or '
     "https://host:port"),
    ("sources: {prometheus: {tls: {}}}",
     "sources.prometheus: tls is set but the url is not https://"),
    ("sources: {prometheus: {bearer_token: a, basic_auth: {username: u, password: p}}}",
     "sources.prometheus: set at most one of basic_auth, bearer_token and bearer_token_file"),
    ("sources: {prometheus: {basic_auth: {username: u}}}",
     "sources.prometheus.basic_auth: set exactly one of password and password_file"),
    ("sources: {mqtt: {url: 'mqtt://broker/topic'}}",
     'sources.mqtt.url: the URL "mqtt://broker/topic" must not have a path; give topics in the '
     "topics key"),
    ("sources: {mqtt: {topics: ['a/#/b']}}",
     'sources.mqtt.topics[0].topic: invalid topic filter "a/#/b": # must be the last level'),
    ("sources: {mqtt: {topics: ['a/b+']}}",
     'sources.mqtt.topics[0].topic: invalid topic filter "a/b+": + and # must fill a level'),
    ("sources: {mqtt: {topics: ['']}}", "sources.mqtt.topics[0].topic: must not be empty"),
    ("sources: {webhook: {max_body_bytes: 0}}",
     "sources.webhook.max_body_bytes: must be at least 1 byte, got 0"),
    ("sources: {webhook: {max_body_bytes: 10 megs}}",
     'sources.webhook.max_body_bytes: invalid size "10 megs": write a number of bytes or a size '
     "such as 512KiB, 10MiB or 1MB"),
])
def test_value_errors(text: str, message: str) -> None:
    assert problem(text + "\n") == f"alertd.yml: {message}"


def test_labels_from_topic_errors_each_on_a_line() -> None:
    text = ("sources:\n  mqtt:\n    topics:\n      - topic: ml/+/#\n"
            "        labels_from_topic: {model: 1, bad-name: 0, rest: 2, neg: -1}\n")
    where = "alertd.yml: sources.mqtt.topics[0].labels_from_topic"
    assert problems(text) == [
        f'{where}: "bad-name" is not a valid label name',
        f'{where}: label "rest": level 2 is not a fixed level of "ml/+/#" (levels 0 to 1)',
        f'{where}: label "neg": a level index is 0 or more, got -1',
    ]


def test_cross_key_errors_each_on_a_line() -> None:
    text = ("sources:\n  mqtt:\n    enabled: true\n    password: x\n    tls: {}\n"
            "    reconnect_min: 1m\n    reconnect_max: 10s\n")
    assert problems(text) == [
        "alertd.yml: sources.mqtt: a password needs a username",
        "alertd.yml: sources.mqtt: tls is set but the url is not mqtts://",
        "alertd.yml: sources.mqtt: reconnect_min must not be longer than reconnect_max",
        "alertd.yml: sources.mqtt: enabled but no topics are given",
    ]


def test_every_problem_is_reported_at_once() -> None:
    text = """\
listen: nowhere
evaluation_interval: 1x
route: {contine: true}
sources:
  prometheus:
    timout: 10s
    timeout: 30
  mqtt:
    topics:
      - a/+/b
      - {topic: c, qos: 3}
samples:
  snapshot_interval: 0s
"""
    assert problems(text) == [
        'alertd.yml: listen: invalid address "nowhere": write host:port, such as 127.0.0.1:9095',
        'alertd.yml: evaluation_interval: invalid duration "1x": expected a number followed by '
        "a unit (ms, s, m, h, d, w, y)",
        "alertd.yml: sources.prometheus.timeout: expected a duration, got the number 30; "
        "write a duration such as 30s",
        'alertd.yml: sources.prometheus.timout: unknown key (did you mean "timeout"?)',
        "alertd.yml: sources.mqtt.topics[1].qos: must be 0, 1 or 2, got 3",
        "alertd.yml: samples.snapshot_interval: must be longer than 0s, got 0s",
        'alertd.yml: route.contine: unknown key (did you mean "continue"?)',
    ]


def test_yaml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path / "alertd.yml", "listen: a\nsources:\n  prometheus: [\n    url: x\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}:5:1: invalid YAML: ")
    assert problem("a: 1\n  b: 2\n") == (
        "alertd.yml:2:4: invalid YAML: mapping values are not allowed here")


def test_duplicate_keys_are_errors() -> None:
    assert problem("listen: a:1\nlisten: b:2\n") == (
        'alertd.yml:2:1: invalid YAML: duplicate key "listen"')


@pytest.mark.parametrize(("text", "got"), [
    ("- a\n", "a list"), ("just text\n", 'the string "just text"'), ("3\n", "the number 3"),
])
def test_the_top_level_must_be_a_mapping(text: str, got: str) -> None:
    assert problem(text) == f"alertd.yml: the top level must be a mapping of keys, got {got}"


def test_unreadable_file(tmp_path: Path) -> None:
    path = str(tmp_path / "missing.yml")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}: cannot read the file: No such file or directory"


def test_messages_name_the_file_as_given(tmp_path: Path) -> None:
    path = write(tmp_path / "conf" / "my.yml", "listen: x\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: listen: ")


# --- durations and sizes -------------------------------------------------------------------


@pytest.mark.parametrize(("text", "seconds"), [
    ("100ms", 0.1), ("10s", 10.0), ("1m", 60.0), ("1h30m", 5400.0), ("2d", 172800.0),
    ("1w", 604800.0),
])
def test_durations(text: str, seconds: float) -> None:
    config = parse_config(f"evaluation_interval: {text}\nsamples: {{min_retention: {text}}}\n")
    assert config.evaluation_interval == pytest.approx(seconds)
    assert config.samples.min_retention == pytest.approx(seconds)


def test_durations_in_python_are_seconds() -> None:
    # Built in code (no file), a plain number of seconds is fine.
    assert SamplesConfig(snapshot_interval=1.5).snapshot_interval == 1.5
    assert PrometheusSource(timeout="2s").timeout == 2.0  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="must be longer than 0s"):
        SamplesConfig(snapshot_interval=0)


@pytest.mark.parametrize(("text", "size"), [
    ("1", 1), ("1024", 1024), ("'4096'", 4096), ("1B", 1), ("512KiB", 512 * 1024),
    ("10MiB", 10 * 1024**2), ("1GiB", 1024**3), ("1MB", 1_000_000), ("2KB", 2000),
    ("3kB", 3000), ("1GB", 10**9), ("10 MiB", 10 * 1024**2),
])
def test_sizes(text: str, size: int) -> None:
    config = parse_config(f"sources: {{webhook: {{max_body_bytes: {text}}}}}\n")
    assert config.sources.webhook.max_body_bytes == size


@pytest.mark.parametrize("text", ["1.5MiB", "10mib", "MiB", "-1", "1TiB", "true"])
def test_invalid_sizes(text: str) -> None:
    message = problem(f"sources: {{webhook: {{max_body_bytes: {text}}}}}\n")
    assert message.startswith("alertd.yml: sources.webhook.max_body_bytes: ")
    assert "size" in message or "byte" in message


# --- secrets -------------------------------------------------------------------------------


def test_secrets_from_the_environment() -> None:
    text = ("sources:\n  prometheus:\n    bearer_token: ${PROM_TOKEN}\n"
            "  webhook:\n    bearer_tokens: ['${A}', plain]\n")
    config = parse_config(text, env={"PROM_TOKEN": SECRET, "A": "from-a"})
    assert config.sources.prometheus.auth_header() == f"Bearer {SECRET}"
    assert config.sources.webhook.tokens() == frozenset({"from-a", "plain"})


def test_load_config_reads_the_process_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALERTD_TEST_MQTT_PW", SECRET)
    path = write(tmp_path / "alertd.yml",
                 "sources:\n  mqtt:\n    username: u\n    password: ${ALERTD_TEST_MQTT_PW}\n")
    assert load_config(path).sources.mqtt.password_value() == SECRET


@pytest.mark.parametrize(("value", "env", "message"), [
    ("${NOPE}", {}, 'environment variable "NOPE" is not set'),
    ("${EMPTY}", {"EMPTY": ""}, 'environment variable "EMPTY" is empty'),
    ("pre-${A}", {"A": "x"},
     "an environment variable reference must be the whole value, as in ${NAME}"),
    ("", {}, "must not be empty"),
])
def test_secret_environment_errors(value: str, env: dict[str, str], message: str) -> None:
    quoted = json.dumps(value)  # a JSON string is a YAML string
    text = f"sources:\n  mqtt:\n    username: u\n    password: {quoted}\n"
    assert problem(text, env) == f"alertd.yml: sources.mqtt.password: {message}"
    text = f"sources:\n  webhook:\n    bearer_tokens: [ok, {quoted}]\n"
    assert problem(text, env) == f"alertd.yml: sources.webhook.bearer_tokens[1]: {message}"


def test_secret_files_are_read_relative_to_the_config(tmp_path: Path) -> None:
    token = write(tmp_path / "secrets" / "token", f"{SECRET}\n")
    write(tmp_path / "secrets" / "mqtt", "mqtt-pw")
    path = write(tmp_path / "alertd.yml", """\
sources:
  prometheus:
    bearer_token_file: secrets/token
  mqtt:
    username: u
    password_file: secrets/mqtt
""")
    config = load_config(path)
    prom = config.sources.prometheus
    assert prom.bearer_token_file == token
    assert prom.auth_header() == f"Bearer {SECRET}"
    assert config.sources.mqtt.password_value() == "mqtt-pw"
    # Read on use: a rotated token is picked up without a reload.
    write(tmp_path / "secrets" / "token", "rotated")
    assert prom.auth_header() == "Bearer rotated"
    # A file gone after loading is an error naming the key when it is used.
    os.remove(token)
    with pytest.raises(ConfigError) as info:
        prom.auth_header()
    assert str(info.value) == (
        f'sources.prometheus.bearer_token_file: cannot read "{token}": No such file or directory')


def test_basic_auth_with_an_inline_password() -> None:
    text = "sources:\n  prometheus:\n    basic_auth: {username: u, password: '${P}'}\n"
    config = parse_config(text, env={"P": SECRET})
    expected = base64.b64encode(f"u:{SECRET}".encode()).decode()
    assert config.sources.prometheus.auth_header() == f"Basic {expected}"


def test_missing_and_empty_secret_files(tmp_path: Path) -> None:
    write(tmp_path / "empty", "\n  \n")
    path = str(tmp_path / "alertd.yml")
    text = ("sources:\n  prometheus:\n    bearer_token_file: nope\n"
            "  webhook:\n    bearer_token_files: [empty, also-nope]\n")
    assert problems(text, path=path) == [
        f'{path}: sources.prometheus.bearer_token_file: cannot read "{tmp_path}/nope": '
        "No such file or directory",
        f'{path}: sources.webhook.bearer_token_files[0]: "{tmp_path}/empty" is empty',
        f'{path}: sources.webhook.bearer_token_files[1]: cannot read "{tmp_path}/also-nope": '
        "No such file or directory",
    ]


def test_secrets_never_appear_in_repr_or_messages(tmp_path: Path) -> None:
    secret_file = write(tmp_path / "token", SECRET)
    config = parse_config(
        f"storage: postgresql://alertd:{SECRET}@db/alertd\n"
        f"sources:\n  prometheus:\n    bearer_token: {SECRET}\n"
        f"  webhook:\n    bearer_tokens: ['${{T}}']\n    bearer_token_files: [{secret_file}]\n"
        f"  mqtt:\n    username: u\n    password: {SECRET}\n",
        env={"T": SECRET})
    for shown in (repr(config), str(config), repr(config.sources), str(config.sources.mqtt)):
        assert SECRET not in shown
    assert config.storage_url() == f"postgresql+asyncpg://alertd:{SECRET}@db/alertd"
    assert "s3cr@t" not in repr(Config(storage="postgresql://u:s3cr@t@db/alertd"))

    # Wrong types, bad references, unknown keys: the value is never repeated.
    with pytest.raises(ConfigError) as info:
        parse_config(
            "storage: mysql://u:" + SECRET + "@db/x\n"
            "sources:\n  prometheus:\n    bearer_token: [" + SECRET + "]\n"
            "    basic_auth: {username: u, password: 12345678}\n"
            "    bearer_tokn: " + SECRET + "\n"
            "  webhook:\n    bearer_tokens: " + SECRET + "\n",
            env={})
    message = str(info.value)
    assert SECRET not in message and "12345678" not in message
    assert "alertd.yml: sources.prometheus.bearer_token: expected a string, got a list" in message
    assert ("alertd.yml: sources.prometheus.basic_auth.password: expected a string, "
            "got a number; quote it") in message
    assert "alertd.yml: sources.webhook.bearer_tokens: expected a list, got a string" in message
    # Pydantic's own error, which quotes inputs, is not attached to the one raised.
    assert info.value.__cause__ is None and info.value.__context__ is None


# --- TLS -----------------------------------------------------------------------------------


def test_tls_files(tmp_path: Path) -> None:
    make_cert(tmp_path / "cert.pem", tmp_path / "key.pem")
    write(tmp_path / "bad.pem", "not a certificate\n")
    config = parse_config(
        "sources:\n  mqtt:\n    url: mqtts://broker:8884\n"
        "    tls: {ca_file: cert.pem, cert_file: cert.pem, key_file: key.pem, "
        "insecure_skip_verify: true}\n",
        str(tmp_path / "alertd.yml"))
    tls = config.sources.mqtt.tls
    assert tls is not None and tls.cert_file == f"{tmp_path}/cert.pem"
    assert not tls.ssl_context().check_hostname
    assert config.sources.mqtt.host_port() == ("broker", 8884)

    path = str(tmp_path / "alertd.yml")
    assert problems("sources:\n  prometheus:\n    url: https://p\n    tls: {ca_file: nope.pem, "
                    "cert_file: cert.pem}\n", path=path) == [
        f'{path}: sources.prometheus.tls.ca_file: cannot read "{tmp_path}/nope.pem": '
        "No such file or directory"]
    assert problems("sources:\n  prometheus:\n    url: https://p\n    tls: {cert_file: cert.pem}\n",
                    path=path) == [
        f"{path}: sources.prometheus.tls: set both cert_file and key_file, or neither"]
    found = problems("sources:\n  prometheus:\n    url: https://p\n    tls: {ca_file: bad.pem}\n",
                     path=path)
    assert len(found) == 1
    assert found[0].startswith(f"{path}: sources.prometheus.tls: cannot load the TLS files: ")


# --- storage and listen --------------------------------------------------------------------


@pytest.mark.parametrize(("storage", "url"), [
    ("sqlite:///alertd.db", "sqlite+aiosqlite:///{d}/alertd.db"),
    ("sqlite:///data/../state/a.db?timeout=5", "sqlite+aiosqlite:///{d}/state/a.db?timeout=5"),
    ("sqlite:////var/lib/alertd/a.db", "sqlite+aiosqlite:////var/lib/alertd/a.db"),
    ("sqlite+aiosqlite:///rel.db", "sqlite+aiosqlite:///{d}/rel.db"),
    ("sqlite:///:memory:", "sqlite+aiosqlite:///:memory:"),
    ("postgresql://alertd@db:5432/alertd", "postgresql+asyncpg://alertd@db:5432/alertd"),
    ("postgresql+asyncpg://db/alertd", "postgresql+asyncpg://db/alertd"),
])
def test_storage_url(tmp_path: Path, storage: str, url: str) -> None:
    path = write(tmp_path / "etc" / "alertd.yml", f"storage: '{storage}'\n")
    assert load_config(path).storage_url() == url.format(d=tmp_path / "etc")


def test_storage_in_python_is_relative_to_the_working_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert Config(storage="sqlite:///x.db").storage_url() == f"sqlite+aiosqlite:///{tmp_path}/x.db"


@pytest.mark.parametrize(("listen", "host_port"), [
    ("127.0.0.1:9095", ("127.0.0.1", 9095)),
    ("0.0.0.0:0", ("0.0.0.0", 0)),
    (":9095", ("", 9095)),
    ("localhost:80", ("localhost", 80)),
    ("alertd-1.example.com:65535", ("alertd-1.example.com", 65535)),
    ("[::]:9095", ("::", 9095)),
    ("[fe80::1]:1", ("fe80::1", 1)),
])
def test_listen(listen: str, host_port: tuple[str, int]) -> None:
    assert parse_config(f"listen: '{listen}'\n").listen_host_port() == host_port


@pytest.mark.parametrize("listen", ["9095", "host:", "host:http", "host:-1", "host:70000", "::1"])
def test_invalid_listen(listen: str) -> None:
    assert problem(f"listen: '{listen}'\n").startswith(
        f'alertd.yml: listen: invalid address "{listen}"')


# --- helpers -------------------------------------------------------------------------------


def test_helpers_on_models_built_in_code() -> None:
    hook = WebhookSource(bearer_tokens=["a", "b"])  # type: ignore[list-item]
    assert hook.tokens() == frozenset({"a", "b"})
    mqtt = MqttSource(topics=["x/+"])  # type: ignore[list-item]
    assert mqtt.topics == [MqttTopic(topic="x/+")]
    assert mqtt.host_port() == ("127.0.0.1", 1883) and not mqtt.uses_tls()
    assert TLSConfig().ssl_context().check_hostname
    prom = PrometheusSource(bearer_token="t")  # type: ignore[arg-type]
    assert prom.auth_header() == "Bearer t"
