"""State changes printed to the console: what `alertd run` shows on its embedded defaults."""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from typing import TextIO

from alertd.model import ALERTNAME
from alertd.rules.state import Status, Transition
from alertd.timefmt import rfc3339

_WORDS = {Status.PENDING: "pending", Status.FIRING: "FIRING", Status.RESOLVED: "resolved",
          Status.INACTIVE: "inactive"}


class ConsolePrinter:
    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout

    def transitions(self, rule: str, transitions: Sequence[Transition], at: float) -> None:
        for t in transitions:
            labels = t.labels.without((ALERTNAME,))
            value = "" if math.isnan(t.value) else f" value={t.value:.6g}"
            print(f"{rfc3339(t.at)} {_WORDS[t.new]:<8} {rule} {labels}{value}",
                  file=self.out, flush=True)
