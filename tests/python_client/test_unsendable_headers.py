"""A header value HTTP cannot carry (other characters than ASCII, a line break) given
to the client: it is refused as a ValidationError naming the header, before anything
is sent and without retries, or, for an exam_id, left to the server to refuse in the
body, instead of a UnicodeEncodeError, or a retried "connection error".

The fixtures (tests/python_client/conftest.py) serve the app on fakeredis with a fixed
clock behind werkzeug on a loopback port, through tests.python_client.gate.Gate.
"""

from __future__ import annotations

import asyncio

import pytest
from questboard_client import AsyncQuestboard, ValidationError

from tests.conftest import SERVER_KEY


@pytest.mark.parametrize(
    "key",
    ["\u043a\u043b\u044e\u0447", "order-1\r\nX-Admin: yes", "a\u0000"],
    ids=["cyrillic", "line-break", "nul"],
)
def test_an_idempotency_key_http_cannot_carry_is_refused_unsent(qb, gate, sleeps, key):
    with pytest.raises(ValidationError) as refused:
        qb.purchase("alice", "logs", idempotency_key=key)

    assert list(refused.value.details) == ["Idempotency-Key"]
    assert refused.value.status is None
    assert (gate.seen, sleeps) == ([], [])


@pytest.mark.parametrize(
    "address", ["203.0.113.9\r\nX-Admin: yes", "\u0661.2.3.4"], ids=["line-break", "arabic-indic"]
)
def test_a_player_address_http_cannot_carry_is_refused_unsent(qb, gate, sleeps, address):
    with pytest.raises(ValidationError) as refused:
        qb.wallet("alice", player_ip=address)

    assert refused.value.details == {"X-Player-IP": ["Must be an IPv4 or IPv6 address."]}
    assert (gate.seen, sleeps) == ([], [])


def test_an_exam_id_of_other_characters_is_refused_by_the_server(qb, gate, base_url):
    with pytest.raises(ValidationError) as refused:
        qb.record_exam("alice", "attempt-\u00e9", "math", 80, 10, 8)

    assert (refused.value.status, list(refused.value.details)) == (400, ["exam_id"])
    assert len(gate.seen) == 1

    async def exam() -> None:
        async with AsyncQuestboard(base_url, SERVER_KEY) as client:
            await client.record_exam("alice", "attempt-\u00e9", "math", 80, 10, 8)

    with pytest.raises(ValidationError) as refused_async:
        asyncio.run(exam())
    assert refused_async.value.status == 400


def test_a_url_too_long_to_send_is_a_validation_error_unsent(qb, base_url, gate, sleeps):
    with pytest.raises(ValidationError) as refused:
        qb.wallet("a" * 70_000)

    assert refused.value.status is None
    assert (gate.seen, sleeps) == ([], [])

    async def wallet() -> None:
        async with AsyncQuestboard(base_url, SERVER_KEY) as client:
            await client.wallet("a" * 70_000)

    with pytest.raises(ValidationError):
        asyncio.run(wallet())
    assert gate.seen == []
