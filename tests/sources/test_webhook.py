"""The samples webhook: schema checks, partial acceptance, store refusals, auth, limits."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from alertd.clock import FakeClock
from alertd.model import Labels
from alertd.sources.push import PushedSample, SampleError, parse_samples, parse_samples_bytes
from alertd.sources.webhook import SAMPLES_PATH, WebhookCounters, webhook_routes

NOW = 1_800_000_000.0

Client = TestClient[web.Request, web.Application]


class FakeSink:
    """Keeps what it is given; `refuse` picks samples the store turns down."""

    def __init__(self, refuse: Callable[[PushedSample], str | None] | None = None) -> None:
        self.samples: list[PushedSample] = []
        self.calls: list[tuple[int, float]] = []
        self._refuse = refuse

    def ingest(self, samples: Sequence[PushedSample], now: float) -> list[tuple[int, str]]:
        self.calls.append((len(samples), now))
        refused: list[tuple[int, str]] = []
        for i, sample in enumerate(samples):
            reason = self._refuse(sample) if self._refuse else None
            if reason is None:
                self.samples.append(sample)
            else:
                refused.append((i, reason))
        return refused


@asynccontextmanager
async def serve(
    sink: FakeSink,
    *,
    tokens: frozenset[str] = frozenset(),
    max_body_bytes: int = 1 << 20,
    metrics: WebhookCounters | None = None,
) -> AsyncIterator[Client]:
    app = web.Application()
    app.add_routes(webhook_routes(sink, FakeClock(NOW), tokens=tokens,
                                  max_body_bytes=max_body_bytes, metrics=metrics))
    async with TestClient(TestServer(app)) as client:
        yield client


async def post(client: Client, body: object, **kwargs: Any) -> tuple[int, Any]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **kwargs.pop("headers", {})}
    async with client.post(SAMPLES_PATH, data=data, headers=headers, **kwargs) as response:
        return response.status, await response.json()


def sample(metric: str = "predictions_total", value: float = 1.0, **labels: str) -> dict[str, Any]:
    return {"metric": metric, "labels": labels, "value": value}


# --- accepted -------------------------------------------------------------------------------


async def test_a_single_object_is_stored() -> None:
    sink = FakeSink()
    async with serve(sink) as client:
        status, body = await post(client, {
            "metric": "predict_latency_seconds",
            "labels": {"model": "churn", "model_version": "v7"},
            "value": 0.25,
            "timestamp": 1_799_999_990.5,
        })
    assert (status, body) == (202, {"accepted": 1})
    assert sink.samples == [PushedSample(
        Labels({"__name__": "predict_latency_seconds", "model": "churn", "model_version": "v7"}),
        (0.25,), 1_799_999_990.5)]
    assert sink.calls == [(1, NOW)]


async def test_an_array_is_stored_in_order() -> None:
    sink = FakeSink()
    async with serve(sink) as client:
        status, body = await post(client, [sample(value=v, pod=f"p{v}") for v in range(3)])
    assert (status, body) == (202, {"accepted": 3})
    assert [s.values for s in sink.samples] == [(0.0,), (1.0,), (2.0,)]
    assert [s.labels["pod"] for s in sink.samples] == ["p0", "p1", "p2"]
    assert sink.calls == [(3, NOW)]


async def test_a_batch_of_values_and_prometheus_special_values() -> None:
    sink = FakeSink()
    async with serve(sink) as client:
        status, _ = await post(client, [
            {"metric": "feature_value", "labels": {"feature": "age"}, "values": [31, 45.5, 22]},
            {"metric": "score", "value": "NaN"},
            {"metric": "score", "values": ["+Inf", "-Inf", 1]},
        ])
    assert status == 202
    assert sink.samples[0].values == (31.0, 45.5, 22.0)
    assert math.isnan(sink.samples[1].values[0])
    assert sink.samples[2].values == (math.inf, -math.inf, 1.0)
    assert all(s.timestamp is None for s in sink.samples)  # the sink stamps them with `now`


@pytest.mark.parametrize(("timestamp", "seconds"), [
    (1_700_000_000, 1_700_000_000.0),
    (1_700_000_000.25, 1_700_000_000.25),
    ("2026-11-26T08:00:00Z", 1_795_680_000.0),
    ("2026-11-26T08:00:00+01:00", 1_795_676_400.0),
    ("2026-11-26T08:00:00.5-00:30", 1_795_681_800.5),
])
async def test_timestamps_in_seconds_or_rfc3339(timestamp: object, seconds: float) -> None:
    sink = FakeSink()
    async with serve(sink) as client:
        status, _ = await post(client, {"metric": "m", "value": 1, "timestamp": timestamp})
    assert status == 202
    assert sink.samples[0].timestamp == pytest.approx(seconds)


async def test_an_empty_label_value_is_no_label() -> None:
    sink = FakeSink()
    async with serve(sink) as client:
        await post(client, sample(model="churn", version=""))
    assert sink.samples[0].labels == Labels({"__name__": "predictions_total", "model": "churn"})


# --- invalid samples ------------------------------------------------------------------------

INVALID = [
    ({"labels": {}, "value": 1}, "metric", "missing; every sample needs a metric name"),
    ({"metric": 5, "value": 1}, "metric", "must be a string, got number"),
    ({"metric": "9lives", "value": 1}, "metric",
     'invalid metric name "9lives": must match [a-zA-Z_:][a-zA-Z0-9_:]*'),
    ({"metric": "m", "labels": ["model"], "value": 1}, "labels",
     "must be an object of label names to string values, got array"),
    ({"metric": "m", "labels": {"model": 3}, "value": 1}, "labels.model",
     "must be a string, got number"),
    ({"metric": "m", "labels": {"model-version": "v1"}, "value": 1}, "labels.model-version",
     'invalid label name "model-version": must match [a-zA-Z_][a-zA-Z0-9_]*'),
    ({"metric": "m", "labels": {"__tenant": "a"}, "value": 1}, "labels.__tenant",
     'label names starting with "__" are reserved'),
    ({"metric": "m", "labels": {"__name__": "x"}, "value": 1}, "labels.__name__",
     'label names starting with "__" are reserved; the metric name goes in "metric"'),
    ({"metric": "m"}, "value",
     'missing; give "value" (a number) or "values" (an array of numbers)'),
    ({"metric": "m", "value": True}, "value", "must be a number, got boolean"),
    ({"metric": "m", "value": "1.5"}, "value",
     'must be a number (or "NaN", "+Inf", "-Inf"), got string "1.5"'),
    ({"metric": "m", "value": None}, "value", "must be a number, got null"),
    ({"metric": "m", "value": 1, "values": [1]}, "values",
     'give either "value" or "values", not both'),
    ({"metric": "m", "values": []}, "values",
     "must be a non-empty array of numbers, got an empty array"),
    ({"metric": "m", "values": 3}, "values", "must be a non-empty array of numbers, got number"),
    ({"metric": "m", "values": [1, 2, 3, False]}, "values[3]", "must be a number, got boolean"),
    ({"metric": "m", "values": [0.5] * 10_001}, "values",
     "at most 10000 values per sample, got 10001"),
    ({"metric": "m", "value": 1, "timestamp": "yesterday"}, "timestamp",
     '"yesterday" is not an RFC 3339 time with a timezone'),
    ({"metric": "m", "value": 1, "timestamp": "2026-11-26T08:00:00"}, "timestamp",
     '"2026-11-26T08:00:00" is not an RFC 3339 time with a timezone'),
    ({"metric": "m", "value": 1, "timestamp": "2026-02-30T08:00:00Z"}, "timestamp",
     '"2026-02-30T08:00:00Z" is not a valid time: day is out of range for month'),
    ({"metric": "m", "value": 1, "timestamp": 1_700_000_000_000}, "timestamp",
     "1700000000000 is too large for unix seconds (milliseconds?"),
    ({"metric": "m", "value": 1, "timestamp": -5}, "timestamp", "must be unix seconds, got -5"),
    ({"metric": "m", "value": 1, "timestamp": True}, "timestamp",
     "must be unix seconds or an RFC 3339 time, got boolean"),
    ({"metric": "m", "valeu": 1}, "valeu", 'unknown field "valeu" (did you mean "value"?)'),
    ({"metric": "m", "value": 1, "help": "x"}, "help", 'unknown field "help"'),
    ("m 1", None, "a sample must be a JSON object, got string"),
]


@pytest.mark.parametrize(("bad", "field", "message"), INVALID)
async def test_each_invalid_sample_is_reported_with_its_index_and_field(
    bad: object, field: str | None, message: str
) -> None:
    sink = FakeSink()
    async with serve(sink) as client:
        status, body = await post(client, [sample(), bad, sample(value=2)])
    assert status == 400
    assert body["accepted"] == 2
    [error] = body["errors"]
    assert (error["index"], error["field"]) == (1, field)
    assert error["message"].startswith(message)
    assert [s.values for s in sink.samples] == [(1.0,), (2.0,)]  # the valid ones are stored


async def test_every_wrong_field_of_every_sample_is_listed() -> None:
    sink = FakeSink()
    metrics = WebhookCounters()
    batch = [
        {"metric": "9lives", "labels": {"model": 3, "model-version": "v1", "ok": "x"},
         "value": "high", "timestamp": "yesterday"},
        sample(),
        {"labels": ["model"], "values": [1, True, "x"], "help": "y"},
    ]
    async with serve(sink, metrics=metrics) as client:
        status, body = await post(client, batch)
    assert status == 400
    assert [(e["index"], e["field"]) for e in body["errors"]] == [
        (0, "metric"), (0, "labels.model"), (0, "labels.model-version"), (0, "value"),
        (0, "timestamp"),
        (2, "help"), (2, "metric"), (2, "labels"), (2, "values[1]"), (2, "values[2]"),
    ]
    # As before, the valid sample of the batch is stored, and the counts are of samples.
    assert body["accepted"] == 1
    assert [s.values for s in sink.samples] == [(1.0,)]
    assert metrics.rejected == {"invalid": 2}


def test_a_misspelt_field_is_one_mistake_not_two() -> None:
    _, errors = parse_samples({"metric": "m", "valeu": 1, "timestamp": -5})
    assert [(e.field, e.message) for e in errors] == [
        ("valeu", 'unknown field "valeu" (did you mean "value"?)'),
        ("timestamp", "must be unix seconds, got -5")]


async def test_a_single_invalid_object_has_no_index() -> None:
    sink = FakeSink()
    async with serve(sink) as client:
        status, body = await post(client, {"metric": "m", "labels": {"model": 1}, "value": 1})
    assert (status, body) == (400, {"accepted": 0, "errors": [
        {"index": None, "field": "labels.model", "message": "must be a string, got number"}]})
    assert sink.calls == []


async def test_mixed_batch_stores_the_valid_and_lists_the_invalid_by_index() -> None:
    sink = FakeSink()
    batch = [sample(value=i) for i in range(6)]
    batch[4] = {"metric": "m", "value": "high"}
    batch[1] = {"metric": "m", "labels": {"model": 7}, "value": 1}
    async with serve(sink) as client:
        status, body = await post(client, batch)
    assert status == 400
    assert body["accepted"] == 4
    assert [(e["index"], e["field"]) for e in body["errors"]] == [(1, "labels.model"),
                                                                  (4, "value")]
    assert [s.values[0] for s in sink.samples] == [0.0, 2.0, 3.0, 5.0]


@pytest.mark.parametrize(("body", "message"), [
    (b'[{"metric": "m",\n  "value": }]', "invalid JSON at line 2, column 12: Expecting value"),
    (b"", "the body is empty; send a JSON object or array"),
    (b"42", "the body must be a JSON object or an array of objects, got number"),
    (b'"m"', "the body must be a JSON object or an array of objects, got string"),
    (b"[" * 100_000, "invalid JSON: nested too deeply"),
])
async def test_a_body_that_is_not_samples_is_one_error(body: bytes, message: str) -> None:
    sink = FakeSink()
    async with serve(sink) as client:
        status, answer = await post(client, body)
    assert (status, answer) == (400, {"accepted": 0, "errors": [
        {"index": None, "field": None, "message": message}]})
    assert sink.calls == []


async def test_an_empty_array_is_accepted() -> None:
    sink = FakeSink()
    async with serve(sink) as client:
        assert await post(client, []) == (202, {"accepted": 0})
    assert sink.calls == []


async def test_errors_beyond_the_cap_are_counted() -> None:
    sink = FakeSink()
    async with serve(sink) as client:
        status, body = await post(client, [{"metric": "m"}] * 1005)
    assert status == 400
    assert len(body["errors"]) == 1000
    assert body["errors_not_shown"] == 5


# --- store refusals -------------------------------------------------------------------------


def refuse_pod_b(s: PushedSample) -> str | None:
    return "series limit reached" if s.labels.get("pod") == "b" else None


async def test_store_refusals_alone_answer_422() -> None:
    sink = FakeSink(refuse_pod_b)
    async with serve(sink) as client:
        status, body = await post(client, [sample(pod="a"), sample(pod="b"), sample(pod="c")])
    assert (status, body) == (422, {"accepted": 2, "errors": [
        {"index": 1, "field": None, "message": "series limit reached"}]})
    assert [s.labels["pod"] for s in sink.samples] == ["a", "c"]


async def test_store_refusals_are_indexed_in_the_request_with_invalid_ones() -> None:
    sink = FakeSink(refuse_pod_b)
    batch = [sample(pod="b"), {"metric": "m"}, sample(pod="a"), sample(pod="b")]
    async with serve(sink) as client:
        status, body = await post(client, batch)
    assert status == 400
    assert body["accepted"] == 1
    assert [(e["index"], e["field"]) for e in body["errors"]] == [(0, None), (1, "value"),
                                                                  (3, None)]


async def test_a_refused_single_object_has_no_index() -> None:
    async with serve(FakeSink(refuse_pod_b)) as client:
        status, body = await post(client, sample(pod="b"))
    assert (status, body["errors"][0]["index"]) == (422, None)


async def test_a_failing_store_is_a_500() -> None:
    def broken(_: PushedSample) -> str | None:
        raise RuntimeError("disk on fire")

    async with serve(FakeSink(broken)) as client:
        status, body = await post(client, sample())
    assert status == 500
    assert body == {"error": "internal error while storing the samples"}


# --- auth, limits, content type -------------------------------------------------------------


async def test_bearer_token_is_required_when_configured() -> None:
    sink = FakeSink()
    async with serve(sink, tokens=frozenset({"s3cret", "other"})) as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic czNj"},
                        {"Authorization": "Bearer"}):
            async with client.post(SAMPLES_PATH, json=sample(), headers=headers) as response:
                assert response.status == 401, headers
                assert response.headers["WWW-Authenticate"].startswith("Bearer")
                assert "error" in await response.json()
        assert sink.calls == []
        status, _ = await post(client, sample(), headers={"Authorization": "Bearer s3cret"})
        assert status == 202
        status, _ = await post(client, sample(), headers={"Authorization": "bearer other"})
        assert status == 202
    assert len(sink.samples) == 2


async def test_a_body_over_the_limit_is_413_by_content_length() -> None:
    sink = FakeSink()
    async with serve(sink, max_body_bytes=100) as client:
        status, body = await post(client, [sample()] * 10)
    assert status == 413
    assert body == {"error": "the body is larger than the limit of 100 bytes"}
    assert sink.calls == []


async def test_a_chunked_body_over_the_limit_is_413_while_reading() -> None:
    sink = FakeSink()
    chunk = json.dumps(sample()).encode()

    async def body() -> AsyncIterator[bytes]:
        yield b"["
        for _ in range(20):
            yield chunk + b","
        yield chunk + b"]"

    headers = {"Content-Type": "application/json"}
    async with (
        serve(sink, max_body_bytes=500) as client,
        client.post(SAMPLES_PATH, data=body(), headers=headers) as response,
    ):
        assert response.request_info.headers.get("Transfer-Encoding") == "chunked"
        assert response.status == 413
        assert "limit of 500 bytes" in (await response.json())["error"]
    assert sink.calls == []


async def test_a_body_at_the_limit_is_read() -> None:
    data = json.dumps(sample()).encode()
    sink = FakeSink()
    async with serve(sink, max_body_bytes=len(data)) as client:
        status, _ = await post(client, data)
    assert status == 202


async def test_content_type_must_be_json_or_absent() -> None:
    sink = FakeSink()
    data = json.dumps(sample()).encode()
    async with serve(sink) as client:
        async with client.post(SAMPLES_PATH, data=data,
                               headers={"Content-Type": "application/x-www-form-urlencoded"}
                               ) as response:
            assert response.status == 415
            assert "send application/json" in (await response.json())["error"]
        async with client.post(SAMPLES_PATH, data=data,
                               skip_auto_headers=["Content-Type"]) as response:
            assert response.status == 202
        for ctype in ("application/json; charset=utf-8", "application/vnd.alertd+json"):
            async with client.post(SAMPLES_PATH, data=data,
                                   headers={"Content-Type": ctype}) as response:
                assert response.status == 202, ctype
    assert len(sink.samples) == 3


async def test_only_post_is_allowed() -> None:
    async with serve(FakeSink()) as client, client.get(SAMPLES_PATH) as response:
        assert response.status == 405


async def test_metrics_count_requests_and_samples() -> None:
    metrics = WebhookCounters()
    async with serve(FakeSink(refuse_pod_b), metrics=metrics) as client:
        await post(client, [sample(pod="a"), sample(pod="b"), {"metric": "m"}])
        await post(client, b"{")
        await post(client, sample(pod="a"))
    assert metrics.requests == {400: 2, 202: 1}
    assert metrics.ingested == 2
    assert metrics.rejected == {"invalid": 2, "store": 1}


# --- the parser on its own ------------------------------------------------------------------


def test_extra_labels_are_added_and_a_conflicting_payload_label_is_an_error() -> None:
    payload = [sample(feature="age"), sample(model="churn"), sample(model="fraud")]
    ok, errors = parse_samples(payload, extra_labels={"model": "churn"},
                               extra_from='topic "ml/churn/features"')
    assert [(i, dict(s.labels)) for i, s in ok] == [
        (0, {"__name__": "predictions_total", "feature": "age", "model": "churn"}),
        (1, {"__name__": "predictions_total", "model": "churn"}),
    ]
    assert errors == [SampleError(2, "labels.model",
                                  'is "fraud" but the topic "ml/churn/features" sets it to '
                                  '"churn"')]


def test_repeated_label_sets_give_the_same_labels_object() -> None:
    ok, _ = parse_samples([sample(pod="a"), sample(pod="a", value=2)])
    assert ok[0][1].labels is ok[1][1].labels


def test_a_label_set_once_invalid_stays_invalid() -> None:
    for _ in range(2):
        _, errors = parse_samples_bytes(b'{"metric": "m", "labels": {"a-b": "x"}, "value": 1}')
        assert [e.field for e in errors] == ["labels.a-b"]


def test_unhashable_label_values_are_errors_not_crashes() -> None:
    _, errors = parse_samples({"metric": "m", "labels": {"a": ["x"]}, "value": 1})
    assert errors == [SampleError(None, "labels.a", "must be a string, got array")]


def test_invalid_utf8_is_an_error() -> None:
    _, errors = parse_samples_bytes(b'{"metric": "\xff", "value": 1}')
    assert len(errors) == 1
    assert errors[0].message.startswith("the body is not UTF-8")
