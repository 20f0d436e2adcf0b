"""The webhook receiver: Alertmanager's webhook payload (version 4), POSTed as JSON.

The payload has every field of Alertmanager's, plus `owner` (top level: the owner all alerts
share, else "") and, per alert, `owner` and `runbook_url` ("" when absent), so a receiver
need not know alertd's label and annotation names.

With signing secrets, each delivery is signed as Standard Webhooks says (see
`alertd.receivers.signing`); its `webhook-id` is the same for every attempt to deliver one
notification, so a receiver can drop repeats.
"""

from __future__ import annotations

import base64
import hashlib
import json
import ssl
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import orjson

from alertd import __version__
from alertd.alerts.model import Alert
from alertd.config.types import read_file
from alertd.errors import ConfigError
from alertd.receivers import Notification, common, http, signing
from alertd.receivers.services import Services, Where, maybe_secret, secret
from alertd.receivers.transport import Pool
from alertd.timefmt import rfc3339

if TYPE_CHECKING:
    from alertd.config.http import HTTPConfig
    from alertd.config.receivers import WebhookConfig

ZERO_TIME = "0001-01-01T00:00:00Z"  # Alertmanager's endsAt for a firing alert


def payload(n: Notification, *, external_url: str, reason: str = "",
            max_alerts: int = 0) -> dict[str, Any]:
    alerts = list(n.alerts)
    truncated = 0
    if max_alerts and len(alerts) > max_alerts:
        truncated = len(alerts) - max_alerts
        alerts = alerts[:max_alerts]
    firing = any(not a.resolved(n.now) for a in n.alerts)
    common_labels = common([a.labels for a in n.alerts])
    return {
        "version": "4",
        "groupKey": n.group_key,
        "truncatedAlerts": truncated,
        "status": "firing" if firing else "resolved",
        "receiver": n.receiver,
        "groupLabels": n.group_labels.to_dict(),
        "commonLabels": common_labels,
        "commonAnnotations": common([a.annotations for a in n.alerts]),
        "externalURL": external_url,
        "notification_reason": reason,
        "alerts": [_alert(a, n.now) for a in alerts],
        "owner": common_labels.get("owner", ""),  # the owner every alert has, else ""
    }


def _alert(alert: Alert, now: float) -> dict[str, Any]:
    resolved = alert.resolved(now)
    return {
        "status": "resolved" if resolved else "firing",
        "labels": alert.labels.to_dict(),
        "annotations": dict(alert.annotations),
        "startsAt": rfc3339(alert.starts_at),
        "endsAt": rfc3339(alert.ends_at) if resolved else ZERO_TIME,
        "generatorURL": alert.generator_url,
        "fingerprint": alert.fingerprint,
        "owner": alert.labels.get("owner", ""),
        "runbook_url": alert.annotations.get("runbook_url", ""),
    }



def encode(body: Mapping[str, Any]) -> bytes:
    """The bytes sent: serialized once, so that the signature covers exactly what is sent."""
    return orjson.dumps(body)


def delivery_id(n: Notification) -> str:
    """The webhook-id of a notification: the same for every attempt to deliver it, different
    for the next flush of the group. The outbox's id when it gave one; else derived from the
    group, the receiver and the flush time kept with the notification."""
    if n.delivery_id:
        return n.delivery_id
    key = json.dumps([n.group_key, n.receiver, n.now]).encode("utf-8")
    return "msg_" + hashlib.sha256(key).hexdigest()[:24]


class WebhookNotifier:
    """POSTs the payload to `url`; keeps one HTTP session (and its connections) until
    `close`. Errors are classified by `alertd.receivers.http`."""

    name = "webhook"

    def __init__(self, url: str, *, send_resolved: bool = True, max_alerts: int = 0,
                 external_url: str = "", timeout: float = 10.0,
                 headers: Mapping[str, str] | None = None,
                 signing_secrets: Sequence[str] = (), tls: ssl.SSLContext | None = None,
                 server_name: str | None = None, proxy: str | None = None) -> None:
        for key in signing_secrets:
            signing.check_secret(key)
        self.url = url
        self.send_resolved = send_resolved
        self.max_alerts = max_alerts
        self.external_url = external_url
        self.timeout = timeout
        self.headers = dict(headers or {})
        self.signing_secrets = tuple(signing_secrets)
        self.tls = tls
        self.server_name = server_name
        self.proxy = proxy
        self._session: Pool | None = None

    def preview(self, notification: Notification, reason: str = "") -> dict[str, Any]:
        """The body a notification would be POSTed with."""
        return payload(notification, external_url=self.external_url, reason=reason,
                       max_alerts=self.max_alerts)

    async def notify(self, notification: Notification, reason: str = "") -> str:
        body = encode(payload(notification, external_url=self.external_url, reason=reason,
                              max_alerts=self.max_alerts))
        status = await http.post(self._client(), self.url, body,
                                 self._headers(notification, body),
                                 timeout=self.timeout, what="webhook")
        return str(status)

    def _headers(self, notification: Notification, body: bytes) -> dict[str, str]:
        headers = {"User-Agent": f"alertd/{__version__}", "Content-Type": "application/json",
                   **self.headers}
        if self.signing_secrets:
            # The timestamp is the attempt's, from the wall clock: receivers compare it with
            # theirs, and a retry long after the flush must still be accepted.
            headers |= signing.headers(self.signing_secrets, delivery_id(notification),
                                       int(time.time()), body)
        return headers

    def _client(self) -> Pool:
        # Created on first use and then shared by every delivery, so that connections are
        # kept alive between them.
        if self._session is None:
            self._session = Pool(tls=self.tls, server_name=self.server_name, proxy=self.proxy)
        return self._session

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()


def from_config(c: WebhookConfig, services: Services, where: Where) -> WebhookNotifier:
    """The notifier of a `webhook_configs` item; raises ConfigError naming the key."""
    signing_secrets = _signing_secrets(c, where)
    http = c.http_config
    tls = http.tls_config if http is not None else None
    proxy = http.proxy_url if http is not None else None
    if proxy is not None and not proxy.startswith("http://"):
        raise ConfigError(f"{where.key}.http_config.proxy_url: the proxy of a webhook must be "
                          f"an http:// URL (the tunnel to an https:// receiver is TLS already)")
    return WebhookNotifier(secret(c.url, c.url_file), send_resolved=c.send_resolved,
                           max_alerts=c.max_alerts, external_url=services.external_url,
                           timeout=c.timeout, headers=auth_headers(http),
                           signing_secrets=signing_secrets,
                           tls=tls.ssl_context() if tls is not None else None,
                           server_name=tls.server_name if tls is not None else None,
                           proxy=proxy)


def _signing_secrets(c: WebhookConfig, where: Where) -> list[str]:
    secrets = [s.get_secret_value() for s in c.signing_secrets]
    for i, file in enumerate(c.signing_secret_files):
        try:
            value = read_file(file, ValueError).strip()
            signing.check_secret(value)
        except ValueError as exc:
            raise ConfigError(f"{where.key}.signing_secret_files[{i}]: {file}: {exc}") from None
        secrets.append(value)
    return secrets


def auth_headers(http: HTTPConfig | None) -> dict[str, str]:
    """The Authorization header an http_config asks for (bearer or basic)."""
    if http is None:
        return {}
    if http.authorization is not None:
        auth = http.authorization
        credentials = maybe_secret(auth.credentials, auth.credentials_file)
        return {"Authorization": f"{auth.type or 'Bearer'} {credentials}"} if credentials else {}
    token = maybe_secret(http.bearer_token, http.bearer_token_file)
    if token:
        return {"Authorization": f"Bearer {token}"}
    if http.basic_auth is not None:
        basic = http.basic_auth
        password = maybe_secret(basic.password, basic.password_file) or ""
        raw = base64.b64encode(f"{basic.username}:{password}".encode()).decode()
        return {"Authorization": f"Basic {raw}"}
    return {}
