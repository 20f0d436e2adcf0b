"""An alert's history as text: what `alertd explain` prints and the history endpoint shows.

    alert 3f2a9c0d1e2b4a5f {alertname="ChurnLatencyP99High", severity="page"}
    2026-11-26T09:00:00Z  pending   value=0.31 (when: latency > 100ms)
    2026-11-26T09:05:00Z  firing    value=0.42
    2026-11-26T09:05:30Z  routed to team-ml via {}/{severity="page"} in group {}:{...}
    2026-11-26T09:05:30Z  dedup: sent to team-ml (first notification)
    2026-11-26T09:05:31Z  delivery to team-ml/slack ok (200)

With the events of several alerts (explaining an alertname), each line names its alert.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from alertd.history import HistoryEvent
from alertd.rules.inputs import input_text
from alertd.rules.selectors import Unmatched

NO_HISTORY = "no history recorded"


def explain_text(events: Sequence[HistoryEvent], notes: Sequence[str] = ()) -> str:
    """A chronological account of the events, one line each, after a line per alert;
    `notes` about the rule (rule_notes) come first."""
    if not events:
        return "\n".join([*notes, NO_HISTORY])
    alerts: dict[str, HistoryEvent] = {}
    for e in events:
        alerts.setdefault(e.fingerprint, e)
    lines = [*notes, *(f"alert {fp} {e.labels}" for fp, e in alerts.items())]
    several = len(alerts) > 1
    for e in sorted(events, key=lambda e: e.at):  # stable: same instant, recorded order
        who = f"{e.fingerprint}  " if several else ""
        lines.append(f"{timestamp(e.at)}  {who}{describe(e)}")
    return "\n".join(lines)


def rule_notes(rule: str, unmatched: Sequence[Unmatched]) -> list[str]:
    """What is wrong with a rule now, before its history: its selectors that have
    matched no series since it loaded (it cannot fire while they match nothing)."""
    if not unmatched:
        return []
    lines = [f"rule {rule}: selectors that have matched no series since the rule loaded:"]
    lines += [f"  {u.selector}" + (f": {u.why}" if u.why else "") for u in unmatched]
    return lines


def describe(event: HistoryEvent) -> str:
    """One event as a phrase, without its time."""
    render = _RENDER.get(event.kind)
    d = event.details
    if event.kind == "transition":
        text = _transition(d, event.labels)
    else:
        text = render(d) if render is not None else " ".join([event.kind, *_pairs(d)])
    return " ".join(text.split("\n"))


def timestamp(at: float) -> str:
    """RFC 3339 in UTC; milliseconds only when the time has some."""
    t = datetime.fromtimestamp(at, UTC)
    frac = f".{t.microsecond // 1000:03d}" if t.microsecond // 1000 else ""
    return t.strftime("%Y-%m-%dT%H:%M:%S") + frac + "Z"


def number(value: Any) -> str:
    """A value as Prometheus writes it: NaN, +Inf, -Inf; integers without a fraction."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    v = float(value)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(v)


def _transition(d: Mapping[str, Any], labels: Mapping[str, str]) -> str:
    text = f"{d.get('to', '?'):<9} value={number(d.get('value'))}"
    if d.get("expr"):
        text += f" (when: {d['expr']})"
    if d.get("reason"):
        text += f" ({str(d['reason']).replace('_', ' ')})"
    if d.get("baseline"):
        text += f" (baseline {d['baseline']})"
    return text + _because(d, labels)


def _because(d: Mapping[str, Any], labels: Mapping[str, str]) -> str:
    """The decision chain of a composite rule: `fired because A firing (value 45) and
    p99 = 250ms > 100ms`."""
    inputs = d.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        return ""
    verb = "fired" if d.get("to") == "firing" else str(d.get("to", "changed"))
    phrases = [input_text(i, labels) for i in inputs if isinstance(i, Mapping)]
    return f": {verb} because " + " and ".join(phrases) if phrases else ""


def _route(d: Mapping[str, Any]) -> str:
    return (f"routed to {d.get('receiver', '?')} via {d.get('route', '?')} "
            f"in group {d.get('group_key', '?')}")


def _silenced(d: Mapping[str, Any]) -> str:
    text = f"silenced by {_list(d.get('silences'))}"
    until = d.get("until")
    return text + f" until {timestamp(until)}" if isinstance(until, int | float) else text


def _inhibited(d: Mapping[str, Any]) -> str:
    return f"inhibited by {_list(d.get('sources'))}"


def _dedup(d: Mapping[str, Any]) -> str:
    verb = "sent to" if d.get("send") else "not sent to"
    text = f"dedup: {verb} {d.get('receiver', '?')}"
    return text + f" ({d['reason']})" if d.get("reason") else text


def _delivery(d: Mapping[str, Any]) -> str:
    outcome = d.get("outcome", "?")
    text = (f"delivery to {d.get('receiver', '?')}/{d.get('integration', '?')} "
            f"{'retrying' if outcome == 'retry' else outcome}")
    answer = ": ".join(str(x) for x in (d.get("status"), d.get("error")) if x is not None)
    if answer:
        text += f" ({answer})"
    attempt = d.get("attempt")
    if isinstance(attempt, int) and attempt > 1:
        text += f", attempt {attempt}"
    return text


def _ack(d: Mapping[str, Any]) -> str:
    text = f"acknowledged by {d.get('by') or '?'}"
    return text + f" via {d['via']}" if d.get("via") else text


def _silence(d: Mapping[str, Any]) -> str:
    action = str(d.get("action", "?")).replace("_", " ")
    text = f"silence {d.get('id', '?')} {action} by {d.get('by') or '?'}"
    if d.get("via"):
        text += f" via {d['via']}"
    text += f": {_list(d.get('matchers'))}"
    ends = d.get("ends_at")
    return text + f" until {timestamp(ends)}" if isinstance(ends, int | float) else text


def _feedback(d: Mapping[str, Any]) -> str:
    text = f"feedback from {d.get('by', '?')}: {d.get('verdict', '?')}"
    why = ", ".join(str(d[k]) for k in ("reason", "comment") if d.get(k))
    return f"{text} ({why})" if why else text


def _list(items: Any) -> str:
    if isinstance(items, list | tuple) and items:
        return ", ".join(str(x) for x in items)
    return "?"


def _pairs(d: Mapping[str, Any]) -> list[str]:
    # A kind this version does not know (recorded by a newer one): its details as they are.
    return [f"{k}={number(v) if isinstance(v, float) else json.dumps(v, default=str)}"
            for k, v in d.items()]


def _health(d: Mapping[str, Any]) -> str:
    health = d.get("health", "?")
    if health == "nodata":
        return "rule health nodata (its inputs returned no data)"
    return f"rule health {health}" + (f": {d['error']}" if d.get("error") else "")


def _muted(d: Mapping[str, Any]) -> str:
    return f"muted    for {d.get('receiver', '?')}: {d.get('reason', '')}"


_RENDER: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "muted": _muted,
    "health": _health,
    "route": _route,
    "silenced": _silenced,
    "inhibited": _inhibited,
    "dedup": _dedup,
    "delivery": _delivery,
    "ack": _ack,
    "feedback": _feedback,
    "silence": _silence,
}
