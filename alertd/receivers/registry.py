"""The one place that knows every receiver: a receiver's config section by its name, and
the `from_config` that builds a notifier from each item of it.

    webhook_configs     webhook.from_config
    slack_configs       slack.from_config
    pagerduty_configs   pagerduty.from_config
    mqtt_configs        mqtt.from_config

A receiver's integrations are numbered in this order, across its sections (the outbox
names each "<receiver>/<kind>/<index>"), so a new receiver goes at the end. A receiver
named "console" with no section at all prints its notifications (the defaults' receiver).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from alertd.config import Config
from alertd.config.receivers import Receiver
from alertd.errors import ConfigError
from alertd.receivers import Notifier, console, mqtt, pagerduty, slack, webhook
from alertd.receivers.services import Services, Where
from alertd.receivers.slack_channels import warn_masked_channels

__all__ = ["CONSOLE", "REGISTRY", "Builder", "Section", "Services", "Where",
           "build_integrations", "warn_config"]

CONSOLE = "console"

C = TypeVar("C")


class Builder(Protocol):
    """What the registry holds per section: the notifiers of a receiver's items."""

    @property
    def name(self) -> str:
        """The section's key in a receiver: "slack_configs"."""
        ...

    def notifiers(self, receiver: Receiver, index: int, services: Services,
                  first: int) -> list[Notifier]:
        """The notifiers of `receiver` (the `index`th of the config) for this section,
        numbered from `first`; raises ConfigError naming the item's key."""
        ...


@dataclass(frozen=True, slots=True)
class Section(Generic[C]):
    """A section of a receiver (`<kind>_configs`) and the builder of its items."""

    kind: str  # the integration's name: "slack"
    from_config: Callable[[C, Services, Where], Notifier]

    @property
    def name(self) -> str:
        return f"{self.kind}_configs"

    def notifiers(self, receiver: Receiver, index: int, services: Services,
                  first: int) -> list[Notifier]:
        configs: Sequence[C] = getattr(receiver, self.name)
        out: list[Notifier] = []
        for j, config in enumerate(configs):
            where = Where(f"{receiver.name}/{self.kind}/{first + len(out)}",
                          f"receivers[{index}].{self.name}[{j}]")
            try:
                out.append(self.from_config(config, services, where))
            except ValueError as exc:  # a secret file that cannot be read, say
                raise ConfigError(f"{where.key}: {exc}") from None
        return out


_SECTIONS: tuple[Builder, ...] = (
    Section("webhook", webhook.from_config),
    Section("slack", slack.from_config),
    Section("pagerduty", pagerduty.from_config),
    Section("mqtt", mqtt.from_config),
)
REGISTRY: Mapping[str, Builder] = {section.name: section for section in _SECTIONS}
"""A receiver's config section name ("slack_configs") -> its builder, in numbering order."""


def build_integrations(receivers: Sequence[Receiver],
                       services: Services) -> dict[str, list[Notifier]]:
    """Every receiver's notifiers, by receiver name; raises ConfigError naming the key of
    the first item that cannot be built (a secret file that cannot be read, say)."""
    out: dict[str, list[Notifier]] = {}
    for i, receiver in enumerate(receivers):
        notifiers: list[Notifier] = []
        for section in REGISTRY.values():
            notifiers += section.notifiers(receiver, i, services, len(notifiers))
        if not notifiers and receiver.name == CONSOLE:
            notifiers.append(console.from_config(services))
        out[receiver.name] = notifiers
    return out


def warn_config(config: Config) -> None:
    """Log what a configuration's receivers may do other than meant (an owner's Slack
    channel that a fixed channel masks); at start and at each reload."""
    warn_masked_channels(config)
