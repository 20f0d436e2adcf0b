"""What happens when an aggregation group flushes: stages in order, each handed the
flush (alertd.dispatch.flush.Flush) as the stage before left it, as in Alertmanager:

    time intervals -> inhibition -> silences
    -> per integration: dedup (notification log) -> outbox (with the log entry)

then the outbox sends with retries and records the delivery in the history
(alertd.notify.outbox). Alertmanager checks inhibition before the time intervals; a route
muted by its time intervals sends nothing either way, so its flush stops first here, and
the history says "muted" for its alerts rather than working out which were inhibited.

Muting happens here, at flush time, so a silence made after an alert fired still applies.
Every decision is recorded in the alert's history (alertd.notify.stages.Decisions). The
stages are put in order in one place, `build`; a replay of the history (alertd.whatif)
builds its pipeline there too, without mutes and without history.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from alertd.alerts.model import Alert
from alertd.dispatch.flush import Flush, FlushResult
from alertd.notify.mute import Inhibition, Inhibitor, Muter, SilenceIndex, Silencing
from alertd.notify.stages import (
    Decisions,
    Mutes,
    NeedsUpdate,
    NotificationLog,
    Notify,
    Record,
    Submit,
    TimeMute,
    log_receiver,
)
from alertd.receivers import Notifier

__all__ = ["Pipeline", "Record", "Stage", "build", "daemon_muters"]


class Stage(Protocol):
    async def __call__(self, flush: Flush, result: FlushResult) -> Flush | None:
        """The flush as the next stage is to see it, or None: it goes no further."""
        ...


class Pipeline:
    """A Flusher (alertd.dispatch.flush): the stages, in order."""

    def __init__(self, stages: Sequence[Stage], decisions: Decisions) -> None:
        self.stages = tuple(stages)
        self.decisions = decisions

    async def flush(self, flush: Flush) -> FlushResult:
        # When nothing goes out, the flush still succeeds, as in Alertmanager: resolved
        # alerts are done with and leave the group.
        result = FlushResult(set(flush.ended))
        for stage in self.stages:
            after = await stage(flush, result)
            if after is None:
                break
            flush = after
        return result

    def forget(self, fingerprints: Iterable[str]) -> None:
        """Alerts that left the store: drop what was remembered about them."""
        self.decisions.forget(fingerprints)


def build(*, muters: Sequence[Muter], nflog: NotificationLog, needs_update: NeedsUpdate,
          integrations: Callable[[str], Sequence[Notifier]], decisions: Decisions,
          submit: Submit) -> Pipeline:
    """The pipeline: time intervals, the `muters` in order, then per integration dedup and
    the outbox."""
    def was_notified(flush: Flush, alert: Alert) -> bool:
        # The log keeps a muted alert among the firing ones until its resolution is told
        # (see stages.Notify), so the latest entry answers even after other news.
        for index, integration in enumerate(integrations(flush.receiver)):
            name = log_receiver(flush.receiver, integration.name, index)
            entry = nflog.query(flush.group_key, name)
            if entry is not None and alert.fingerprint in entry.firing:
                return True
        return False

    stages: list[Stage] = [TimeMute(decisions)]
    if muters:
        stages.append(Mutes(muters, decisions, was_notified))
    stages.append(Notify(integrations, nflog, needs_update, submit, decisions))
    return Pipeline(stages, decisions)


def daemon_muters(*, inhibitor: Callable[[], Inhibitor],
                  firing_alerts: Callable[[float], Iterable[Alert]],
                  silences: Callable[[], SilenceIndex]) -> list[Muter]:
    """The daemon's mutes, in Alertmanager's order: inhibition, then silences."""
    return [Inhibition(inhibitor, firing_alerts), Silencing(silences)]


