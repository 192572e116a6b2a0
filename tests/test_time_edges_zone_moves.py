"""A move east never breaks a streak by itself, nor shortens the time to buy it back: a
claim before the end of the day after the last one claimed, in the zone it was claimed
in (the game calendar's, for a claim made on it), continues the streak, and a streak
lost after a move is repairable for a day from that end (README, Time zones and Streak
repair; lua/include/claim.lua, engine.progression.timezones)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from engine.rules.progression import StreakRepair

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


@pytest.fixture
def repairs_on(app):
    engine = app.extensions["questboard.engine"]
    engine.rules = dataclasses.replace(
        engine.rules, streak_repair=StreakRepair("coins", base=50, per_day=10, max_price=500)
    )


def test_a_streak_lost_after_a_move_east_is_repairable_for_a_day_from_its_loss(
    client, clock, server_headers, admin_headers, repairs_on
):
    """Three days claimed in Pago Pago (UTC-11), then a move to Kiritimati (UTC+14): the
    streak holds until Pago Pago's day after the last claim ends (14:00 UTC on the 24th)
    and is lost then, so a claim at 14:30 offers the repair until 14:00 UTC on the 25th.
    Before, the window was counted from Kiritimati's days (its 24th began at 13:00 UTC on
    the 23rd), so it had closed an hour before the loss: no repair was ever offered
    (streak_not_repairable, reason none)."""
    at(clock, "2027-01-20T12:00:00")
    assert (
        client.put(
            "/v1/players/lena/settings",
            headers=server_headers,
            json={"timezone": "Pacific/Pago_Pago"},
        ).status_code
        == 200
    )
    for day in (20, 21, 22):  # 09:00 in Pago Pago
        at(clock, f"2027-01-{day}T20:00:00")
        assert login(client, server_headers)[:2] == (True, day - 19)
    granted = client.post(
        "/v1/admin/players/lena/grants",
        headers={**admin_headers, "Idempotency-Key": "g1"},
        json={"resources": {"coins": 100}, "reason": "for the repair"},
    )
    assert granted.status_code == 201
    client.put(
        "/v1/players/lena/settings", headers=server_headers, json={"timezone": "Pacific/Kiritimati"}
    )
    at(clock, "2027-01-24T14:30:00")  # 04:30 on the 25th in Kiritimati
    assert login(client, server_headers) == (True, 1, 0)
    offer = client.get("/v1/players/lena/daily", headers=server_headers).get_json()
    assert offer["streak_repair"] == {
        "lost": 3,
        "streak": 4,
        "price": {"coins": 80},
        "repair_by": "2027-01-25T14:00:00+00:00",
    }
    repaired = client.post(
        "/v1/players/lena/streak/repair", headers={**server_headers, "Idempotency-Key": "r1"}
    )
    assert (repaired.status_code, repaired.get_json()["streak"]) == (201, 4)


def test_a_streak_lost_after_leaving_the_game_calendar_is_repairable_for_a_day(
    client, clock, server_headers, repairs_on
):
    """The London-to-Sydney player who misses the game day after her last claim loses
    her streak when that game day ends (03:00 UTC on the 27th): the repair is offered
    until 03:00 UTC on the 28th, not 16:00 on the 27th (Sydney's day after)."""
    play_two_days_then_fly_to_sydney(client, clock, server_headers)
    at(clock, "2027-01-27T03:00:00")
    assert login(client, server_headers) == (True, 1, 0)
    offer = client.get("/v1/players/lena/daily", headers=server_headers).get_json()
    assert offer["streak_repair"]["repair_by"] == "2027-01-28T03:00:00+00:00"


def test_a_streak_lost_after_leaving_a_zone_is_repairable_for_a_day_from_its_loss(
    client, clock, server_headers, repairs_on
):
    """Claimed on the 22nd in Pago Pago (UTC-11), then back on the game calendar (UTC):
    the streak holds until Pago Pago's 23rd ends (14:00 UTC on the 24th), so the repair
    is offered until 14:00 UTC on the 25th (before: 03:00 on the 25th, from the game
    calendar's days)."""
    at(clock, "2027-01-21T12:00:00")
    client.put(
        "/v1/players/lena/settings", headers=server_headers, json={"timezone": "Pacific/Pago_Pago"}
    )
    for day in (21, 22):
        at(clock, f"2027-01-{day}T20:00:00")
        assert login(client, server_headers)[:2] == (True, day - 20)
    client.put("/v1/players/lena/settings", headers=server_headers, json={"timezone": None})
    at(clock, "2027-01-24T14:30:00")
    assert login(client, server_headers) == (True, 1, 0)
    offer = client.get("/v1/players/lena/daily", headers=server_headers).get_json()
    assert offer["streak_repair"]["repair_by"] == "2027-01-25T14:00:00+00:00"
