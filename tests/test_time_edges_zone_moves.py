"""A player on the game calendar who sets a zone east of the game's keeps their streak:
a claim before the end of the game day after the one last claimed continues it, as a
claim made in a zone does before the end of the day after it there (README, Time zones;
lua/include/claim.lua, engine.progression.timezones)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

pytestmark = pytest.mark.app_on_both_backends  # the app on fakeredis and on Redis


def at(clock, text: str) -> None:
    clock.set(datetime.fromisoformat(text).replace(tzinfo=UTC))


def login(client, headers) -> tuple[bool, int, int]:
    answer = client.post("/v1/players/lena/login", headers=headers).get_json()
    return answer["claimed"], answer["streak"], answer["progress"]["freezes_used"]


def daily_login(client, headers) -> dict:
    return client.get("/v1/players/lena/daily", headers=headers).get_json()["login"]


def play_two_days_then_fly_to_sydney(client, clock, headers) -> None:
    """lena claims the game days 24 and 25 January (UTC, reset 03:00), then at 18:20 UTC on
    the 25th sets Sydney (UTC+11), where it is already 05:20 on the 26th."""
    at(clock, "2027-01-24T13:50:00")
    assert login(client, headers) == (True, 1, 0)
    at(clock, "2027-01-25T13:50:00")
    assert login(client, headers) == (True, 2, 0)
    at(clock, "2027-01-25T18:20:00")
    moved = client.put(
        "/v1/players/lena/settings", headers=headers, json={"timezone": "Australia/Sydney"}
    )
    assert moved.status_code == 200


def test_a_claim_within_the_game_day_after_the_last_continues_the_streak(
    client, clock, server_headers
):
    """At 19:20 UTC on the 26th (06:20 on the 27th in Sydney: Sydney's 26th went by while
    her claim waited for the game day of the 25th to end, then unplayed) she has played
    on two game days running: her streak goes on to 3, and the day's state showed it
    alive before. Before, the claim made by the game calendar kept no end of the day
    after it, so the claim counted Sydney's 26th missed and restarted the streak at 1."""
    play_two_days_then_fly_to_sydney(client, clock, server_headers)
    at(clock, "2027-01-26T19:00:00")
    assert daily_login(client, server_headers) == {"claimed": False, "streak": 2}
    at(clock, "2027-01-26T19:20:00")
    assert login(client, server_headers) == (True, 3, 0)
    assert daily_login(client, server_headers) == {"claimed": True, "streak": 3}


def test_after_the_game_day_after_the_last_claim_the_missed_date_counts(
    client, clock, server_headers
):
    """Past the end of the game day after her last claim (03:00 UTC on the 27th) the
    date she left unplayed in Sydney is missed: without a freeze the streak restarts."""
    play_two_days_then_fly_to_sydney(client, clock, server_headers)
    at(clock, "2027-01-27T03:00:00")  # 14:00 on the 27th in Sydney
    assert daily_login(client, server_headers) == {"claimed": False, "streak": 0}
    assert login(client, server_headers) == (True, 1, 0)
