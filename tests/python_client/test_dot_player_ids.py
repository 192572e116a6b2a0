"""Player ids made of dots alone ("." and "..", valid ids of the API) reach their own
player: an HTTP client resolves such a path segment as the current or parent folder,
so the client writes their dots as %2E.

The fixtures (tests/python_client/conftest.py) serve the app on fakeredis with a fixed
clock behind werkzeug on a loopback port, through tests.python_client.gate.Gate.
"""

from __future__ import annotations

import asyncio

import pytest
from questboard_client import AsyncQuestboard

from tests.conftest import SERVER_KEY
from tests.python_client.gate import EMPTY


@pytest.mark.parametrize("player_id", [".", ".."])
def test_a_player_named_with_dots_alone_is_served_as_that_player(qb, admin, base_url, player_id):
    granted = admin.grant(player_id, {"coins": 100}, "welcome")
    bought = qb.purchase(player_id, "logs", 2)
    qb.record_exam(player_id, "attempt-1", "math", 80, 10, 8)

    assert granted.balances == EMPTY | {"coins": 100}
    assert bought.balances["logs"] == 2 + 1  # two bought, one from the login bonus
    assert qb.wallet(player_id).player_id == player_id
    assert qb.around_me("weekly", player_id).entry.player_id == player_id
    assert [entry.kind for entry in qb.ledger(player_id)].count("purchase") == 1

    async def wallet() -> str:
        async with AsyncQuestboard(base_url, SERVER_KEY) as client:
            return (await client.wallet(player_id)).player_id

    assert asyncio.run(wallet()) == player_id
    assert qb.wallet("alice").balances == EMPTY  # nobody else was paid
