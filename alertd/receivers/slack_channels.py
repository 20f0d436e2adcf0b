"""Owner channels that a fixed Slack `channel` masks.

A Slack config with a `channel` posts every page there; the owners' `slack_channel` (the
ownership map) is used only by configs without one. In a Slack config shared by several
teams, a fixed channel silently sends every team's pages to one channel.
`masked_channels` finds, for each Slack config that posts with a bot token (an incoming
webhook posts to its own channel and never reads the owners') and sets `channel`, the
owners with another channel of their own whose alerts the routing tree may send to that
receiver. `alertd check --config` warns of them; the daemon logs them when it starts and
at each reload.

Whether an owner's alerts may take a route is judged from what is known of them before
any alert exists: the label `owner` (the owner's name) and the labels the owner's own
matchers require with `=`. A route matcher on any other label may match or not; a route
that surely takes the owner's alerts and does not `continue` hides its later siblings.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from alertd.config import Config
from alertd.config.owners import Owner
from alertd.config.receivers import GlobalConfig, SlackConfig
from alertd.dispatch.route import Route

log = logging.getLogger("alertd.receivers.slack")


@dataclass(frozen=True, slots=True)
class MaskedChannels:
    path: tuple[str | int, ...]  # ("receivers", 1, "slack_configs", 0, "channel")
    receiver: str
    channel: str
    owners: tuple[Owner, ...]

    @property
    def key(self) -> str:
        """The key path as config errors name it: receivers[1].slack_configs[0].channel."""
        return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in self.path)[1:]

    def message(self) -> str:
        owners = ", ".join(f'"{o.name}" ({o.slack_channel})' for o in self.owners)
        which = "owner" if len(self.owners) == 1 else "owners"
        return (f'{self.key}: channel "{self.channel}" takes every page of receiver '
                f'"{self.receiver}", masking the slack_channel of {which} {owners}, whose '
                "alerts it may page; leave channel out to page each owner in its own channel")


def masked_channels(config: Config) -> list[MaskedChannels]:
    """Every Slack config whose fixed channel masks owners' channels, in config order."""
    owners = [o for o in config.owners if o.slack_channel]
    if not owners:
        return []
    root = Route.from_config(config.route)
    reached = {o.name: _receivers(root, _known_labels(o)) for o in owners}
    found: list[MaskedChannels] = []
    for i, receiver in enumerate(config.receivers):
        for j, slack in enumerate(receiver.slack_configs):
            if not slack.channel or not _posts_with_token(slack, config.global_):
                continue
            masked = tuple(o for o in owners if o.slack_channel != slack.channel
                           and receiver.name in reached[o.name])
            if masked:
                found.append(MaskedChannels(("receivers", i, "slack_configs", j, "channel"),
                                            receiver.name, slack.channel, masked))
    return found


def warn_masked_channels(config: Config) -> None:
    """Log each masking once (the daemon calls this at start and at each reload)."""
    for masked in masked_channels(config):
        log.warning("%s", masked.message())


def _posts_with_token(c: SlackConfig, g: GlobalConfig) -> bool:
    # The same choice as the receiver's builder: its own token, else the global one
    # unless it has a webhook URL of its own.
    if c.app_token is not None or c.app_token_file is not None:
        return True
    if c.api_url is not None or c.api_url_file is not None:
        return False
    return g.slack_app_token is not None or g.slack_app_token_file is not None


def _known_labels(owner: Owner) -> dict[str, str]:
    known = {m.name: m.value for m in owner.compiled_matchers() if m.op == "="}
    known["owner"] = owner.name
    return known


def _receivers(route: Route, known: Mapping[str, str]) -> set[str]:
    """The receivers of the routes that may take an alert whose labels include `known`."""
    if _matches(route, known) is False:
        return set()
    found: set[str] = set()
    for child in route.routes:
        found |= _receivers(child, known)
        if _matches(child, known) is True and not child.continue_:
            return found  # it surely takes the alert: neither later siblings nor this route
    found.add(route.receiver)  # may take it when none of its children does
    return found


def _matches(route: Route, known: Mapping[str, str]) -> bool | None:
    """True if the route surely matches, False if it surely does not, None if unknown."""
    sure = True
    for m in route.matchers:
        if m.name not in known:
            sure = False
        elif not m.matches(known[m.name]):
            return False
    return True if sure else None
