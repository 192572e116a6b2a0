"""Progression as a game server sees it over HTTP: streak freezes bought on the day they
are needed, and missions whose target the rules lower during the day."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime

import pytest

from engine.economy import activity
from engine.progression import timezones
from engine.webhooks import subscriptions
from tests.webhook_receiver import Receiver, run_jobs, webhook_engine

keys_used = itertools.count()


def at(clock, day: int, hour: int = 12, second: int = 0) -> None:
    clock.set(datetime(2026, 11, day, hour, 0, second, tzinfo=UTC))


def login(client, headers, player: str) -> dict:
    return client.post(f"/v1/players/{player}/login", headers=headers).json


def grant(client, admin_headers, player: str, coins: int) -> None:
    answer = client.post(
        f"/v1/admin/players/{player}/grants",
        headers={**admin_headers, "Idempotency-Key": f"grant-{next(keys_used)}"},
        json={"resources": {"coins": coins}, "reason": "funds"},
    )
    assert answer.status_code == 201


def buy_freezes(client, headers, player: str, quantity: int, key: str | None = None):
    return client.post(
        f"/v1/players/{player}/purchases",
        headers={**headers, "Idempotency-Key": key or f"freeze-{next(keys_used)}"},
        json={"item": "streak_freeze", "quantity": quantity},
    )


def freeze_entries(client, headers, player: str) -> list[dict]:
    entries = client.get(f"/v1/players/{player}/ledger?limit=100", headers=headers).json
    return [e for e in entries["entries"] if e["kind"] == "streak_freeze"]


def daily_login(client, headers, player: str) -> dict:
    return client.get(f"/v1/players/{player}/daily", headers=headers).json["login"]


@pytest.fixture
def three_day_streak(client, clock, server_headers, admin_headers):
    """dora logs in on the 20th, 21st and 22nd, has coins, and misses the 23rd."""
    for day in (20, 21, 22):
        at(clock, day)
        assert login(client, server_headers, "dora")["streak"] == day - 19
    grant(client, admin_headers, "dora", 2000)
    at(clock, 24)


def test_a_freeze_bought_the_day_after_a_missed_day_keeps_the_streak(
    client, clock, server_headers, three_day_streak
):
    bought = buy_freezes(client, server_headers, "dora", 1)
    assert bought.status_code == 201
    progress = bought.json["progress"]
    assert (progress["streak"], progress["freezes_used"]) == (4, 1)
    assert progress["daily_bonus"]["streak"] == 4
    assert bought.json["balances"]["streak_freeze"] == 0
    [entry] = freeze_entries(client, server_headers, "dora")
    assert entry["reason"] == "streak freeze for 2026-11-23"
    assert daily_login(client, server_headers, "dora") == {"claimed": True, "streak": 4}


def test_a_player_holding_the_most_freezes_may_buy_one_on_the_day_one_is_used(
    client, clock, server_headers, three_day_streak
):
    at(clock, 22, 13)
    assert buy_freezes(client, server_headers, "dora", 2).status_code == 201
    at(clock, 24)
    bought = buy_freezes(client, server_headers, "dora", 1, key="one-more")
    assert bought.status_code == 201, bought.json
    assert (bought.json["progress"]["streak"], bought.json["progress"]["freezes_used"]) == (4, 1)
    assert bought.json["balances"]["streak_freeze"] == 2
    again = buy_freezes(client, server_headers, "dora", 1, key="one-more")  # a retry
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json == bought.json
    assert len(freeze_entries(client, server_headers, "dora")) == 1


def test_the_most_freezes_held_still_holds_when_the_claim_uses_none(
    client, clock, server_headers, three_day_streak
):
    at(clock, 22, 13)
    assert buy_freezes(client, server_headers, "dora", 2).status_code == 201
    at(clock, 22, 14)  # no missed day: the claim of the 22nd is made, nothing to bridge
    refused = buy_freezes(client, server_headers, "dora", 1)
    assert refused.status_code == 409
    assert refused.json["error"]["code"] == "balance_limit_exceeded"
    at(clock, 26)  # three days missed: more than a gap the freezes may bridge
    refused = buy_freezes(client, server_headers, "dora", 1)
    assert refused.status_code == 409
    assert refused.json["error"]["details"] == {
        "resource": "streak_freeze",
        "limit": 2,
        "balance": 2,
    }
    assert daily_login(client, server_headers, "dora") == {"claimed": False, "streak": 0}


def test_freezes_bought_for_the_gap_are_held_to_the_most_before_they_are_used(
    client, clock, server_headers, three_day_streak
):
    at(clock, 22, 13)
    assert buy_freezes(client, server_headers, "dora", 1).status_code == 201
    at(clock, 25)  # the 23rd and 24th missed, one freeze held
    refused = buy_freezes(client, server_headers, "dora", 2)  # 3 held before the claim
    assert refused.status_code == 409
    assert refused.json["error"]["code"] == "balance_limit_exceeded"
    bought = buy_freezes(client, server_headers, "dora", 1)
    assert bought.status_code == 201
    assert (bought.json["progress"]["streak"], bought.json["progress"]["freezes_used"]) == (4, 2)
    assert bought.json["balances"]["streak_freeze"] == 0


def test_a_freeze_bought_that_cannot_cover_the_gap_is_kept_and_the_streak_restarts(
    client, clock, server_headers, three_day_streak
):
    at(clock, 25)  # the 23rd and 24th missed: one freeze bought does not cover two
    bought = buy_freezes(client, server_headers, "dora", 1)
    assert bought.status_code == 201
    assert (bought.json["progress"]["streak"], bought.json["progress"]["freezes_used"]) == (1, 0)
    assert bought.json["balances"]["streak_freeze"] == 1
    assert freeze_entries(client, server_headers, "dora") == []


def test_a_freeze_bought_the_day_after_a_missed_local_day_keeps_a_zoned_streak(
    client, clock, server_headers, admin_headers
):
    zone = {"timezone": "Asia/Tokyo"}  # 12:00 UTC is 21:00 there, the same date
    answer = client.put("/v1/players/kai/settings", headers=server_headers, json=zone)
    assert answer.status_code == 200
    for day in (20, 21, 22):
        at(clock, day)
        login(client, server_headers, "kai")
    grant(client, admin_headers, "kai", 1000)
    at(clock, 24)  # Tokyo's 23rd missed
    bought = buy_freezes(client, server_headers, "kai", 1)
    assert (bought.json["progress"]["streak"], bought.json["progress"]["freezes_used"]) == (4, 1)
    [entry] = freeze_entries(client, server_headers, "kai")
    assert entry["reason"] == "streak freeze for 2026-11-23"


def lower_target(app, mission_id: str, target: int) -> None:
    engine = app.extensions["questboard.engine"]
    pool = tuple(
        dataclasses.replace(m, target=target) if m.mission_id == mission_id else m
        for m in engine.rules.missions
    )
    engine.rules = dataclasses.replace(engine.rules, missions=pool)


def exam(client, headers, player: str, exam_id: str, correct: int) -> dict:
    answer = client.post(
        f"/v1/players/{player}/exams",
        headers=headers,
        json={
            "exam_id": exam_id,
            "category_id": "math",
            "score": correct * 10,
            "total_questions": 10,
            "correct_answers": correct,
        },
    )
    assert answer.status_code == 201
    return answer.json["progress"]


def mission(client, headers, player: str, mission_id: str) -> dict:
    missions = client.get(f"/v1/players/{player}/missions", headers=headers).json["missions"]
    [found] = [m for m in missions if m["id"] == mission_id]
    return found


def mission_rewards(client, headers, player: str) -> list[str]:
    entries = client.get(f"/v1/players/{player}/ledger?limit=100", headers=headers).json
    return [e["reason"] for e in entries["entries"] if e["kind"] == "mission_reward"]


def test_a_mission_whose_target_is_lowered_below_the_count_completes_at_its_next_exam(
    app, client, clock, server_headers
):
    at(clock, 27)  # the 27th's missions: solve_20, solve_50, exams_3
    exam(client, server_headers, "erin", "e1", 9)
    at(clock, 27, second=5)
    exam(client, server_headers, "erin", "e2", 9)
    lower_target(app, "solve_20", 15)  # 18 solved: past the new target
    shown = mission(client, server_headers, "erin", "solve_20")
    assert (shown["progress"], shown["target"], shown["completed"]) == (15, 15, False)
    at(clock, 27, second=10)
    progress = exam(client, server_headers, "erin", "e3", 0)  # an exam, no answer right
    [completed] = [m for m in progress["missions"] if m["id"] == "solve_20"]
    assert (completed["completed"], completed["reward"]) == (True, {"coins": 20})
    assert mission(client, server_headers, "erin", "solve_20")["completed"] is True
    at(clock, 27, second=15)
    later = exam(client, server_headers, "erin", "e4", 5)
    assert "solve_20" not in [m["id"] for m in later["missions"]]
    paid = mission_rewards(client, server_headers, "erin")
    assert paid.count("mission solve_20") == 1


@pytest.mark.parametrize("season", ["9999-12-01", "0001-01-01"])
def test_a_season_named_by_a_day_at_the_ends_of_the_calendar_is_not_found(
    client, server_headers, season
):
    answer = client.get(f"/v1/players/erin/battle-pass?season={season}", headers=server_headers)
    assert answer.status_code == 404
    assert answer.json["error"]["code"] == "not_found"


def set_zone(client, headers, player: str, zone: str | None) -> None:
    answer = client.put(f"/v1/players/{player}/settings", headers=headers, json={"timezone": zone})
    assert answer.status_code == 200


def test_a_login_after_leaving_a_zone_claims_once_the_zones_day_has_ended(
    client, clock, server_headers
):
    set_zone(client, server_headers, "lee", "America/Los_Angeles")
    clock.set(datetime(2026, 11, 2, 18, tzinfo=UTC))  # 10:00 on the 2nd in Los Angeles
    assert login(client, server_headers, "lee")["streak"] == 1
    clock.set(datetime(2026, 11, 3, 6, tzinfo=UTC))  # the game's 3rd, still the 2nd there
    set_zone(client, server_headers, "lee", None)
    waiting = login(client, server_headers, "lee")
    assert waiting["claimed"] is False
    assert waiting["next_claim_at"] == "2026-11-03T11:00:00+00:00"  # the 2nd ends there
    assert daily_login(client, server_headers, "lee") == {"claimed": True, "streak": 1}
    clock.set(datetime(2026, 11, 3, 12, tzinfo=UTC))
    claimed = login(client, server_headers, "lee")
    assert (claimed["claimed"], claimed["streak"]) == (True, 2)
    clock.set(datetime(2026, 11, 4, 12, tzinfo=UTC))
    next_day = login(client, server_headers, "lee")
    assert (next_day["streak"], next_day["progress"]["freezes_used"]) == (3, 0)


def test_the_days_state_shows_a_streak_a_left_zone_still_keeps(client, clock, server_headers):
    set_zone(client, server_headers, "lee", "America/Los_Angeles")
    clock.set(datetime(2026, 11, 2, 18, tzinfo=UTC))  # the 2nd there
    login(client, server_headers, "lee")
    clock.set(datetime(2026, 11, 3, 6, tzinfo=UTC))
    set_zone(client, server_headers, "lee", None)
    # no login on the game's 3rd; the 3rd in Los Angeles ends at 11:00 UTC on the 4th
    clock.set(datetime(2026, 11, 4, 8, tzinfo=UTC))
    assert daily_login(client, server_headers, "lee") == {"claimed": False, "streak": 1}
    assert login(client, server_headers, "lee")["streak"] == 2


@pytest.fixture
def announcing_engine(real_redis, unlimited_rules, clock, sqlite_url):
    """An engine with SQL, so the persist job writes the ledger the webhooks announce."""
    yield from webhook_engine(real_redis, unlimited_rules, clock, sqlite_url)


def test_a_claim_after_a_move_west_of_more_than_a_day_is_announced_for_its_own_date(
    announcing_engine, clock
):
    engine, receiver = announcing_engine, Receiver()
    try:
        subscriptions.create(engine, receiver.url, ["login.bonus_claimed"], "claims")
        timezones.set_timezone(engine, "kim", "Pacific/Kiritimati")  # UTC+14
        clock.set(datetime(2026, 11, 24, 15, tzinfo=UTC))  # 05:00 on the 25th there
        assert activity.login(engine, "kim").claimed
        timezones.set_timezone(engine, "kim", "Pacific/Pago_Pago")  # UTC-11: the 24th
        clock.set(datetime(2026, 11, 26, 13, 30, tzinfo=UTC))  # 02:30 on the 26th there:
        second = activity.login(engine, "kim")  # still its 25th, claimed: this is the 26th
        assert (second.claimed, second.streak) == (True, 2)
        run_jobs(engine)
        days = [event["data"]["day"] for event in receiver.events()]
    finally:
        receiver.stop()
    assert days == ["2026-11-25", "2026-11-26"]
