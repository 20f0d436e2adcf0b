"""The `history:` section of alertd.yml: how long the alert history is kept.

    history:
      retention: 400d    # events older than this are deleted (every 15 minutes)

The default keeps a year of weekly noise reports comparable with the same week a year
before, and a little more.
"""

from __future__ import annotations

from alertd.config.types import Duration, Model

DEFAULT_RETENTION = 400 * 86400.0


class HistoryConfig(Model):
    retention: Duration = DEFAULT_RETENTION
