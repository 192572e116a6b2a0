"""The Python client's webhook signature checks, against the server's own signer
(engine.webhooks.delivery.signature_header); no server needed."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from questboard_client import (
    webhooks,
)

from engine.webhooks.delivery import signature_header
from engine.webhooks.events import Event

SECRET = "whsec_test"
BODY = b'{"type":"purchase.created","player_id":"alice"}'
SENT_AT = 1_795_000_000


def test_a_webhook_signed_with_the_secret_is_accepted():
    expected = hmac.new(SECRET.encode(), b"%d." % SENT_AT + BODY, hashlib.sha256).hexdigest()
    header = f"t={SENT_AT},v1={expected}"

    assert webhooks.sign(BODY, SECRET, SENT_AT) == header
    assert webhooks.verify(BODY, header, SECRET, now=SENT_AT + 299) is None
    assert webhooks.verify(BODY.decode(), header, SECRET.encode(), now=SENT_AT) is None


def test_a_webhook_with_a_bad_signature_or_a_changed_body_is_rejected():
    header = webhooks.sign(BODY, SECRET, SENT_AT)
    for body, signed, secret in [
        (BODY + b" ", header, SECRET),
        (BODY, header, "whsec_other"),
        (BODY, header.replace("v1=", "v1=0"), SECRET),
        (BODY, f"t={SENT_AT + 1}," + header.split(",")[1], SECRET),
        (BODY, f"t={SENT_AT}", SECRET),
        (BODY, header.split(",")[1], SECRET),
        (BODY, f"t=abc,{header.split(',')[1]}", SECRET),
        (BODY, "", SECRET),
        (BODY, None, SECRET),
    ]:
        with pytest.raises(webhooks.InvalidSignature):
            webhooks.verify(body, signed, secret, now=SENT_AT)


def test_a_webhook_older_than_the_tolerance_is_rejected():
    header = webhooks.sign(BODY, SECRET, SENT_AT)

    with pytest.raises(webhooks.InvalidSignature) as stale:
        webhooks.verify(BODY, header, SECRET, now=SENT_AT + 301)
    assert stale.value.details == {"timestamp": SENT_AT, "tolerance": 300}
    with pytest.raises(webhooks.InvalidSignature):
        webhooks.verify(BODY, header, SECRET, tolerance=60, now=SENT_AT + 61)
    assert webhooks.verify(BODY, header, SECRET, tolerance=60, now=SENT_AT + 60) is None


def test_during_a_secret_rotation_any_v1_signature_may_match():
    old = webhooks.signature(BODY, "whsec_old", SENT_AT)
    new = webhooks.signature(BODY, "whsec_new", SENT_AT)
    header = f"t={SENT_AT},v1={old},v1={new}"

    assert webhooks.verify(BODY, header, "whsec_old", now=SENT_AT) is None
    assert webhooks.verify(BODY, header, "whsec_new", now=SENT_AT) is None
    with pytest.raises(webhooks.InvalidSignature):
        webhooks.verify(BODY, header, "whsec_retired", now=SENT_AT)


def test_webhook_signatures_are_compared_in_constant_time(monkeypatch):
    compared: list[tuple[str, str]] = []
    real_compare_digest = hmac.compare_digest

    def compare_digest(a, b):
        compared.append((a, b))
        return real_compare_digest(a, b)

    monkeypatch.setattr(webhooks.hmac, "compare_digest", compare_digest)
    good = webhooks.signature(BODY, SECRET, SENT_AT)

    webhooks.verify(BODY, f"t={SENT_AT},v1={good},v1=00", SECRET, now=SENT_AT)

    expected = good.encode()
    assert compared == [(expected, expected), (expected, b"00")]  # every one, none with ==


@pytest.mark.parametrize(
    "candidate",
    ["\u00e9" * 64, "\uff10" * 64, "\udc80", "a\u0000b"],
    ids=["latin-1", "fullwidth-digits", "lone-surrogate", "nul"],
)
def test_a_signature_of_other_characters_than_ascii_is_an_invalid_signature(candidate):
    good = webhooks.signature(BODY, SECRET, SENT_AT)

    with pytest.raises(webhooks.InvalidSignature):
        webhooks.verify(BODY, f"t={SENT_AT},v1={candidate}", SECRET, now=SENT_AT)
    header = f"t={SENT_AT},v1={candidate},v1={good}"  # a rotation's second value matches
    assert webhooks.verify(BODY, header, SECRET, now=SENT_AT) is None


def test_the_servers_own_signatures_verify_on_the_raw_body_during_a_rotation():
    event = Event("evt_1", "purchase.completed", "alice", SENT_AT * 1000, {"caf\u00e9": 1})
    body = event.body()
    header = signature_header(body, ["whsec_new", "whsec_old"], SENT_AT)

    for secret in ("whsec_new", "whsec_old"):
        assert webhooks.verify(body, header, secret, now=SENT_AT + 300) is None
    reserialized = json.dumps(json.loads(body)).encode()  # not the bytes that were signed
    with pytest.raises(webhooks.InvalidSignature):
        webhooks.verify(reserialized, header, "whsec_new", now=SENT_AT)
    with pytest.raises(webhooks.InvalidSignature):
        webhooks.verify(body, header, "whsec_new", now=SENT_AT + 301)
