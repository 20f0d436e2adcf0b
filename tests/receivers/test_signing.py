"""Standard Webhooks signatures: the spec's test vector, the reference library, rejections."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest

from alertd.receivers.signing import check_secret, headers, sign, verify

# The test vector of the Standard Webhooks specification.
SECRET = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
MSG_ID = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
TIMESTAMP = 1674087231
BODY = b'{"type":"alert.fired","timestamp":"2023-01-19T00:13:51Z","data":{"id":"a1"}}'
SIGNATURE = "v1,nCKavlKh1jtDES8N4Lsu/op/Wyv+0eW54yrrU7h1gMg="

OTHER_SECRET = "whsec_" + base64.b64encode(b"another key, thirty-two bytes!!!").decode()


def test_the_spec_test_vector() -> None:
    assert sign(SECRET, MSG_ID, TIMESTAMP, BODY) == SIGNATURE


def test_a_secret_without_prefix_or_padding_is_the_same_key() -> None:
    bare = SECRET.removeprefix("whsec_")
    assert sign(bare, MSG_ID, TIMESTAMP, BODY) == SIGNATURE
    assert sign(bare.rstrip("="), MSG_ID, TIMESTAMP, BODY) == SIGNATURE


@pytest.mark.parametrize("secret", ["whsec_not base64!", "whsec_", "", "whsec_a$b="])
def test_a_malformed_secret_is_rejected_without_repeating_it(secret: str) -> None:
    with pytest.raises(ValueError, match="secret") as caught:
        check_secret(secret)
    if secret.removeprefix("whsec_"):
        assert secret.removeprefix("whsec_") not in str(caught.value)
    with pytest.raises(ValueError):
        sign(secret, MSG_ID, TIMESTAMP, BODY)


def test_headers_and_verify_round_trip() -> None:
    sent = headers([SECRET], MSG_ID, TIMESTAMP, BODY)
    assert sent == {"webhook-id": MSG_ID, "webhook-timestamp": str(TIMESTAMP),
                    "webhook-signature": SIGNATURE}
    assert verify(SECRET, sent, BODY, now=TIMESTAMP + 10)
    # Header names are case-insensitive in HTTP.
    assert verify(SECRET, {k.title(): v for k, v in sent.items()}, BODY, now=TIMESTAMP)


def test_a_tampered_body_or_id_does_not_verify() -> None:
    sent = headers([SECRET], MSG_ID, TIMESTAMP, BODY)
    assert not verify(SECRET, sent, BODY.replace(b"a1", b"a2"), now=TIMESTAMP)
    assert not verify(SECRET, {**sent, "webhook-id": "msg_other"}, BODY, now=TIMESTAMP)
    assert not verify(OTHER_SECRET, sent, BODY, now=TIMESTAMP)


def test_a_timestamp_outside_the_tolerance_does_not_verify() -> None:
    sent = headers([SECRET], MSG_ID, TIMESTAMP, BODY)
    assert verify(SECRET, sent, BODY, now=TIMESTAMP + 300)
    assert not verify(SECRET, sent, BODY, now=TIMESTAMP + 301)  # stale: a replay
    assert not verify(SECRET, sent, BODY, now=TIMESTAMP - 301)  # from the future
    assert verify(SECRET, sent, BODY, now=TIMESTAMP + 3000, tolerance=3600)
    # The timestamp is signed: moving it forward breaks the signature.
    moved = {**sent, "webhook-timestamp": str(TIMESTAMP + 1000)}
    assert not verify(SECRET, moved, BODY, now=TIMESTAMP + 1000)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_headers_do_not_verify(missing: str) -> None:
    sent = headers([SECRET], MSG_ID, TIMESTAMP, BODY)
    del sent[missing]
    assert not verify(SECRET, sent, BODY, now=TIMESTAMP)


@pytest.mark.parametrize("timestamp", ["", "abc", "1674087231.5", "-1674087231", "١٢٣"])
def test_an_unreadable_timestamp_does_not_verify(timestamp: str) -> None:
    sent = {**headers([SECRET], MSG_ID, TIMESTAMP, BODY), "webhook-timestamp": timestamp}
    assert not verify(SECRET, sent, BODY, now=TIMESTAMP)


def test_rotation_signs_with_every_secret() -> None:
    sent = headers([SECRET, OTHER_SECRET], MSG_ID, TIMESTAMP, BODY)
    signatures = sent["webhook-signature"].split(" ")
    assert signatures == [SIGNATURE, sign(OTHER_SECRET, MSG_ID, TIMESTAMP, BODY)]
    # A receiver that knows either secret accepts the delivery.
    assert verify(SECRET, sent, BODY, now=TIMESTAMP)
    assert verify(OTHER_SECRET, sent, BODY, now=TIMESTAMP)
    # Only a v1 signature counts.
    other_version = {**sent, "webhook-signature": SIGNATURE.replace("v1,", "v2,")}
    assert not verify(SECRET, other_version, BODY, now=TIMESTAMP)


def test_signing_needs_a_secret() -> None:
    with pytest.raises(ValueError, match="at least one secret"):
        headers([], MSG_ID, TIMESTAMP, BODY)


def test_the_reference_library_verifies_what_alertd_signs() -> None:
    # The dev extra installs it: missing, this is a failure, not a skip.
    import standardwebhooks
    now = int(time.time())  # the library checks the timestamp against the wall clock
    sent = headers([OTHER_SECRET, SECRET], MSG_ID, now, BODY)
    assert standardwebhooks.Webhook(SECRET).verify(BODY, sent) == {
        "type": "alert.fired", "timestamp": "2023-01-19T00:13:51Z", "data": {"id": "a1"}}
    # And alertd verifies what the library signs.
    signed_at = datetime.fromtimestamp(now, UTC)
    theirs = standardwebhooks.Webhook(SECRET).sign(MSG_ID, signed_at, BODY.decode())
    assert verify(SECRET, {"webhook-id": MSG_ID, "webhook-timestamp": str(now),
                           "webhook-signature": theirs}, BODY, now=now)
