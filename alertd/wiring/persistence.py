"""What the daemon keeps across a restart: rule states (which decide what pages after
it), the sample windows and SLO windows, and the alerts posted to it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from alertd.alerts.store import AlertStore
from alertd.clock import Clock
from alertd.errors import AlertdError
from alertd.notify.service import Notifications
from alertd.rules import meta as meta_rules
from alertd.rules.manager import RuleManager
from alertd.rules.meta import MetaAlerts
from alertd.rules.state import RuleState
from alertd.sources.windows import SampleWindows
from alertd.store import Store
from alertd.store.slo_windows import slo_window_repository

log = logging.getLogger("alertd")


@dataclass(frozen=True, slots=True)
class Persistence:
    """Saves and restores the daemon's state through the store open at the time (none
    before start and after stop, when there is nothing to save)."""

    store: Callable[[], Store | None]
    manager: RuleManager
    meta: MetaAlerts
    alerts: AlertStore
    windows: SampleWindows
    notifications: Notifications
    clock: Clock

    async def persist(self, states: dict[str, RuleState]) -> None:
        store = self.store()
        if store is None:
            return
        try:
            await store.rule_states.save(states)
        except AlertdError as exc:
            log.error("cannot save alert state: %s", exc)

    async def persist_all(self) -> None:
        """Every rule's state, the meta-alerts' too."""
        await self.persist({**self.manager.evaluator.states, **self.meta.states})

    async def restore(self) -> None:
        store = self.store()
        assert store is not None
        saved = await store.rule_states.load()
        restored = self.manager.restore(saved)
        for name in meta_rules.NAMES:
            if name in saved:
                self.meta.states[name] = saved[name]
        now = self.clock.now()
        for name in restored:
            rule = self.manager.ruleset.by_name[name]
            state = self.manager.evaluator.states[name]
            self.alerts.sync_rule(name, state.instances.values(), rule.annotations_for, now,
                                  rule.generator_url_for)
        self.windows.restore(await store.windows.load())
        self.manager.evaluator.slos.restore(await slo_window_repository(store).load())
        if restored:
            log.info("restored the state of %d rules", len(restored))
        posted = self.notifications.restore(await store.posted_alerts.load(), now)
        if posted:
            log.info("restored %d alerts posted before the restart", posted)

    async def snapshot(self) -> None:
        store = self.store()
        if store is None:
            return
        self.windows.trim(self.clock.now())
        try:
            await store.windows.save(self.windows.snapshot())
            await slo_window_repository(store).save(self.manager.evaluator.slos.snapshot())
        except AlertdError as exc:
            log.error("cannot save sample windows: %s", exc)
