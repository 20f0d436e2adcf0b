"""Silences: matchers and a time range that mute alerts, under Alertmanager's rules.

    silences = await Silences.open(store.silences, clock.now())
    sid = await silences.set(Silence(matchers=..., starts_at=..., ends_at=...,
                                     created_by="ana", comment="deploy"), clock.now())
    silences.mutes(alert.labels, clock.now())     # ids of the active silences that match
    await silences.expire(sid, clock.now())
"""

from __future__ import annotations

from alertd.silence.model import (
    ACTIVE,
    EXPIRED,
    PENDING,
    InvalidSilence,
    Silence,
    SilenceAlreadyExpired,
    SilenceError,
    SilenceNotFound,
    SilenceState,
    format_matcher,
    parse_matcher,
)
from alertd.silence.silences import RETENTION, SilenceRepository, Silences

__all__ = [
    "ACTIVE",
    "EXPIRED",
    "PENDING",
    "RETENTION",
    "InvalidSilence",
    "Silence",
    "SilenceAlreadyExpired",
    "SilenceError",
    "SilenceNotFound",
    "SilenceRepository",
    "SilenceState",
    "Silences",
    "format_matcher",
    "parse_matcher",
]
