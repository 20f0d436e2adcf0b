"""Pages, acknowledgements, feedback and actionability, on constructed timelines.

Every alert below fires at START + 1h (T) unless said otherwise; pages are sent 30 s later.
"""

from __future__ import annotations

import pytest

from tests.noise.timelines import (
    HOUR,
    MINUTE,
    START,
    acked,
    alert,
    delivered,
    feedback,
    fire,
    muted,
    report,
    resolve,
    silence,
)

T = START + HOUR
SENT = T + 30


def test_a_notification_of_a_group_of_three_alerts_is_one_page() -> None:
    disks = [alert("DiskFull", owner="sre", instance=f"db-{i}") for i in range(3)]
    api, db = alert("ApiDown", owner="sre"), alert("DbDown", owner="sre")
    events = (
        [fire(T, a) for a in disks]
        # One notification of the three: three delivery events, one delivery id.
        + [delivered(SENT, a, "d-disk", receiver="sre") for a in disks]
        + [resolve(T + HOUR, a) for a in disks]
        # One notification carrying alerts of two rules.
        + [fire(T, api), fire(T, db), delivered(SENT, api, "d-mixed", receiver="sre"),
           delivered(SENT, db, "d-mixed", receiver="sre"), resolve(T + HOUR, api),
           resolve(T + HOUR, db)]
    )
    got = report(events)
    # 2 notifications: 2 pages in total and for the owner; the mixed one counts once for
    # each of its rules.
    assert got.totals.pages == 2
    assert {r.rule: r.figures.pages for r in got.rules} == {"DiskFull": 1, "ApiDown": 1,
                                                            "DbDown": 1}
    sre = got.owner_row("sre")
    assert sre is not None and sre.figures.pages == 2
    # 5 alerts fired.
    assert got.totals.firings == 5


def test_slack_and_pagerduty_of_one_notification_are_two_pages() -> None:
    a = alert()
    events = [fire(T, a), delivered(SENT, a, "d-slack"),
              delivered(SENT, a, "d-pd", integration="pagerduty"), resolve(T + HOUR, a)]
    assert report(events).totals.pages == 2


def test_what_is_not_a_page() -> None:
    a = alert(instance="a")
    events = [
        fire(T, a),
        delivered(SENT, a, "d-quiet", receiver="ml-low"),  # paging: false
        delivered(SENT, a, "d-hook", integration="webhook"),  # reaches no person
        delivered(SENT, a, "d-failed", outcome="failed"),
        delivered(SENT, a, "d-retry", outcome="retry"),
        resolve(T + HOUR, a),
        delivered(T + HOUR + 30, a, "d-resolved"),  # tells that it resolved
    ]
    got = report(events, paging={"ml-low": False, "ml-oncall": True})
    assert got.totals.pages == 0
    assert got.totals.firings == 1
    assert got.totals.ack_share is None and got.totals.actionability is None


def test_a_delivery_without_an_id_is_told_apart_by_receiver_group_and_time() -> None:
    a, b = alert(instance="a"), alert(instance="b")
    events = [fire(T, a), fire(T, b),
              # one notification of a and b (same receiver, group, time): one page
              delivered(SENT, a, None), delivered(SENT, b, None),
              # a repeat 4 hours later: another page
              delivered(SENT + 4 * HOUR, a, None), delivered(SENT + 4 * HOUR, b, None),
              resolve(T + 5 * HOUR, a), resolve(T + 5 * HOUR, b)]
    assert report(events).totals.pages == 2


def test_an_alert_acked_by_two_people_counts_one_acknowledgement_the_first() -> None:
    a = alert()
    events = [fire(T, a), delivered(SENT, a),
              acked(SENT + 120, a, "alice"),  # 120 s after the page
              acked(SENT + 400, a, "bob"),
              resolve(T + HOUR, a)]
    got = report(events).totals
    assert (got.pages, got.ack_share, got.unacknowledged) == (1, 1.0, 0)
    assert (got.ack_p50_s, got.ack_p95_s) == (120.0, 120.0)
    assert dict(got.ackers) == {"alice": 1}
    assert got.actionability == 1.0


def test_acknowledgement_share_and_times_over_all_pages() -> None:
    # Five pages; four acknowledged after 60, 600, 120 and 180 s, one never.
    waits = [60.0, 600.0, 120.0, 180.0, None]
    events = []
    for i, wait in enumerate(waits):
        a = alert(instance=str(i))
        events += [fire(T, a), delivered(SENT, a, f"d{i}")]
        if wait is not None:
            events.append(acked(SENT + wait, a, "alice" if i % 2 else "bob"))
        events.append(resolve(T + HOUR, a))
    got = report(events).totals
    # share 4/5; nearest rank over the acknowledged (60, 120, 180, 600):
    # p50: rank ceil(0.5 * 4) = 2 -> 120; p95: rank ceil(0.95 * 4) = 4 -> 600.
    assert got.ack_share == pytest.approx(0.8)
    assert (got.ack_p50_s, got.ack_p95_s, got.unacknowledged) == (120.0, 600.0, 1)
    # i = 0, 2 by bob; i = 1, 3 by alice (i = 4 never acknowledged)
    assert dict(got.ackers) == {"alice": 2, "bob": 2}


def test_an_ack_counts_only_after_the_page_and_before_the_alert_resolved() -> None:
    a, b = alert(instance="a"), alert(instance="b")
    events = [fire(T, a), acked(T + 10, a, "alice"), delivered(SENT, a, "d-a"),  # before
              resolve(T + HOUR, a),
              fire(T, b), delivered(SENT, b, "d-b"), resolve(T + HOUR, b),
              acked(T + HOUR + MINUTE, b, "alice")]  # after it resolved
    got = report(events).totals
    assert (got.pages, got.ack_share, got.unacknowledged) == (2, 0.0, 2)
    assert got.ack_p50_s is None


def test_a_repeated_feedback_click_counts_once_the_latest_verdict_winning() -> None:
    # A page of two alerts; carol clicks Useful, then Noise (too sensitive): each click is
    # recorded once per alert, with the page's channel and message time.
    a, b = alert(instance="a"), alert(instance="b")
    clicks = [feedback(SENT + 60, x, "carol", "useful") for x in (a, b)]
    clicks += [feedback(SENT + 90, x, "carol", "noise", reason="too_sensitive")
               for x in (a, b)]
    events = [fire(T, a), fire(T, b), delivered(SENT, a), delivered(SENT, b), *clicks,
              resolve(T + HOUR, a), resolve(T + HOUR, b)]
    got = report(events).totals
    assert got.feedback.to_json() == {"useful": 0, "noise": 1,
                                      "reasons": {"too_sensitive": 1}}
    # Carol's verdict on the page ended as Noise and no one acked: not actioned.
    assert got.actionability == 0.0


def test_feedback_of_two_people_on_one_page_counts_twice() -> None:
    a = alert()
    events = [fire(T, a), delivered(SENT, a), feedback(SENT + 60, a, "carol", "useful"),
              feedback(SENT + 70, a, "dave", "noise", reason="not_actionable"),
              resolve(T + HOUR, a)]
    got = report(events).totals
    assert (got.feedback.useful, got.feedback.noise) == (1, 1)
    assert got.actionability == 1.0  # carol's Useful verdict


def test_actionability() -> None:
    alerts = [alert(instance=str(i)) for i in range(5)]
    a0, a1, a2, a3, _ = alerts  # the fifth: nothing done
    events = [fire(T, a) for a in alerts]
    events += [delivered(SENT, a, f"d{i}") for i, a in enumerate(alerts)]
    events += [
        acked(SENT + 60, a0, "pd-user", via="pagerduty"),  # 1: an ack (PagerDuty)
        feedback(SENT + 60, a1, "carol", "useful", ts="1"),  # 2: a Useful verdict
        # 3: a silence with a reason, muting the alert while it fires
        silence(SENT + 100, "s-fix", comment="deploying the fix", starts_at=SENT + 100,
                ends_at=SENT + 2 * HOUR),
        muted(SENT + 120, a2, "s-fix"),
        # 4: a silence without a comment, and a Noise verdict: no action
        silence(SENT + 100, "s-bare", starts_at=SENT + 100, ends_at=SENT + 2 * HOUR),
        muted(SENT + 120, a3, "s-bare"),
        feedback(SENT + 60, a3, "carol", "noise", ts="3"),
        # 5: nothing at all
    ]
    events += [resolve(T + HOUR, a) for a in alerts]
    got = report(events).totals
    # actioned / pages = 3 / 5
    assert got.actionability == pytest.approx(0.6)
    assert got.ack_share == pytest.approx(0.2)
    assert got.feedback.useful == 1 and got.feedback.noise == 1
