"""A login carries an Idempotency-Key, as every write does, so its result says whether
it was answered from the first outcome (`replayed`), as every write's result does.

A login whose answer was lost after the server claimed the day's bonus is retried with
the same key and answered the first answer (claimed, the bonus) with Idempotent-Replayed:
the caller learns that the bonus it reads was claimed by the attempt it never heard, and
nothing was claimed twice. The fixtures (tests/python_client/conftest.py) serve the app
on fakeredis with a fixed clock behind werkzeug, through tests.python_client.gate.Gate.
"""

from __future__ import annotations

import asyncio

import httpx
from questboard_client import AsyncQuestboard, Questboard

from tests.conftest import SERVER_KEY
from tests.python_client.test_lost_answers import NO_WAIT, LoseAnswers, LoseAnswersAsync


def bonuses(admin: Questboard, player_id: str) -> int:
    return [entry.kind for entry in admin.ledger(player_id)].count("login_bonus")


def test_a_first_login_is_not_a_replay(qb):
    login = qb.login("alice")

    assert (login.claimed, login.replayed) == (True, False)


def test_a_login_whose_answer_was_lost_is_answered_as_a_replay_of_its_claim(base_url, gate, admin):
    transport = LoseAnswers(httpx.ReadTimeout)
    with Questboard(
        base_url, SERVER_KEY, retry=NO_WAIT, transport=transport, sleep=lambda s: None
    ) as qb:
        transport.lose = 1
        login = qb.login("alice")

    first, retry = gate.keys()[-2:]
    assert first == retry and first is not None
    assert (login.claimed, login.streak, login.reward, login.replayed) == (
        True,
        1,
        {"logs": 1},
        True,
    )
    assert bonuses(admin, "alice") == 1


def test_the_async_login_whose_answer_was_lost_is_a_replay_too(base_url, admin):
    async def waits(seconds: float) -> None:
        return None

    async def session():
        transport = LoseAnswersAsync(httpx.RemoteProtocolError)
        async with AsyncQuestboard(
            base_url, SERVER_KEY, retry=NO_WAIT, transport=transport, sleep=waits
        ) as qb:
            transport.lose = 1
            return await qb.login("bob")

    login = asyncio.run(session())

    assert (login.claimed, login.replayed) == (True, True)
    assert bonuses(admin, "bob") == 1
