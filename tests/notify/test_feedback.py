"""A responder's verdict on a page is their latest feedback on it, once per person."""

from __future__ import annotations

import pytest

from alertd.history import HistoryEvent, ack, feedback
from alertd.model import Labels
from alertd.receivers.feedback import Judgement, feedback_event, verdicts

A = Labels({"alertname": "ModelLatencyHigh", "instance": "a"})
B = Labels({"alertname": "ModelLatencyHigh", "instance": "b"})
PAGE = {"channel": "C0001", "ts": "1800000030.000100"}
OTHER_PAGE = {"channel": "C0001", "ts": "1800000900.000100"}


def click(at: float, by: str, verdict: str, labels: Labels = A, *,
          page: dict[str, str] = PAGE, reason: str | None = None) -> HistoryEvent:
    return feedback_event(at, labels, Judgement(by=by, verdict=verdict, reason=reason,
                                                group_key="{}:{}", **page))


def test_the_latest_click_of_a_person_on_a_page_is_their_verdict() -> None:
    events = [click(10, "alice", "useful"), click(20, "alice", "noise"),
              click(30, "alice", "noise", reason="too_sensitive")]
    found = verdicts(events)
    assert list(found) == [("alice", "C0001", "1800000030.000100")]
    latest = found["alice", "C0001", "1800000030.000100"]
    assert latest.details["verdict"] == "noise"
    assert latest.details["reason"] == "too_sensitive"


def test_one_verdict_per_person_per_page() -> None:
    events = [click(10, "alice", "useful"), click(11, "bob", "noise"),
              click(12, "alice", "useful"), click(13, "alice", "noise", page=OTHER_PAGE)]
    found = verdicts(events)
    assert {k: e.details["verdict"] for k, e in found.items()} == {
        ("alice", "C0001", "1800000030.000100"): "useful",
        ("bob", "C0001", "1800000030.000100"): "noise",
        ("alice", "C0001", "1800000900.000100"): "noise",
    }


def test_a_click_on_a_group_is_one_verdict_and_order_breaks_ties() -> None:
    # One click records an event per alert of the page, at the same time.
    events = [click(10, "alice", "useful", A), click(10, "alice", "useful", B),
              click(20, "alice", "noise", A), click(20, "alice", "noise", B)]
    (only,) = verdicts(events).values()
    assert only.details["verdict"] == "noise" and only.labels == B


def test_time_not_order_decides_between_clicks() -> None:
    events = [click(20, "alice", "noise"), click(10, "alice", "useful")]
    (only,) = verdicts(events).values()
    assert only.details["verdict"] == "noise"


def test_other_kinds_and_feedback_naming_no_page_are_left_out() -> None:
    events = [ack(5, A, by="alice", via="slack"),
              feedback(6, A, by="alice", verdict="noise"),  # recorded before pages were named
              click(7, "bob", "useful")]
    assert list(verdicts(events)) == [("bob", "C0001", "1800000030.000100")]


def test_the_event_carries_what_links_it_to_the_notification() -> None:
    e = feedback_event(10, A, Judgement(by="alice (slack U1)", verdict="noise",
                                        channel="C1", ts="1.000100", group_key="g",
                                        delivery="d1", reason="duplicate", comment="see #42"))
    assert e.kind == "feedback"
    assert dict(e.details) == {"by": "alice (slack U1)", "verdict": "noise",
                               "reason": "duplicate", "comment": "see #42", "group_key": "g",
                               "delivery": "d1", "channel": "C1", "ts": "1.000100"}


@pytest.mark.parametrize("verdict, reason", [("meh", None), ("noise", "because")])
def test_verdicts_and_reasons_are_those_of_the_history_contract(
        verdict: str, reason: str | None) -> None:
    with pytest.raises(ValueError):
        Judgement(by="alice", verdict=verdict, reason=reason)
