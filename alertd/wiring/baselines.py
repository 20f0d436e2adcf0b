"""What loading baselines needs from the configuration: the store and Prometheus."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alertd.config.sources import PrometheusSource
from alertd.model import Labels
from alertd.rules.baselines import Pull, Resolver, who
from alertd.sources.prometheus_range import RangeSettings, query_range
from alertd.store.baselines import baseline_repository

# A range pull may take longer than a live query: each of its requests gets at least this.
MIN_PULL_TIMEOUT = 60.0


def range_pull(cfg: PrometheusSource) -> Pull | None:
    """Range queries against the configured Prometheus; None when the source is off."""
    if not cfg.enabled:
        return None
    tls = cfg.tls
    settings = RangeSettings(
        url=cfg.url, timeout=max(cfg.timeout, MIN_PULL_TIMEOUT), auth_header=cfg.auth_header(),
        verify=not (tls and tls.insecure_skip_verify),
        ca_file=tls.ca_file if tls else None,
        cert=(tls.cert_file, tls.key_file) if tls and tls.cert_file and tls.key_file else None)

    async def pull(query: str, start: float, end: float,
                   step: float) -> list[tuple[Labels, list[float]]]:
        return await query_range(settings, query, start, end, step)

    return pull


def resolver(store: Any, prometheus: PrometheusSource, now: Callable[[], float],
             role: str = "") -> Resolver:
    """A Resolver over an open Store, pulling from the configured Prometheus."""
    return Resolver(baseline_repository(store), range_pull(prometheus), now, who(role))
