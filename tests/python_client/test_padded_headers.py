"""A header value with a space or tab at either end cannot be sent as given: HTTP strips
such whitespace around a field value, and httpx (h11) refuses to send one with a
LocalProtocolError, a TransportError. The client refuses it as a ValidationError naming
the header, before anything is sent and without retries, as it refuses other values a
header cannot carry, not as a "connection error" after retrying for its whole deadline.
An exam_id so padded is not sent as the Idempotency-Key (the call's own key is); the
server refuses it in the body (400, details.exam_id).

The fixtures (tests/python_client/conftest.py) serve the app on fakeredis with a fixed
clock behind werkzeug on a loopback port, through tests.python_client.gate.Gate.
"""

from __future__ import annotations

import asyncio

import pytest
from questboard_client import AsyncQuestboard, ValidationError

from tests.conftest import SERVER_KEY

PADDED = [" order-1", "order-1 ", " ", "order-1\t"]


@pytest.mark.parametrize("key", PADDED)
def test_an_idempotency_key_with_whitespace_at_an_end_is_refused_unsent(qb, gate, sleeps, key):
    with pytest.raises(ValidationError) as refused:
        qb.purchase("alice", "logs", idempotency_key=key)

    assert list(refused.value.details) == ["Idempotency-Key"]
    assert refused.value.status is None
    assert (gate.seen, sleeps) == ([], [])


@pytest.mark.parametrize("address", [" 203.0.113.9", "203.0.113.9 "])
def test_a_player_address_with_whitespace_at_an_end_is_refused_unsent(qb, gate, sleeps, address):
    with pytest.raises(ValidationError) as refused:
        qb.wallet("alice", player_ip=address)

    assert refused.value.details == {"X-Player-IP": ["Must be an IPv4 or IPv6 address."]}
    assert (gate.seen, sleeps) == ([], [])


def test_the_async_client_refuses_a_padded_key_unsent(base_url, gate):
    async def waits(seconds: float) -> None:
        raise AssertionError("no retry is due")

    async def session() -> None:
        async with AsyncQuestboard(base_url, SERVER_KEY, sleep=waits) as qb:
            await qb.ad_reward("alice", idempotency_key="ad-1 ")

    with pytest.raises(ValidationError):
        asyncio.run(session())
    assert gate.seen == []


def test_a_padded_exam_id_is_refused_by_the_server_in_the_body(qb, gate, sleeps):
    with pytest.raises(ValidationError) as refused:
        qb.record_exam("alice", " attempt-1", "math", 50, 10, 5)

    assert refused.value.status == 400
    assert list(refused.value.details) == ["exam_id"]
    [key] = gate.keys()  # one request, with a key made for the call
    assert key is not None and key.startswith("qb-")
    assert sleeps == []
