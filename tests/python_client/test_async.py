"""The Python client's async client against the same server.

The fixtures (tests/python_client/conftest.py) serve the app on fakeredis with a fixed
clock behind werkzeug on a loopback port, through tests.python_client.gate.Gate.
"""

from __future__ import annotations

import asyncio

import pytest
from questboard_client import (
    AsyncQuestboard,
    InsufficientFunds,
    RetryPolicy,
)

from tests.conftest import ADMIN_KEY, SERVER_KEY
from tests.python_client.gate import EMPTY, cap_jitter


def test_the_async_client_on_the_same_server(base_url, gate):
    async def session() -> None:
        waits: list[float] = []

        async def wait(seconds: float) -> None:
            waits.append(seconds)

        admin = AsyncQuestboard(base_url, ADMIN_KEY)
        qb = AsyncQuestboard(base_url, SERVER_KEY, retry=RetryPolicy(jitter=cap_jitter), sleep=wait)
        async with admin, qb:
            granted = await admin.grant("alice", {"coins": 500}, "welcome", idempotency_key="w")
            assert granted.balances == EMPTY | {"coins": 500}
            gate.fail_next(1, status=503, retry_after="0")
            gate.lose_next_answer()

            bought = await qb.purchase("alice", "bricks", 5)

            assert waits == [0.1, 0.2]
            purchase_keys = [key for _, path, _, key in gate.seen if path.endswith("/purchases")]
            assert len(purchase_keys) == 3 and len(set(purchase_keys)) == 1
            assert bought.replayed is True
            assert (await qb.wallet("alice")).balances == bought.balances
            entries = [entry async for entry in qb.ledger("alice", page_size=1)]
            assert [entry.kind for entry in entries] == [
                "mission_reward",
                "purchase",
                "login_bonus",
                "grant",
            ]
            summary = await qb.record_exam("alice", "a-1", "math", 70, 10, 7)
            assert summary.boards[0].rank == 1
            page = await qb.leaderboard("weekly")
            assert [(e.player_id, e.score) for e in page.entries] == [("alice", 70)]
            with pytest.raises(InsufficientFunds) as refused:
                await qb.purchase("alice", "steel", 100)
            assert refused.value.details["required"] == 5000
            assert (await qb.tool_of_the_day()).tool == "concrete"
            assert (await qb.put_settings("alice", "Asia/Tokyo")).timezone == "Asia/Tokyo"
            assert (await qb.get_settings("alice")).timezone == "Asia/Tokyo"

    asyncio.run(session())
