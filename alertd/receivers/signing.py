"""Standard Webhooks signatures (https://www.standardwebhooks.com, v1) for outbound webhooks.

A delivery carries three headers:

    webhook-id: msg_...                 the same for every retry of one notification
    webhook-timestamp: 1674087231       unix seconds when this attempt was sent
    webhook-signature: v1,<base64> ...  one signature per secret, separated by spaces

Each signature is base64(HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{body}")) over the
exact body bytes. The key is the base64 decoding of the secret after its `whsec_` prefix.

A receiver checks a delivery with `verify` (or any Standard Webhooks library) on the raw body,
before parsing it: it rejects wrong signatures and timestamps more than five minutes away
from its own clock, and can drop repeats by `webhook-id`. Several secrets give
several signatures, so a secret can be replaced without losing deliveries: sign with old
and new, update the receiver, then remove the old one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping, Sequence

__all__ = ["PREFIX", "check_secret", "headers", "sign", "verify"]

PREFIX = "whsec_"
VERSION = "v1"
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"


def _key(secret: str) -> bytes:
    """The HMAC key of a secret; the error never repeats the secret, which ends up in logs."""
    encoded = secret.removeprefix(PREFIX).strip()
    # Some generators drop base64 padding; the reference libraries accept that too.
    encoded += "=" * (-len(encoded) % 4)
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f'a webhook signing secret must be "{PREFIX}" followed by base64 '
                         "(e.g. from `openssl rand -base64 32`); this one is not valid "
                         "base64") from None
    if not key:
        raise ValueError("a webhook signing secret must not be empty")
    return key


def check_secret(secret: str) -> None:
    """Raises ValueError if `secret` cannot sign (for the configuration to reject it early)."""
    _key(secret)


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The signature "v1,<base64>" of one delivery. Raises ValueError for a malformed secret."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    mac = hmac.new(_key(secret), content, hashlib.sha256).digest()
    return f"{VERSION},{base64.b64encode(mac).decode('ascii')}"


def headers(secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers, with one signature per secret."""
    if not secrets:
        raise ValueError("signing needs at least one secret")
    return {
        ID_HEADER: msg_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: " ".join(sign(s, msg_id, timestamp, body) for s in secrets),
    }


def verify(secret: str, headers: Mapping[str, str], body: bytes, *, now: float,
           tolerance: float = 300) -> bool:
    """Whether `body` with `headers` was signed with `secret` within `tolerance` seconds of
    `now`. Header names are matched case-insensitively. Raises ValueError for a malformed
    secret (a configuration error, not a bad delivery)."""
    check_secret(secret)  # before the request is looked at: a bad secret must always raise
    found = {k.lower(): v for k, v in headers.items()}
    msg_id = found.get(ID_HEADER, "")
    timestamp = _timestamp(found.get(TIMESTAMP_HEADER, ""))
    if not msg_id or timestamp is None or abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, msg_id, timestamp, body).encode("ascii")
    offered = found.get(SIGNATURE_HEADER, "").split()
    # Every candidate is compared, so the time taken does not say which one matched.
    matches = [hmac.compare_digest(expected, s.encode("utf-8", "replace")) for s in offered]
    return any(matches)


def _timestamp(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.isascii() and value.isdigit() else None
