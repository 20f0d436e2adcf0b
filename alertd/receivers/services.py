"""What a receiver is built from besides its own config section: the services every
receiver may share, passed as one value, and where in the config the section sits.

Each receiver module has a `from_config(config, services, where)` that builds its
notifier from these; `registry.py` finds it by the section's name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TextIO

from pydantic import SecretStr

from alertd.config.owners import Owner
from alertd.config.receivers import GlobalConfig
from alertd.config.types import read_file
from alertd.model import Labels
from alertd.receivers.state import ReceiverStates

Acknowledged = Callable[[str, Sequence[tuple[Labels, str]], str], None]
"""(group key, the incident's alerts as (labels, source), who) once PagerDuty accepted an
acknowledgement."""


@dataclass(frozen=True)
class Services:
    """Shared by the receivers of one configuration."""

    external_url: str = ""  # where links in notifications point
    global_: GlobalConfig = field(default_factory=GlobalConfig)
    owners: Sequence[Owner] = ()
    # What receivers remember per group (Slack pages, PagerDuty incidents), kept across
    # reloads: the same object for every configuration.
    states: ReceiverStates = field(default_factory=ReceiverStates)
    console: TextIO | None = None  # the console receiver's output (None: standard output)
    acknowledged: Acknowledged | None = None  # told of PagerDuty acknowledgements

    def owner(self, name: str) -> Owner | None:
        return next((o for o in self.owners if o.name == name), None)


@dataclass(frozen=True, slots=True)
class Where:
    """A config section's place: its integration name and its key path in messages."""

    integration: str  # "<receiver>/<kind>/<index within the receiver>"
    key: str  # "receivers[0].slack_configs[1]"


def secret(value: SecretStr | None, file: str | None) -> str:
    """A secret given inline or in a file (one of the two is set, as the config checks)."""
    if value is not None:
        return value.get_secret_value()
    assert file is not None
    # A ValueError naming the file; the registry puts the config's key before it.
    return read_file(file, ValueError).strip()


def maybe_secret(value: SecretStr | None, file: str | None) -> str | None:
    """A secret that may be left out: None when neither the value nor its file is set."""
    return None if value is None and file is None else secret(value, file)
