"""alertd's own endpoints under arbitrary input, with hypothesis: pushed samples, the
history queries and the Slack interactivity endpoint (signed and unsigned). Whatever is
sent, the answer is never a 5xx and the daemon logs no error and no traceback."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import SLACK_SECRET, T0, ThreadedDaemon, problems_logged
from tests.fakes.slack import sign

FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))

SURROGATES = st.sampled_from(["\ud800", "a\udfff", "\udc80x", "\ud83d"])
TEXT = st.one_of(st.text(max_size=12), SURROGATES,
                 st.sampled_from(["", "errors", "model", "NaN", "+Inf", "__name__",
                                  "2027-01-15T08:00:00Z", "9999-12-31T23:59:59-14:00",
                                  "0001-01-01T00:00:00+14:00"]))
NUMBERS = st.one_of(st.integers(), st.integers(-(10 ** 400), 10 ** 400),
                    st.floats(allow_nan=True, allow_infinity=True), st.just(T0))
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT)
JSON = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)), max_leaves=12)
SAMPLE = st.fixed_dictionaries({}, optional={
    "metric": st.one_of(st.sampled_from(["errors", "latency"]), JSON),
    "labels": st.one_of(st.dictionaries(TEXT, st.one_of(TEXT, JSON), max_size=3), JSON),
    "value": st.one_of(NUMBERS, JSON),
    "values": st.one_of(st.lists(NUMBERS, max_size=5), JSON),
    "timestamp": st.one_of(NUMBERS, TEXT, JSON),
})
# Deep enough for json's recursion limit (about 1,000 levels); closed only half way, so
# malformed as well as deep.
NESTED = st.builds(lambda n, open_, close: open_ * n + close * (n // 2),
                   st.one_of(st.integers(1, 3000), st.just(100_000)),
                   st.sampled_from([b"[", b'{"a":']), st.sampled_from([b"", b"]", b"}"]))


def dumps(value: object) -> bytes:
    return json.dumps(value).encode()  # NaN and Infinity as Python writes them


SAMPLES_BODY = st.one_of(
    st.lists(SAMPLE, max_size=5).map(dumps), SAMPLE.map(dumps), JSON.map(dumps),
    st.binary(max_size=64), NESTED)


def check(threaded: ThreadedDaemon, caplog: pytest.LogCaptureFixture, method: str,
          path: str, body: bytes | None = None, headers: dict[str, Any] | None = None) -> None:
    status, answer = threaded.request(method, path, body, headers)
    assert status < 500, (path, answer[:300])
    assert problems_logged(caplog) == []


@FUZZ
@given(body=SAMPLES_BODY, content_type=st.sampled_from(
    ["application/json", "application/json; charset=latin-1", "text/plain", None]))
def test_pushed_samples_never_fail_the_daemon(threaded: ThreadedDaemon,
                                              caplog: pytest.LogCaptureFixture, body: bytes,
                                              content_type: str | None) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    check(threaded, caplog, "POST", "/api/alertd/v1/samples", body, headers)


QUERY_TEXT = st.one_of(TEXT, st.text(st.characters(codec="latin-1"), max_size=20))


def quote(text: str) -> str:
    return urllib.parse.quote(text, safe="", errors="surrogatepass")


QUERY = st.one_of(
    st.lists(st.tuples(st.sampled_from(["alertname", "format", "x", ""]), QUERY_TEXT),
             max_size=4).map(lambda pairs: "&".join(f"{quote(k)}={quote(v)}"
                                                    for k, v in pairs)),
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=30))


@FUZZ
@given(query=QUERY, fingerprint=st.one_of(st.none(), QUERY_TEXT.map(quote)))
def test_history_queries_never_fail_the_daemon(threaded: ThreadedDaemon,
                                               caplog: pytest.LogCaptureFixture, query: str,
                                               fingerprint: str | None) -> None:
    path = ("/api/alertd/v1/history" if fingerprint is None
            else f"/api/alertd/v1/alerts/{fingerprint or 'x'}/history")
    check(threaded, caplog, "GET", f"{path}?{query}")


# What a header value may hold (no control characters but tab): aiohttp refuses the others
# before the handler runs (tested in test_errors.py), closing the connection while a large
# body may still be on its way.
HEADER_BYTES = st.lists(st.one_of(st.just(9), st.integers(0x20, 0x7E), st.integers(0x80, 0xFF)),
                        max_size=40).map(bytes)
TIMESTAMP = st.one_of(st.just(str(int(T0)).encode()), st.integers().map(lambda i: str(i).encode()),
                      st.just(b"9" * 400), st.just(b"9" * 5000), HEADER_BYTES)
PAYLOAD = st.one_of(
    JSON,
    st.fixed_dictionaries({"type": st.just("block_actions")}, optional={
        "user": st.one_of(st.fixed_dictionaries({}, optional={"id": JSON, "name": JSON,
                                                               "username": JSON}), JSON),
        "actions": st.one_of(st.lists(st.fixed_dictionaries({}, optional={
            "action_id": st.one_of(st.sampled_from(["alertd_ack", "alertd_silence_1h",
                                                    "alertd_useful", "alertd_noise"]), JSON),
            "value": JSON}), max_size=3), JSON),
    }))
SLACK_BODY = st.one_of(
    PAYLOAD.map(lambda p: urllib.parse.urlencode({"payload": json.dumps(p)}).encode()),
    st.binary(max_size=64), NESTED.map(lambda b: b"payload=" + b))


@FUZZ
@given(body=SLACK_BODY, timestamp=TIMESTAMP, signed=st.booleans(), signature=HEADER_BYTES)
def test_slack_actions_never_fail_the_daemon(threaded: ThreadedDaemon,
                                             caplog: pytest.LogCaptureFixture, body: bytes,
                                             timestamp: bytes, signed: bool,
                                             signature: bytes) -> None:
    if signed:
        signature = sign(SLACK_SECRET, timestamp.decode("latin-1"), body).encode()
    check(threaded, caplog, "POST", "/api/alertd/v1/slack/actions", body, {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature})
