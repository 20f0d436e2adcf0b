"""The MQTT receiver: each notification published as JSON to a topic rendered per group.

The message is the webhook's payload (`alertd.receivers.webhook.payload`), so one parser
serves both. The topic is a template over the group, in alertd's template sandbox:

    labels        the labels all the notification's alerts share
    group_labels  the labels of the aggregation group
    status        "firing" or "resolved"
    receiver      the receiver's name

e.g. `alerts/{{ labels.owner }}/{{ labels.alertname }}`. Syntax errors, unknown variables and
wildcards in the template's own text are found when the notifier is made
(`check_topic_template` for the configuration). A topic that renders invalid (a label value
with `+` or `#`, an empty topic...) fails that notification without retries.

One connection is kept open and shared by concurrent notifications. With QoS 1 or 2 a
notification is delivered once the broker acknowledged it; when the connection fails, the
notification fails (retryable) and the next one connects again. A fixed `client_id` must not
be shared with any other client: the broker would drop one connection for the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from typing import TYPE_CHECKING, Any

import aiomqtt
import jinja2
from jinja2 import meta, nodes

from alertd.config.sources import mqtt_host_port
from alertd.errors import NotifyError
from alertd.receivers import Notification
from alertd.receivers.services import Services, Where, maybe_secret
from alertd.receivers.webhook import encode, payload
from alertd.suggest import did_you_mean
from alertd.templates import ENVIRONMENT, LabelMap, find_template_problems

if TYPE_CHECKING:
    from alertd.config.receivers import MqttReceiverConfig

__all__ = ["TOPIC_VARIABLES", "MqttNotifier", "TopicTemplate", "check_topic_template",
           "from_config", "topic_problem"]

log = logging.getLogger("alertd.mqtt.notify")
_client_log = logging.getLogger("alertd.mqtt.notify.client")

TOPIC_VARIABLES = ("labels", "group_labels", "status", "receiver")
MAX_TOPIC_BYTES = 65535  # the length field of an MQTT string
_SHOWN = 200  # characters of a rendered topic in an error message
# MQTT 5 reason codes, which paho reports for MQTT 3.1.1 refusals too: bad credentials do not
# fix themselves between two attempts.
_REFUSED_CREDENTIALS = frozenset({134, 135})


def topic_problem(topic: str) -> str | None:
    """What makes `topic` unusable for a PUBLISH, or None."""
    if not topic:
        return "is empty"
    for wildcard in ("+", "#"):
        if wildcard in topic:
            return f'contains the wildcard "{wildcard}", which only subscriptions may use'
    if "\x00" in topic:
        return "contains a NUL character"
    if topic.startswith("$"):
        return 'starts with "$", which brokers keep for themselves ($SYS)'
    try:
        size = len(topic.encode("utf-8"))
    except UnicodeEncodeError:
        return "is not valid UTF-8"
    if size > MAX_TOPIC_BYTES:
        return f"is {size} bytes long, more than the {MAX_TOPIC_BYTES} MQTT allows"
    return None


class TopicTemplate:
    """A checked topic template; `render` raises a non-retryable NotifyError."""

    __slots__ = ("_template", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._template = _compile(text)

    def render(self, labels: dict[str, str], group_labels: dict[str, str], status: str,
               receiver: str) -> str:
        try:
            topic = self._template.render(labels=LabelMap(labels),
                                          group_labels=LabelMap(group_labels),
                                          status=status, receiver=receiver)
        except Exception as exc:  # whatever the sandbox refuses, for this group only
            raise NotifyError(f'mqtt topic template "{self.text}" failed: {exc}',
                              retryable=False) from exc
        problem = topic_problem(topic)
        if problem is not None:
            raise NotifyError(f'mqtt topic template "{self.text}" rendered '
                              f'"{_cut(topic)}", which {problem}', retryable=False)
        return topic


def check_topic_template(text: str) -> None:
    """Raises ValueError naming the problem if `text` cannot be a topic template."""
    _compile(text)


def _compile(text: str) -> jinja2.Template:
    where = f'mqtt topic template "{text}"'
    for found in find_template_problems(text):
        if found.kind != "variable":  # its variables are not those of messages: below
            line = f" (line {found.line})" if found.line and "\n" in text else ""
            raise ValueError(f"{where}: {found.message}{line}")
    tree = ENVIRONMENT.parse(text)
    used = meta.find_undeclared_variables(tree) - set(ENVIRONMENT.globals)
    unknown = used - set(TOPIC_VARIABLES)
    if unknown:
        name = min(unknown)
        raise ValueError(f'{where}: unknown variable "{name}"'
                         f"{did_you_mean(name, TOPIC_VARIABLES)}; a topic template may use "
                         + ", ".join(TOPIC_VARIABLES))
    template = ENVIRONMENT.from_string(text)
    problem = _static_problem(template) if not used else _literal_problem(tree)
    if problem is not None:
        raise ValueError(f"{where}: the topic {problem}")
    return template


def _static_problem(template: jinja2.Template) -> str | None:
    # Nothing of the group in it: every message goes to this one topic, checked now.
    try:
        return topic_problem(template.render())
    except Exception as exc:
        return f"cannot be rendered: {exc}"


def _literal_problem(tree: nodes.Template) -> str | None:
    # The template's own text is part of every topic it renders.
    literal = "".join(data.data for data in tree.find_all(nodes.TemplateData))
    return next((topic_problem(c) for c in ("+", "#", "\x00") if c in literal), None)


def _cut(text: str) -> str:
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "…"


class _Connection:
    """A connected client and the task that notices when its connection drops."""

    def __init__(self, client: aiomqtt.Client, exit_stack: contextlib.AsyncExitStack) -> None:
        self.client = client
        self._exit_stack = exit_stack
        self.watcher = asyncio.create_task(self._watch(), name="mqtt notifier connection")
        self.watcher.add_done_callback(_consume)

    @property
    def alive(self) -> bool:
        return not self.watcher.done()

    async def _watch(self) -> None:
        # Nothing is subscribed, so no message comes: the iteration only ends, with
        # MqttError, when the connection drops. Publishes in flight are not told (aiomqtt
        # would wait for their acknowledgement until the timeout), so they wait on this too.
        async for _ in self.client.messages:
            pass

    async def close(self) -> None:
        self.watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
            await self.watcher
        with contextlib.suppress(aiomqtt.MqttError):
            await self._exit_stack.aclose()


def _consume(task: asyncio.Task[None]) -> None:
    # The watcher's end is read through `alive`; its exception needs no other reader.
    if not task.cancelled():
        task.exception()


class MqttNotifier:
    """Publishes notifications to an MQTT broker over one kept-open connection."""

    name = "mqtt"

    def __init__(self, host: str, port: int = 1883, *, topic: str, qos: int = 1,
                 retain: bool = False, username: str | None = None,
                 password: str | None = None, client_id: str | None = None,
                 tls: bool | ssl.SSLContext = False, keepalive: int = 60,
                 timeout: float = 10.0, send_resolved: bool = True, external_url: str = "",
                 max_alerts: int = 0) -> None:
        if qos not in (0, 1, 2):
            raise ValueError(f"mqtt qos must be 0, 1 or 2, got {qos!r}")
        if not 0 < port < 65536:
            raise ValueError(f"mqtt port must be 1..65535, got {port}")
        self.topic = TopicTemplate(topic)
        self.host = host
        self.port = port
        self.qos = qos
        self.retain = retain
        self.username = username
        self._password = password
        self.client_id = client_id
        self._tls = tls
        self.keepalive = max(1, keepalive)
        self.timeout = timeout
        self.send_resolved = send_resolved
        self.external_url = external_url
        self.max_alerts = max_alerts
        self._connection: _Connection | None = None
        self._connecting = asyncio.Lock()

    @property
    def _where(self) -> str:
        return f"mqtt broker {self.host}:{self.port}"

    async def notify(self, notification: Notification, reason: str = "") -> str:
        body = payload(notification, external_url=self.external_url, reason=reason,
                       max_alerts=self.max_alerts)
        topic = self._render(notification, body)
        connection = await self._connect()
        await self._publish(connection, topic, encode(body))
        return "published"

    def preview(self, notification: Notification, reason: str = "") -> dict[str, Any]:
        """The topic and payload a notification would be published with."""
        body = payload(notification, external_url=self.external_url, reason=reason,
                       max_alerts=self.max_alerts)
        return {"topic": self._render(notification, body), "qos": self.qos,
                "retain": self.retain, "payload": body}

    def _render(self, notification: Notification, body: dict[str, Any]) -> str:
        return self.topic.render(body["commonLabels"], dict(notification.group_labels),
                                 body["status"], notification.receiver)

    async def _connect(self) -> _Connection:
        # Concurrent notifications wait for one connection rather than each making one.
        async with self._connecting:
            connection = self._connection
            if connection is not None and connection.alive:
                return connection
            if connection is not None:
                await self._drop(connection)
            self._connection = await self._open()
            return self._connection

    async def _open(self) -> _Connection:
        # A fresh client per connection: aiomqtt 2.x keeps the futures of a connection that
        # dropped, and it must be made inside the running loop.
        client = aiomqtt.Client(
            self.host, self.port, username=self.username, password=self._password,
            identifier=self.client_id, keepalive=self.keepalive, timeout=self.timeout,
            tls_context=self._tls_context(), logger=_client_log)
        exit_stack = contextlib.AsyncExitStack()
        try:
            await exit_stack.enter_async_context(client)
        except aiomqtt.MqttError as exc:
            raise NotifyError(f"{self._where} unreachable: {_describe(exc)}",
                              retryable=not _refused_credentials(exc)) from exc
        log.info("connected to %s", self._where)
        return _Connection(client, exit_stack)

    def _tls_context(self) -> ssl.SSLContext | None:
        if isinstance(self._tls, ssl.SSLContext):
            return self._tls
        return ssl.create_default_context() if self._tls else None

    async def _publish(self, connection: _Connection, topic: str, body: bytes) -> None:
        publish = asyncio.ensure_future(connection.client.publish(
            topic, body, qos=self.qos, retain=self.retain, timeout=self.timeout))
        try:
            await asyncio.wait((publish, connection.watcher),
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not publish.done():  # the connection dropped first, or notify was cancelled
                publish.cancel()
        if not publish.done():
            await self._drop(connection)
            raise NotifyError(f"{self._where} disconnected before acknowledging the message "
                              "(it may have arrived)", retryable=True, ambiguous=True)
        exc = publish.exception()
        if exc is None:
            return
        await self._drop(connection)
        if isinstance(exc, aiomqtt.MqttCodeError):  # refused before anything was sent
            raise NotifyError(f"{self._where}: publishing failed: {_describe(exc)}",
                              retryable=True) from exc
        if isinstance(exc, aiomqtt.MqttError):  # sent, then no acknowledgement in time
            raise NotifyError(f"{self._where}: no acknowledgement within {self.timeout:g}s "
                              "(the message may have arrived)", retryable=True,
                              ambiguous=True) from exc
        raise exc

    async def _drop(self, connection: _Connection) -> None:
        # Only the current connection is forgotten: a concurrent notification may already
        # have replaced it.
        if self._connection is connection:
            self._connection = None
            log.info("disconnected from %s", self._where)
        await connection.close()

    async def close(self) -> None:
        async with self._connecting:
            connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()


def from_config(c: MqttReceiverConfig, services: Services, where: Where) -> MqttNotifier:
    """The notifier of an `mqtt_configs` item (its URL checked by the config already)."""
    host, port = mqtt_host_port(c.url)
    return MqttNotifier(host=host, port=port, topic=c.topic, qos=c.qos, retain=c.retain,
                        send_resolved=c.send_resolved, username=c.username,
                        password=maybe_secret(c.password, c.password_file),
                        client_id=c.client_id, tls=c.url.startswith("mqtts://"),
                        timeout=c.timeout, external_url=services.external_url)


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return text if text else type(exc).__name__


def _refused_credentials(exc: aiomqtt.MqttError) -> bool:
    rc = getattr(exc, "rc", None)
    value = getattr(rc, "value", rc)
    return isinstance(value, int) and value in _REFUSED_CREDENTIALS
