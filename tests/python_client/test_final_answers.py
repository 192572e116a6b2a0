"""What is never retried: an answer that says the request itself is refused (400, 401,
403, 404, 409, 422) or that the server failed on it (500), even with a Retry-After,
is raised after one attempt by the sync and the async client alike; a purchase the
server refused is not sent again.

The fixtures (tests/python_client/conftest.py) serve the app on fakeredis with a fixed
clock behind werkzeug on a loopback port, through tests.python_client.gate.Gate.
"""

from __future__ import annotations

import asyncio

import pytest
from questboard_client import (
    AsyncQuestboard,
    Forbidden,
    IdempotencyKeyReused,
    InsufficientFunds,
    InternalError,
    NotFound,
    Unauthorized,
    ValidationError,
)

from tests.conftest import SERVER_KEY

FINAL = [
    (400, "validation_error", ValidationError),
    (401, "unauthorized", Unauthorized),
    (403, "forbidden", Forbidden),
    (404, "not_found", NotFound),
    (409, "insufficient_funds", InsufficientFunds),
    (422, "idempotency_key_reused", IdempotencyKeyReused),
    (500, "internal_error", InternalError),
]


@pytest.mark.parametrize(("status", "code", "cls"), FINAL, ids=[code for _, code, _ in FINAL])
def test_a_final_answer_is_raised_after_one_attempt(qb, base_url, gate, sleeps, status, code, cls):
    gate.fail_next(1, status=status, code=code, retry_after="0")

    with pytest.raises(cls) as refused:
        qb.purchase("alice", "logs")

    assert (refused.value.status, refused.value.code) == (status, code)
    assert (len(gate.seen), sleeps) == (1, [])

    async def purchase() -> None:
        async with AsyncQuestboard(base_url, SERVER_KEY) as client:
            await client.purchase("alice", "logs")

    gate.fail_next(1, status=status, code=code, retry_after="0")
    with pytest.raises(cls):
        asyncio.run(purchase())
    assert len(gate.seen) == 2


def test_the_servers_own_refusal_is_not_sent_again(qb, gate, sleeps):
    with pytest.raises(InsufficientFunds):
        qb.purchase("alice", "steel", 2, idempotency_key="order-1")
    with pytest.raises(IdempotencyKeyReused):
        qb.purchase("alice", "steel", 3, idempotency_key="order-1")

    assert gate.keys() == ["order-1", "order-1"]
    assert sleeps == []
