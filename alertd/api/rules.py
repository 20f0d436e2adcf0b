"""`GET /api/alertd/v1/rules`: groups and rules, their health and last evaluation, each
instance with its state, times and whether it flaps.

The handlers here and in history.py read the rules from the app (`RULES`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from alertd.clock import Clock
from alertd.history.recorder import HistoryRecorder
from alertd.model import json_float
from alertd.noise.flapping import FlapTracker
from alertd.rules.manager import Group, RuleManager
from alertd.rules.rule import AlertRule
from alertd.rules.selectors import SeriesSource, explain_unmatched
from alertd.rules.state import Instance
from alertd.store import Store
from alertd.timefmt import rfc3339


class GroupTiming(Protocol):
    """When a group was last evaluated, and how long that took."""

    @property
    def last_eval(self) -> float | None: ...

    @property
    def duration(self) -> float | None: ...


@dataclass(frozen=True, slots=True)
class RulesContext:
    """The rules and what is known of them; getters for what the daemon opens on start."""

    clock: Clock
    manager: RuleManager
    group_status: Mapping[tuple[str, float], GroupTiming]  # by (name, interval)
    flaps: FlapTracker
    series: SeriesSource  # the pushed series, to tell why a selector matches nothing
    store: Callable[[], Store | None]
    history: Callable[[], HistoryRecorder | None]


RULES = web.AppKey("rules", RulesContext)


async def rules(request: web.Request) -> web.StreamResponse:
    ctx = request.app[RULES]
    now = ctx.clock.now()
    return web.json_response({"groups": [_group(ctx, g, now) for g in ctx.manager.groups]})


def _group(ctx: RulesContext, group: Group, now: float) -> dict[str, Any]:
    status = ctx.group_status.get((group.name, group.interval))
    return {
        "name": group.name,
        "interval": group.interval,
        "lastEvaluation": rfc3339(status.last_eval) if status else None,
        "evaluationTime": status.duration if status else None,
        "rules": [_rule(ctx, group, rule, now) for rule in group.rules],
    }


def _rule(ctx: RulesContext, group: Group, rule: AlertRule, now: float) -> dict[str, Any]:
    state = ctx.manager.evaluator.states[rule.name]
    empty = explain_unmatched(rule, ctx.series)
    return {
        "name": rule.name,
        "file": rule.spec.path,
        "health": state.health.value,
        "lastError": state.last_error,
        "lastEvaluation": rfc3339(state.last_eval),
        "for": rule.timing.for_,
        "interval": rule.interval,
        "streaming": rule in group.streamable,
        "suppressesInputs": rule.spec.suppresses_inputs,
        # Pushed-series selectors that have matched no series since the rule
        # loaded, and, where the series tell, the matcher that empties each.
        "selectorsMatchedNothing": [u.selector for u in empty],
        "selectorHints": {u.selector: u.why for u in empty if u.why},
        "instances": [_instance(ctx, rule.name, i, now) for i in state.instances.values()],
    }


def _instance(ctx: RulesContext, rule: str, inst: Instance, now: float) -> dict[str, Any]:
    flap = ctx.flaps.view(rule, inst.labels, now)
    return {
        "labels": dict(inst.labels),
        "state": inst.status.value,
        "activeAt": rfc3339(inst.active_at),
        "firedAt": rfc3339(inst.fired_at),
        "resolvedAt": rfc3339(inst.resolved_at),
        "value": json_float(inst.value),
        "flapping": flap.flapping,
        "flapScore": round(flap.score, 4),
        "stateChanges1h": flap.changes_1h,
    }
