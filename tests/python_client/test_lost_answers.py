"""A state-changing call whose answer is lost after the server applied it: the client's
retry sends the same Idempotency-Key (an exam: the same exam_id), is answered from the
first outcome, and nothing is applied twice, in the sync and the async client alike.

The answer is dropped by a transport that sends each request to the server for real,
reads the server's whole answer, and then raises what a timed-out or cut connection
raises, so the first attempt did change the store. The fixtures
(tests/python_client/conftest.py) serve the app on fakeredis with a fixed clock behind
werkzeug on a loopback port, through tests.python_client.gate.Gate.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import httpx
import pytest
from questboard_client import AsyncQuestboard, Questboard, RetryPolicy

from engine.rules.progression import StreakRepair as RepairRules
from tests.conftest import ADMIN_KEY

LOST = [httpx.ReadTimeout, httpx.RemoteProtocolError]
NO_WAIT = RetryPolicy(jitter=lambda low, high: 0.0)


class LoseAnswers(httpx.BaseTransport):
    """Sends for real; the first `lose` answers are read, then lost."""

    def __init__(self, error: type[httpx.TransportError]) -> None:
        self.error = error
        self.lose = 0
        self.real = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.real.handle_request(request)
        if self.lose:
            self.lose -= 1
            response.read()
            response.close()
            raise self.error("the answer was lost", request=request)
        return response

    def close(self) -> None:
        self.real.close()


class LoseAnswersAsync(httpx.AsyncBaseTransport):
    def __init__(self, error: type[httpx.TransportError]) -> None:
        self.error = error
        self.lose = 0
        self.real = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.real.handle_async_request(request)
        if self.lose:
            self.lose -= 1
            await response.aread()
            await response.aclose()
            raise self.error("the answer was lost", request=request)
        return response

    async def aclose(self) -> None:
        await self.real.aclose()


@pytest.fixture
def broken_streak(app, clock, admin):
    """alice with 1,000 coins and a three-day streak broken yesterday, repair on."""
    engine = app.extensions["questboard.engine"]
    engine.rules = replace(
        engine.rules, streak_repair=RepairRules("coins", base=50, per_day=10, max_price=500)
    )
    for _ in range(3):
        admin.login("alice")
        clock.advance(days=1)
    clock.advance(days=1)
    admin.login("alice")
    admin.grant("alice", {"coins": 1000}, "welcome")


CALLS = {
    "purchase": lambda qb: qb.purchase("alice", "logs", 2),
    "grant": lambda qb: qb.grant("alice", {"coins": 5}, "gift"),
    "ad_reward": lambda qb: qb.ad_reward("alice"),
    "repair_streak": lambda qb: qb.repair_streak("alice"),
    "record_exam": lambda qb: qb.record_exam("alice", "attempt-1", "math", 50, 10, 5),
}


def applied(client: Questboard) -> dict[str, Any]:
    """What the calls above have changed, read back through the API."""
    kinds = [entry.kind for entry in client.ledger("alice")]
    return {
        "ledger": {kind: kinds.count(kind) for kind in sorted(set(kinds))},
        "ads": client.daily("alice").ads_watched,
        "streak": client.daily("alice").streak,
        "exams": client.leaderboard("weekly").entries[0].exams,
    }


@pytest.mark.parametrize("error", LOST, ids=["timed-out", "cut-off"])
def test_each_call_whose_answer_was_lost_is_applied_once(
    base_url, gate, broken_streak, admin, error
):
    transport = LoseAnswers(error)
    with Questboard(
        base_url, ADMIN_KEY, retry=NO_WAIT, transport=transport, sleep=lambda s: None
    ) as qb:
        firsts = {}
        for name, call in CALLS.items():
            transport.lose = 1
            firsts[name] = call(qb)
            sent = gate.keys()[-2:]
            assert sent[0] == sent[1] and sent[0] is not None, name
            assert firsts[name].replayed is True, name

    after = applied(admin)
    assert (after["ledger"]["purchase"], after["ledger"]["streak_repair"]) == (1, 1)
    assert (after["ledger"]["ad_reward"], after["ledger"]["grant"]) == (1, 2)  # welcome, gift
    assert (after["ads"], after["streak"], after["exams"]) == (1, 4, 1)


@pytest.mark.parametrize("error", LOST, ids=["timed-out", "cut-off"])
def test_the_async_client_applies_a_call_whose_answer_was_lost_once(
    base_url, gate, broken_streak, admin, error
):
    async def waits(seconds: float) -> None:
        return None

    async def session() -> dict[str, object]:
        transport = LoseAnswersAsync(error)
        async with AsyncQuestboard(
            base_url, ADMIN_KEY, retry=NO_WAIT, transport=transport, sleep=waits
        ) as qb:
            results = {}
            for name, call in {
                "purchase": qb.purchase("alice", "logs", 2),
                "grant": qb.grant("alice", {"coins": 5}, "gift"),
                "ad_reward": qb.ad_reward("alice"),
                "repair_streak": qb.repair_streak("alice"),
                "record_exam": qb.record_exam("alice", "attempt-1", "math", 50, 10, 5),
            }.items():
                transport.lose = 1
                results[name] = await call
                sent = gate.keys()[-2:]
                assert sent[0] == sent[1] and sent[0] is not None, name
            return results

    results = asyncio.run(session())

    assert all(result.replayed for result in results.values())
    after = applied(admin)
    assert (after["ledger"]["purchase"], after["ledger"]["streak_repair"]) == (1, 1)
    assert (after["ledger"]["ad_reward"], after["ledger"]["grant"]) == (1, 2)
    assert (after["ads"], after["streak"], after["exams"]) == (1, 4, 1)
