"""The Python client refuses a path parameter it cannot send as one segment: empty, or
holding a "/".

Such a player id is invalid (the API's ids match ^[A-Za-z0-9_.:-]{1,64}$, and any
other is 400 validation_error), but it never reached the player route: the client
quotes "/" as %2F, the web server decodes it back into PATH_INFO before routing, and an
empty id leaves an empty segment, so `wallet("team/alice")` or `wallet("")` raised
NotFound ("The requested URL was not found"), which reads as a missing player or route,
and a lift of ban "a/b" NotFound as if it had been lifted. Now `build` raises the
ValidationError the server gives any other bad id, naming the parameter, and sends
nothing (as for a URL too long to send).
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from questboard_client import AsyncQuestboard, Questboard, ValidationError

from tests.conftest import ADMIN_KEY, SERVER_KEY

BASE = "http://questboard.test"
UNSENDABLE = ["", "team/alice", "/", "a/", "/a"]


@pytest.fixture
def seen(app):
    """Every path the app was asked for, through the client's WSGI transport."""
    paths: list[str] = []

    def counting(environ, start_response):
        paths.append(environ["PATH_INFO"])
        return app(environ, start_response)

    return paths, counting


@pytest.mark.parametrize("player_id", UNSENDABLE)
def test_a_player_id_that_is_no_segment_is_refused_unsent(seen, player_id):
    paths, wsgi = seen
    transport = httpx.WSGITransport(app=wsgi)
    with Questboard(BASE, SERVER_KEY, transport=transport) as client:
        calls = [
            lambda: client.wallet(player_id),
            lambda: client.purchase(player_id, "logs", 1),
            lambda: client.login(player_id),
            lambda: client.around_me("weekly", player_id),
            lambda: client.record_exam(player_id, "e-1", "math", 10, 10, 5),
        ]
        for call in calls:
            with pytest.raises(ValidationError) as refused:
                call()
            assert refused.value.details == {"player_id": [refused.value.details["player_id"][0]]}
            assert "segment" in refused.value.message
    assert paths == []


@pytest.mark.parametrize("value", UNSENDABLE)
def test_every_path_parameter_is_held_to_it(seen, value):
    paths, wsgi = seen
    transport = httpx.WSGITransport(app=wsgi)
    with Questboard(BASE, ADMIN_KEY, transport=transport) as client:
        with pytest.raises(ValidationError) as ban:
            client.lift_ip_ban(value)
        assert list(ban.value.details) == ["ban_id"]
        with pytest.raises(ValidationError) as board:
            client.leaderboard(value)
        assert list(board.value.details) == ["period_type"]
        with pytest.raises(ValidationError) as cohort:
            client.league_cohort("2026-W48", value)
        assert list(cohort.value.details) == ["cohort_id"]
    assert paths == []


def test_the_async_client_refuses_it_too():
    async def wallet() -> None:
        async with AsyncQuestboard(BASE, SERVER_KEY, transport=AsyncRefusing()) as client:
            await client.wallet("team/alice")

    with pytest.raises(ValidationError):
        asyncio.run(wallet())  # AsyncRefusing fails the test on anything sent


class AsyncRefusing(httpx.AsyncBaseTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"sent {request.url}")


def test_a_valid_id_still_reaches_its_player(seen):
    paths, wsgi = seen
    transport = httpx.WSGITransport(app=wsgi)
    with Questboard(BASE, SERVER_KEY, transport=transport) as client:
        assert client.wallet("team.alice").player_id == "team.alice"
    assert paths == ["/v1/players/team.alice/wallet"]
