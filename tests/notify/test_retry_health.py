"""Backoff with jitter and Retry-After; when an integration counts as failing."""

from __future__ import annotations

from alertd.notify.health import ReceiverHealth
from alertd.receivers.retry import RetryPolicy


def test_backoff_doubles_with_jitter_up_to_the_maximum() -> None:
    policy = RetryPolicy(initial=1.0, maximum=60.0)
    low = [policy.delay(n, rand=lambda: 0.0) for n in range(1, 9)]
    high = [policy.delay(n, rand=lambda: 1.0) for n in range(1, 9)]
    assert low == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert high == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]


def test_retry_after_is_never_undercut_even_beyond_the_maximum() -> None:
    policy = RetryPolicy(initial=1.0, maximum=10.0)
    assert policy.delay(1, retry_after=30.0, rand=lambda: 0.5) == 30.0
    assert policy.delay(5, retry_after=0.1, rand=lambda: 0.0) == 5.0


def test_a_notification_is_given_up_after_its_time() -> None:
    policy = RetryPolicy(give_up_after=3600.0)
    assert not policy.expired(1000.0, 4599.0)
    assert policy.expired(1000.0, 4600.0)


def test_failing_after_consecutive_failures_or_at_once_when_not_retryable() -> None:
    changes: list[tuple[str, str, str | None]] = []
    health = ReceiverHealth(failing_after=3, on_change=lambda *c: changes.append(c))
    health.failed("team", "team/slack/0", "503", retryable=True)
    health.failed("team", "team/slack/0", "503", retryable=True)
    assert changes == []
    health.succeeded("team", "team/slack/0")  # a success breaks the streak
    for _ in range(3):
        health.failed("team", "team/slack/0", "503", retryable=True)
    assert changes == [("team", "team/slack/0", "503")]
    health.failed("team", "team/slack/0", "503", retryable=True)
    assert len(changes) == 1  # announced once
    health.failed("team", "team/pagerduty/1", "400 invalid event", retryable=False)
    assert changes[-1] == ("team", "team/pagerduty/1", "400 invalid event")
    assert set(health.failing) == {("team", "team/slack/0"), ("team", "team/pagerduty/1")}
    health.succeeded("team", "team/slack/0")
    assert changes[-1] == ("team", "team/slack/0", None)
    assert set(health.failing) == {("team", "team/pagerduty/1")}


def test_a_reload_that_removes_an_integration_ends_its_failing_and_its_streak() -> None:
    changes: list[tuple[str, str, str | None]] = []
    health = ReceiverHealth(failing_after=2, on_change=lambda *c: changes.append(c))
    health.failed("team", "team/slack/0", "invalid_auth", retryable=False)
    health.failed("ops", "ops/webhook/0", "503", retryable=True)  # a streak of one
    health.failed("db", "db/webhook/0", "404", retryable=False)
    health.keep_only({"db/webhook/0", "ops/webhook/0"})
    assert health.failing == {("db", "db/webhook/0"): "404"}
    assert changes[-1] == ("team", "team/slack/0", None)
    health.keep_only({"db/webhook/0"})
    health.failed("ops", "ops/webhook/0", "503", retryable=True)  # its streak started over
    assert ("ops", "ops/webhook/0") not in health.failing
