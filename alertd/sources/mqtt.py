"""Samples pushed over MQTT, read with aiomqtt 2.x.

Each message holds one sample object or an array of them, in the schema of the webhook
(`alertd.sources.push`). A subscription may take labels from levels of the topic: with
`ml/+/features` and `labels_from_topic={"model": 1}`, a message on `ml/churn/features` gives
its samples `model="churn"`.

Topic labels are added to the payload's labels. A payload label of the same name with a
*different* value makes that sample invalid (the topic says where the data comes from, and
silently preferring either would hide a publisher's bug); the same value is accepted.

Nothing a publisher sends stops the loop: a message with bad JSON, invalid samples or samples
the store refuses is counted (`messages_malformed`) and logged on "alertd.mqtt", at most one
line per second with the number of lines left out; its valid samples are still stored.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import aiomqtt

from alertd.clock import Clock
from alertd.errors import ConfigError
from alertd.sources.push import decode_payload, invalid_samples, parse_samples
from alertd.sources.webhook import SampleSink

log = logging.getLogger("alertd.mqtt")

_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}
_TOPIC_CACHE_MAX = 10_000


@dataclass(frozen=True)
class MqttSubscription:
    """A topic filter (wildcards `+` and `#` allowed) and the labels its topic levels give.

    `labels_from_topic` maps a label name to a 0-based level of the message's topic.
    """

    topic: str
    labels_from_topic: Mapping[str, int] = field(default_factory=dict)
    qos: int = 1

    def __post_init__(self) -> None:
        where = f'mqtt subscription "{self.topic}"'
        try:
            aiomqtt.Wildcard(self.topic)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: {exc}") from None
        if self.qos not in (0, 1, 2):
            raise ConfigError(f"{where}: qos must be 0, 1 or 2, got {self.qos!r}")
        levels = _topic_levels(self.topic)
        for name, level in self.labels_from_topic.items():
            if not _LABEL_NAME.fullmatch(name) or name.startswith("__"):
                raise ConfigError(f'{where}: invalid label name "{name}"')
            if type(level) is not int or level < 0:
                raise ConfigError(f'{where}: label "{name}" needs a topic level (0, 1, ...), '
                                  f"got {level!r}")
            if level >= len(levels) and "#" not in levels:
                raise ConfigError(f'{where}: label "{name}" takes level {level}, but the topic '
                                  f"has {len(levels)} levels (counted from 0)")


@dataclass(frozen=True)
class MqttSettings:
    host: str
    port: int
    tls: ssl.SSLContext | None
    username: str | None
    password: str | None = field(repr=False)
    client_id: str | None
    keepalive: float
    reconnect_min: float
    reconnect_max: float
    subscriptions: tuple[MqttSubscription, ...]

    def __post_init__(self) -> None:
        if not self.subscriptions:
            raise ConfigError("mqtt: at least one subscription is needed")
        if not 0 < self.port < 65536:
            raise ConfigError(f"mqtt: port must be 1..65535, got {self.port}")
        if self.keepalive < 1:
            raise ConfigError(f"mqtt: keepalive must be at least 1 second, got {self.keepalive}")
        if not 0 < self.reconnect_min <= self.reconnect_max:
            raise ConfigError("mqtt: reconnect delays must satisfy 0 < min <= max, got "
                              f"{self.reconnect_min} and {self.reconnect_max}")

    @classmethod
    def from_url(
        cls,
        url: str,
        subscriptions: Sequence[MqttSubscription],
        *,
        username: str | None = None,
        password: str | None = None,
        client_id: str | None = None,
        tls: ssl.SSLContext | None = None,
        keepalive: float = 60.0,
        reconnect_min: float = 1.0,
        reconnect_max: float = 60.0,
    ) -> MqttSettings:
        """Settings from `mqtt://host[:1883]` or `mqtts://host[:8883]` (TLS).

        `mqtts` without a `tls` context verifies the broker against the system's CAs. A
        user and password in the URL are used unless given as arguments.
        """
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS:
            raise ConfigError(f'mqtt url "{_safe(url)}": the scheme must be mqtt or mqtts')
        if not parts.hostname:
            raise ConfigError(f'mqtt url "{_safe(url)}": no host')
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ConfigError(f'mqtt url "{_safe(url)}": only mqtt[s]://[user@]host[:port]')
        try:
            port = parts.port or _DEFAULT_PORTS[scheme]
        except ValueError as exc:
            raise ConfigError(f'mqtt url "{_safe(url)}": {exc}') from None
        if scheme == "mqtt" and tls is not None:
            raise ConfigError(f'mqtt url "{_safe(url)}": a TLS context needs mqtts://')
        if scheme == "mqtts" and tls is None:
            tls = ssl.create_default_context()
        if username is None and parts.username is not None:
            username = unquote(parts.username)
        if password is None and parts.password is not None:
            password = unquote(parts.password)
        return cls(parts.hostname, port, tls, username, password, client_id, keepalive,
                   reconnect_min, reconnect_max, tuple(subscriptions))


@dataclass(frozen=True, slots=True)
class _Route:
    """What a topic resolves to: its labels, or why it cannot be used."""

    labels: Mapping[str, str]
    origin: str  # names the topic in errors about its labels
    problem: str | None = None


class MqttSource:
    """Subscribes, reads messages into the sink, and reconnects with backoff, until cancelled.

    Counters: `messages_received`, `messages_malformed` (anything in the message not stored,
    including when the sink failed),
    `samples_ingested`, `samples_invalid`, `samples_rejected` (refused by the store),
    `reconnects` (connections made after the first); `connected` is true while subscribed.
    """

    def __init__(
        self,
        settings: MqttSettings,
        sink: SampleSink,
        clock: Clock,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_state: Callable[[bool], None] | None = None,
    ) -> None:
        self._settings = settings
        self._sink = sink
        self._clock = clock
        self._sleep = sleep
        self._on_state = on_state
        self._routes: dict[str, _Route] = {}
        self._log = _RateLimitedLog(log, clock, interval=1.0)
        self.connected = False
        self.messages_received = 0
        self.messages_malformed = 0
        self.samples_ingested = 0
        self.samples_invalid = 0
        self.samples_rejected = 0
        self.reconnects = 0

    async def run(self) -> None:
        """Runs until cancelled; connection failures are retried, never raised."""
        s = self._settings
        delay = s.reconnect_min
        connections = 0
        while True:
            try:
                # A fresh client per connection: aiomqtt 2.x keeps the "connected" future
                # of a connection that dropped, and a reused client could then report the
                # next connection established before the broker accepted it.
                client = self._client()
                async with client:
                    for sub in s.subscriptions:
                        await client.subscribe(sub.topic, qos=sub.qos)
                    connections += 1
                    if connections > 1:
                        self.reconnects += 1
                    delay = s.reconnect_min
                    self._set_connected(True)
                    log.info("connected to mqtt broker %s:%d", s.host, s.port)
                    # Messages are handled as they arrive (see _client); this only waits
                    # for the connection to drop, which ends the iteration with MqttError.
                    async for _ in client.messages:
                        pass
            except aiomqtt.MqttError as exc:
                log.warning("mqtt broker %s:%d: %s; reconnecting in %gs", s.host, s.port, exc,
                            delay)
            except Exception:
                log.exception("mqtt source failed; reconnecting in %gs", delay)
            finally:
                self._set_connected(False)
            await self._sleep(delay)
            delay = min(delay * 2, s.reconnect_max)

    def _client(self) -> aiomqtt.Client:
        s = self._settings
        handle = self._handle

        class HandOver(asyncio.Queue[aiomqtt.Message]):
            """The client's message "queue": stores each message's samples as it arrives.

            paho acknowledges a QoS 1 message after its on_message callback returns, and
            aiomqtt's callback puts the message here: handling it in place means a message
            is acknowledged once its samples are in the store (a queue would acknowledge
            what is only in memory), and it skips a task and a queue hop per message.
            """

            def put_nowait(self, item: aiomqtt.Message) -> None:
                handle(item.topic, item.payload)

        return aiomqtt.Client(
            s.host,
            s.port,
            username=s.username,
            password=s.password,
            identifier=s.client_id,
            keepalive=max(1, round(s.keepalive)),
            tls_context=s.tls,
            logger=logging.getLogger("alertd.mqtt.client"),
            queue_type=HandOver,
        )

    def _set_connected(self, connected: bool) -> None:
        if connected != self.connected:
            self.connected = connected
            if self._on_state is not None:
                self._on_state(connected)

    def _handle(self, topic: aiomqtt.Topic, payload: bytes) -> None:
        # Called from paho's read callback: nothing may escape, or the connection drops.
        self.messages_received += 1
        try:
            problem = self._ingest(topic, payload)
        except Exception as exc:
            self.messages_malformed += 1
            self._log.warning("mqtt message on %s: internal error: %r", topic.value, exc,
                              exc_info=True)
            return
        if problem is not None:
            self.messages_malformed += 1
            self._log.warning("mqtt message on %s: %s", topic.value, problem)

    def _ingest(self, topic: aiomqtt.Topic, payload: bytes) -> str | None:
        """Stores the message's valid samples; returns what was wrong with it, if anything."""
        route = self._route(topic)
        if route.problem is not None:
            return route.problem
        decoded, error = decode_payload(payload)
        if error is not None:
            return str(error)
        samples, errors = parse_samples(decoded, extra_labels=route.labels,
                                        extra_from=route.origin)
        refused: list[tuple[int, str]] = []
        if samples:
            refused = self._sink.ingest([s for _, s in samples], self._clock.now())
            self.samples_ingested += len(samples) - len(refused)
            self.samples_rejected += len(refused)
        if not errors and not refused:
            return None
        self.samples_invalid += invalid_samples(errors)
        problems = [str(e) for e in errors]
        problems += [f"[{samples[pos][0]}]: refused: {why}" for pos, why in refused]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return problems[0] + more

    def _route(self, topic: aiomqtt.Topic) -> _Route:
        # Publishers reuse a handful of topics: resolve each once.
        route = self._routes.get(topic.value)
        if route is None:
            route = self._resolve(topic)
            if len(self._routes) >= _TOPIC_CACHE_MAX:
                self._routes.clear()
            self._routes[topic.value] = route
        return route

    def _resolve(self, topic: aiomqtt.Topic) -> _Route:
        origin = f'topic "{topic.value}"'
        sub = next((s for s in self._settings.subscriptions if topic.matches(s.topic)), None)
        if sub is None:
            return _Route({}, origin, "the topic matches no subscription")
        levels = topic.value.split("/")
        labels: dict[str, str] = {}
        for name, level in sub.labels_from_topic.items():
            value = levels[level] if level < len(levels) else ""
            if not value:
                return _Route({}, origin, f'no topic level {level} for label "{name}" '
                                          f'(subscription "{sub.topic}")')
            labels[name] = value
        return _Route(labels, origin)


class _RateLimitedLog:
    """Warnings at most once per `interval`; the next line says how many were left out."""

    def __init__(self, logger: logging.Logger, clock: Clock, interval: float) -> None:
        self._logger = logger
        self._clock = clock
        self._interval = interval
        self._next_at: float | None = None
        self._suppressed = 0

    def warning(self, message: str, *args: object, exc_info: bool = False) -> None:
        now = self._clock.now()
        if self._next_at is not None and now < self._next_at:
            self._suppressed += 1
            return
        if self._suppressed:
            message += " (%d similar lines left out)"
            args = (*args, self._suppressed)
        self._logger.warning(message, *args, exc_info=exc_info)
        self._next_at = now + self._interval
        self._suppressed = 0


def _topic_levels(topic: str) -> list[str]:
    levels = topic.split("/")
    # Messages of a shared subscription ($share/<group>/<filter>) carry the filter's topic.
    return levels[2:] if levels[0] == "$share" else levels


def _safe(url: str) -> str:
    """The URL without its password, for error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()
