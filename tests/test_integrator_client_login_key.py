"""The Python client's `login` takes an `idempotency_key`, as the route does.

`POST /v1/players/{id}/login` reads an optional Idempotency-Key, and a login sent
again with it answers its first answer, the day's bonus included. The client sent a
key it made for each call, and its README tells a caller whose write ended in an
unknown outcome (a 500, retries run out) to send the call again with
`idempotency_key=error.idempotency_key`, but `login` took no such argument
(TypeError): a game server that lost a login's answer could only log in again and
hear `claimed: false`, never which bonus was paid. Both clients take it now.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from questboard_client import AsyncQuestboard, Questboard, QuestboardError

from tests.conftest import SERVER_KEY

BASE = "http://questboard.test"


class LosingFirstAnswer:
    """WSGI: every request reaches the app; the first answer is replaced by a 500, as
    when the app applied a write and its answer was lost on the way."""

    def __init__(self, app) -> None:
        self.app = app
        self.keys: list[str | None] = []

    def __call__(self, environ, start_response):
        self.keys.append(environ.get("HTTP_IDEMPOTENCY_KEY"))
        if len(self.keys) > 1:
            return self.app(environ, start_response)
        list(self.app(environ, lambda status, headers, exc_info=None: None))
        start_response("500 INTERNAL SERVER ERROR", [("Content-Type", "application/json")])
        return [b'{"error": {"code": "internal_error", "message": "lost", "details": {}}}']


@pytest.fixture
def gate(app):
    return LosingFirstAnswer(app)


def test_a_lost_login_sent_again_with_its_key_answers_the_bonus_it_paid(gate):
    with Questboard(BASE, SERVER_KEY, transport=httpx.WSGITransport(app=gate)) as client:
        with pytest.raises(QuestboardError) as lost:
            client.login("bob")
        assert lost.value.status == 500
        key = lost.value.idempotency_key
        assert key is not None and gate.keys == [key]

        again = client.login("bob", idempotency_key=key)
        later = client.login("bob")

    assert gate.keys[1] == key
    assert again.replayed is True
    assert again.claimed is True
    assert again.reward == {"logs": 1}
    assert again.progress.daily_bonus is not None
    assert later.claimed is False and later.replayed is False  # no second bonus


def test_the_callers_own_key_is_sent_on_both_clients(app):
    seen: list[str | None] = []

    def recording(environ, start_response):
        seen.append(environ.get("HTTP_IDEMPOTENCY_KEY"))
        return app(environ, start_response)

    with Questboard(BASE, SERVER_KEY, transport=httpx.WSGITransport(app=recording)) as client:
        first = client.login("cat", idempotency_key="session-cat-1")
        assert client.login("cat", idempotency_key="session-cat-1").replayed is True

    async def async_login() -> bool:
        async with AsyncQuestboard(BASE, SERVER_KEY, transport=AsyncRecording(seen)) as client:
            return (await client.login("cat", idempotency_key="session-cat-2")).claimed

    asyncio.run(async_login())
    assert first.claimed is True
    assert seen == ["session-cat-1", "session-cat-1", "session-cat-2"]


class AsyncRecording(httpx.AsyncBaseTransport):
    """Records the key and answers a login that claimed nothing."""

    def __init__(self, seen: list[str | None]) -> None:
        self.seen = seen

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request.headers.get("Idempotency-Key"))
        body = {
            "claimed": False,
            "streak": 1,
            "reward": {},
            "next_claim_at": "2026-11-26T03:00:00+00:00",
            "balances": {"coins": 0},
            "progress": {
                "daily_bonus": None,
                "missions": [],
                "xp": None,
                "level_rewards": [],
                "streak": 1,
                "freezes_used": 0,
            },
        }
        return httpx.Response(200, json=body)
