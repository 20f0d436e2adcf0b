"""The state of every rule (health and alert instances), saved so a restart resumes it."""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any, TypeVar

from sqlalchemy import Row, delete, insert, select

from alertd.model import Labels
from alertd.rules.state import Health, Instance, RuleState, Status
from alertd.store.db import (
    Database,
    StoreError,
    alert_instance,
    decode_labels,
    encode_labels,
    rule_state,
    upsert,
)

# Bound parameters per `IN (...)`: well under SQLite's and PostgreSQL's limits.
_CHUNK = 500

_VALUE = struct.Struct("<d")
_INSTANCE_TIMES = ("active_at", "fired_at", "resolved_at", "keep_firing_since", "last_seen")

T = TypeVar("T")


class RuleStateRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def save(self, states: Mapping[str, RuleState]) -> None:
        """Insert or replace the state of the given rules (others are left alone), atomically.

        A rule's instances are replaced as a whole: an instance missing from its new state
        is gone from the database too.
        """
        if not states:
            return
        # Encoded before the transaction: a state that cannot be stored changes nothing.
        # Rows go in name order, so concurrent saves lock them in one order (no deadlock).
        ordered = sorted(states.items(), key=lambda item: item[0])
        try:
            rule_rows = [_rule_row(name, state) for name, state in ordered]
            instance_rows = [_instance_row(name, inst) for name, state in ordered
                             for inst in state.instances.values()]
        except ValueError as exc:
            raise StoreError(f'database "{self._db.url}": cannot save rule states: {exc}') from exc
        stmt = upsert(self._db.dialect, rule_state, ("rule",))
        async with self._db.transaction("save rule states", write=True) as conn:
            await conn.execute(stmt, rule_rows)
            for names in _chunks([name for name, _ in ordered]):
                await conn.execute(delete(alert_instance).where(alert_instance.c.rule.in_(names)))
            if instance_rows:
                await conn.execute(insert(alert_instance), instance_rows)

    async def load(self) -> dict[str, RuleState]:
        """Every rule state saved, by rule name."""
        # One statement, so one snapshot even under PostgreSQL's READ COMMITTED.
        query = (select(rule_state, alert_instance)
                 .select_from(rule_state.outerjoin(alert_instance))
                 .order_by(rule_state.c.rule, alert_instance.c.fingerprint))
        async with self._db.transaction("load rule states", write=False) as conn:
            rows = (await conn.execute(query)).all()
        try:
            return _decode(rows)
        except (ValueError, KeyError, struct.error) as exc:
            raise StoreError(f'database "{self._db.url}": cannot load rule states: {exc}') from exc

    async def delete(self, names: Iterable[str]) -> None:
        """Forget the given rules (those that no longer exist); unknown names are ignored."""
        wanted = list(dict.fromkeys(names))
        if not wanted:
            return
        async with self._db.transaction("delete rule states", write=True) as conn:
            for chunk in _chunks(wanted):
                await conn.execute(delete(alert_instance).where(alert_instance.c.rule.in_(chunk)))
                await conn.execute(delete(rule_state).where(rule_state.c.rule.in_(chunk)))


def _rule_row(name: str, state: RuleState) -> dict[str, Any]:
    return {
        "rule": name,
        "health": state.health.value,
        "last_error": state.last_error,
        "last_eval": _time(name, "last_eval", state.last_eval),
        "nodata": state.nodata,
    }


def _instance_row(rule: str, inst: Instance) -> dict[str, Any]:
    row: dict[str, Any] = {
        "rule": rule,
        "fingerprint": inst.labels.fingerprint(),
        "labels": encode_labels(inst.labels),
        "expr_labels": encode_labels(inst.expr_labels),
        "status": inst.status.value,
        "value": _VALUE.pack(inst.value),
        "nodata": inst.nodata,
    }
    for field in _INSTANCE_TIMES:
        row[field] = _time(rule, field, getattr(inst, field))
    return row


def _time(rule: str, field: str, value: float | None) -> float | None:
    # Times are stored as REAL/DOUBLE PRECISION, where SQLite would quietly make a NaN NULL.
    if value is not None and math.isnan(value):
        raise ValueError(f'rule "{rule}": {field} is NaN, which is not a time')
    return value


def _decode(rows: Sequence[Row[Any]]) -> dict[str, RuleState]:
    states: dict[str, RuleState] = {}
    rule: str | None = None
    instances: dict[Labels, Instance] = {}
    for row in rows:
        m = row._mapping
        name = m[rule_state.c.rule]
        if name != rule:
            rule, instances = name, {}
            states[name] = RuleState(
                MappingProxyType(instances),
                Health(m[rule_state.c.health]),
                m[rule_state.c.last_error],
                m[rule_state.c.last_eval],
                bool(m[rule_state.c.nodata]),
            )
        if m[alert_instance.c.fingerprint] is None:
            continue  # a rule without instances
        try:
            inst = _instance(m)
        except (ValueError, KeyError, struct.error) as exc:
            raise ValueError(f'rule "{name}": {exc}') from exc
        instances[inst.labels] = inst
    return states


def _instance(m: Mapping[Any, Any]) -> Instance:
    c = alert_instance.c
    try:
        labels = decode_labels(m[c.labels])
        expr_labels = decode_labels(m[c.expr_labels])
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid labels: {exc}") from exc
    (value,) = _VALUE.unpack(bytes(m[c.value]))
    return Instance(
        labels=labels,
        expr_labels=expr_labels,
        status=Status(m[c.status]),
        active_at=m[c.active_at],
        value=value,
        fired_at=m[c.fired_at],
        resolved_at=m[c.resolved_at],
        keep_firing_since=m[c.keep_firing_since],
        last_seen=m[c.last_seen],
        nodata=bool(m[c.nodata]),
    )


def _chunks(items: list[T]) -> Iterator[list[T]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]
