"""Progression over HTTP: login, daily, ad rewards, missions, battle pass, tool, clock."""

from __future__ import annotations

import dataclasses
import logging
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from config import Settings
from engine.clock import FixedClock
from tests.conftest import EXAM, error_of
from web import create_app

pytestmark = pytest.mark.app_on_both_backends  # the app on fakeredis and on Redis


def error_code(response):
    return response.get_json()["error"]["code"]


def test_login_claims_once_a_day(client, server_headers, clock):
    first = client.post("/v1/players/alice/login", headers=server_headers)
    again = client.post("/v1/players/alice/login", headers=server_headers)
    assert first.status_code == again.status_code == 200
    assert first.get_json()["claimed"] is True
    assert first.get_json()["reward"] == {"logs": 1}
    assert first.get_json()["next_claim_at"] == "2026-11-26T03:00:00+00:00"
    assert again.get_json()["claimed"] is False
    assert again.get_json()["streak"] == 1
    clock.advance(days=1)
    assert client.post("/v1/players/alice/login", headers=server_headers).get_json()["streak"] == 2


TODAYS_MISSIONS = [
    {
        "id": "exams_3",
        "title": "Complete 3 exams",
        "event": "complete_exam",
        "progress": 0,
        "target": 3,
        "completed": False,
        "xp": 200,
        "reward": {"coins": 25},
        "credited": None,  # not completed: nothing credited yet
    },
    {
        "id": "ads_2",
        "title": "Watch 2 ads",
        "event": "watch_ad",
        "progress": 1,
        "target": 2,
        "completed": False,
        "xp": 100,
        "reward": {"cement": 1},
        "credited": None,  # not completed: nothing credited yet
    },
    {
        "id": "buy_1",
        "title": "Buy something in the shop",
        "event": "purchase",
        "progress": 0,
        "target": 1,
        "completed": False,
        "xp": 100,
        "reward": {"coins": 10},
        "credited": None,  # not completed: nothing credited yet
    },
]


def test_daily_and_missions(client, server_headers):
    ad = client.post(
        "/v1/players/alice/ad-rewards", headers=server_headers | {"Idempotency-Key": "a"}
    )
    assert ad.status_code == 201
    daily = client.get("/v1/players/alice/daily", headers=server_headers)
    assert daily.status_code == 200
    assert daily.get_json() == {
        "player_id": "alice",
        "game_day": "2026-11-25",
        "next_reset_at": "2026-11-26T03:00:00+00:00",
        "login": {"claimed": True, "streak": 1},  # the ad's activity claimed the day
        "ads": {"watched": 1, "limit": 5},
        "missions": TODAYS_MISSIONS,
        "streak_repair": None,  # no broken streak to buy back (and none in these rules)
    }
    missions = client.get("/v1/players/alice/missions", headers=server_headers)
    assert missions.status_code == 200
    assert missions.get_json() == {
        "player_id": "alice",
        "game_day": "2026-11-25",
        "next_reset_at": "2026-11-26T03:00:00+00:00",
        "missions": TODAYS_MISSIONS,
    }


def test_ad_rewards_201_replay_and_cap(client, server_headers):
    def watch(key):
        return client.post(
            "/v1/players/alice/ad-rewards", headers=server_headers | {"Idempotency-Key": key}
        )

    first = watch("ad-0")
    assert first.status_code == 201
    assert first.get_json()["reward"] == {"coins": 5}
    assert first.get_json()["ads_watched"] == 1
    assert first.get_json()["ads_limit"] == 5
    assert watch("ad-0").get_json() == first.get_json()
    for n in range(1, 5):
        assert watch(f"ad-{n}").status_code == 201
    over = watch("ad-5")
    assert over.status_code == 409
    assert error_code(over) == "daily_limit_reached"
    wallet = client.get("/v1/players/alice/wallet", headers=server_headers).get_json()
    assert wallet["balances"]["coins"] == 25 + 0  # five rewards, nothing for the sixth


def test_ad_reward_needs_a_key_and_takes_no_fields(client, server_headers):
    assert client.post("/v1/players/alice/ad-rewards", headers=server_headers).status_code == 400
    response = client.post(
        "/v1/players/alice/ad-rewards",
        headers=server_headers | {"Idempotency-Key": "a"},
        json={"coins": 500},
    )
    assert response.status_code == 400


def post_perfect_exam(client, headers):
    return client.post(
        "/v1/players/alice/exams",
        headers=headers,
        json=EXAM | {"correct_answers": 10},
    )


def test_an_exam_reports_its_progress(client, server_headers):
    response = post_perfect_exam(client, server_headers)
    assert response.status_code == 201
    progress = response.get_json()["progress"]
    bonus_transaction = progress["daily_bonus"].pop("transaction_id")
    assert re.fullmatch(r"\d+-\d+", bonus_transaction)
    assert progress == {
        "streak": 1,
        "freezes_used": 0,
        "daily_bonus": {"reward": {"logs": 1}, "streak": 1},
        "missions": [{"id": "exams_3", "progress": 1, "target": 3, "completed": False}],
        "level_rewards": [],
        # 20 for the exam and 10 a correct answer
        "xp": {
            "gained": 120,
            "total": 120,
            "level": 1,
            "levels_gained": [],
            "season": "2026-autumn",
        },
    }


def test_battle_pass(client, server_headers):
    assert post_perfect_exam(client, server_headers).status_code == 201
    response = client.get("/v1/players/alice/battle-pass", headers=server_headers)
    assert response.status_code == 200
    assert response.get_json() == {
        "player_id": "alice",
        "season": "2026-autumn",
        "season_start": "2026-09-01",
        "season_end": "2026-12-01",
        "xp": 120,
        "level": 1,
        "xp_to_next_level": 880,
        "rewards_granted": [],
    }
    unknown = client.get("/v1/players/alice/battle-pass?season=1999", headers=server_headers)
    assert unknown.status_code == 404
    assert error_code(unknown) == "not_found"


def test_tool_of_the_day_and_its_override(client, server_headers, admin_headers):
    day = {"game_day": "2026-11-25", "next_reset_at": "2026-11-26T03:00:00+00:00"}
    today = client.get("/v1/tool-of-the-day", headers=server_headers)
    assert (today.status_code, today.get_json()) == (200, day | {"tool": "concrete"})
    # Yesterday's tool (brickwork) is refused, and nothing changes.
    yesterdays = client.put(
        "/v1/admin/tool-of-the-day", headers=admin_headers, json={"tool": "brickwork"}
    )
    assert yesterdays.status_code == 400
    assert error_of(yesterdays) == {
        "code": "validation_error",
        "message": "brickwork was yesterday's tool.",
        "details": {"tool": ["Must differ from yesterday's tool."]},
    }
    unchanged = client.get("/v1/tool-of-the-day", headers=server_headers).get_json()
    assert unchanged == day | {"tool": "concrete"}
    response = client.put(
        "/v1/admin/tool-of-the-day", headers=admin_headers, json={"tool": "earthwork"}
    )
    assert (response.status_code, response.get_json()) == (200, day | {"tool": "earthwork"})
    overridden = client.get("/v1/tool-of-the-day", headers=server_headers).get_json()
    assert overridden == day | {"tool": "earthwork"}
    other = "earthwork"
    bad = client.put("/v1/admin/tool-of-the-day", headers=admin_headers, json={"tool": "hammer"})
    assert bad.status_code == 400
    forbidden = client.put(
        "/v1/admin/tool-of-the-day", headers=server_headers, json={"tool": other}
    )
    assert forbidden.status_code == 403


def test_the_clock_override_is_off_by_default(client, admin_headers):
    response = client.put(
        "/v1/admin/clock", headers=admin_headers, json={"now": "2026-11-26T02:59:00Z"}
    )
    assert response.status_code == 403


@pytest.fixture
def qa_client(settings, store):
    qa = dataclasses.replace(settings, allow_clock_override=True)
    return create_app(qa, redis_client=store).test_client()


def test_the_clock_override_moves_every_day_boundary(qa_client, server_headers, admin_headers):
    def set_clock(moment):
        response = qa_client.put("/v1/admin/clock", headers=admin_headers, json={"now": moment})
        assert response.status_code == 200
        assert response.get_json()["overridden"] is True

    set_clock("2026-11-26T02:59:00Z")
    assert qa_client.get("/healthz").get_json()["now"].startswith("2026-11-26T02:59")
    assert qa_client.post("/v1/players/qa/login", headers=server_headers).get_json()["claimed"]
    set_clock("2026-11-26T03:01:00Z")
    second = qa_client.post("/v1/players/qa/login", headers=server_headers).get_json()
    assert (second["claimed"], second["streak"]) == (True, 2)

    reset = qa_client.delete("/v1/admin/clock", headers=admin_headers)
    assert reset.get_json()["overridden"] is False
    assert not qa_client.get("/healthz").get_json()["now"].startswith("2026-11-26T03:01")


def test_the_clock_override_needs_an_aware_time(qa_client, admin_headers):
    response = qa_client.put(
        "/v1/admin/clock", headers=admin_headers, json={"now": "2026-11-26T02:59:00"}
    )
    assert response.status_code == 400


def test_the_clock_override_is_refused_in_production():
    from config import ConfigError

    with pytest.raises(ConfigError, match="production"):
        Settings.from_env({"ALLOW_CLOCK_OVERRIDE": "true", "QUESTBOARD_ENV": "production"})


def test_every_activity_reports_the_players_real_streak(
    client, server_headers, admin_headers, clock
):
    client.post(
        "/v1/admin/players/alice/grants",
        headers=admin_headers | {"Idempotency-Key": "funds"},
        json={"resources": {"coins": 1000}, "reason": "funds"},
    )

    def buy(key):
        return client.post(
            "/v1/players/alice/purchases",
            headers=server_headers | {"Idempotency-Key": key},
            json={"item": "logs", "quantity": 1},
        )

    def watch(key):
        return client.post(
            "/v1/players/alice/ad-rewards", headers=server_headers | {"Idempotency-Key": key}
        )

    first = buy("day1-a")
    assert first.status_code == 201
    assert first.get_json()["progress"]["daily_bonus"]["streak"] == 1
    assert first.get_json()["progress"]["streak"] == 1
    clock.advance(seconds=1)
    later = buy("day1-b")
    assert (later.status_code, later.get_json()["progress"]["daily_bonus"]) == (201, None)
    assert later.get_json()["progress"]["streak"] == 1

    clock.advance(days=1)
    exam = client.post("/v1/players/alice/exams", headers=server_headers, json=EXAM)
    assert exam.status_code == 201
    assert exam.get_json()["progress"]["streak"] == 2
    clock.advance(seconds=1)
    second_exam = client.post(
        "/v1/players/alice/exams", headers=server_headers, json=EXAM | {"exam_id": "e2"}
    )
    assert second_exam.get_json()["progress"]["daily_bonus"] is None
    assert second_exam.get_json()["progress"]["streak"] == 2

    clock.advance(days=1)
    ad = watch("day3-a")
    assert (ad.status_code, ad.get_json()["progress"]["streak"]) == (201, 3)
    clock.advance(seconds=1)
    ad_again = watch("day3-b")
    assert ad_again.get_json()["progress"]["daily_bonus"] is None
    assert ad_again.get_json()["progress"]["streak"] == 3
    login = client.post("/v1/players/alice/login", headers=server_headers).get_json()
    assert (login["claimed"], login["streak"], login["progress"]["streak"]) == (False, 3, 3)
    assert watch("day3-a").get_json() == ad.get_json()  # a replay answers as first


@pytest.mark.parametrize(
    ("now", "season", "start", "end", "xp"),
    [
        # The exam's 120 XP and the day's mission it completes: perfect_1 (250), login_1 (50)
        (datetime(2027, 7, 1, 12, tzinfo=UTC), "2027-06-01", "2027-06-01", "2027-09-01", 370),
        (datetime(2026, 8, 1, 12, tzinfo=UTC), "2026-06-01", "2026-06-01", "2026-09-01", 170),
        (datetime(2035, 1, 1, 12, tzinfo=UTC), "2034-12-01", "2034-12-01", "2035-03-01", 370),
    ],
)
def test_the_battle_pass_always_has_a_season(
    client, server_headers, clock, now, season, start, end, xp
):
    clock.set(now)
    progress = post_perfect_exam(client, server_headers).get_json()["progress"]
    assert progress["xp"]["season"] == season
    response = client.get("/v1/players/alice/battle-pass", headers=server_headers)
    assert response.status_code == 200
    body = response.get_json()
    assert (body["season"], body["season_start"], body["season_end"]) == (season, start, end)
    assert body["xp"] == progress["xp"]["total"] == progress["xp"]["gained"] == xp
    again = client.get(f"/v1/players/alice/battle-pass?season={season}", headers=server_headers)
    assert again.get_json() == body


def rules_without_a_cycle(tmp_path, last_end: str) -> str:
    text = Path("rules.toml").read_text()
    start = text.index("[battle_pass.season_cycle]")
    end = text.index("[[battle_pass.seasons]]")
    text = text[:start] + text[end:]
    text = text.replace("end = 2027-06-01", f"end = {last_end}")
    path = tmp_path / "rules.toml"
    path.write_text(text)
    return str(path)


def test_start_up_warns_of_a_season_gap_within_90_days(settings, store, tmp_path, caplog):
    clock = FixedClock(datetime(2027, 4, 1, 12, tzinfo=UTC))
    soon = dataclasses.replace(settings, rules_file=rules_without_a_cycle(tmp_path, "2027-06-01"))
    with caplog.at_level(logging.WARNING, logger="engine.rules.progression"):
        create_app(soon, redis_client=store, clock=clock)
    [warning] = [r.getMessage() for r in caplog.records if r.name == "engine.rules.progression"]
    assert warning == (
        "No battle-pass season covers the game days from 2027-06-01 to 2027-06-29 (within the "
        "next 90 days): add a season_cycle or dated seasons to the rules."
    )


@pytest.mark.parametrize("last_end", ["2027-07-01", None])
def test_start_up_is_quiet_without_a_gap_in_90_days(settings, store, tmp_path, caplog, last_end):
    clock = FixedClock(datetime(2027, 4, 1, 12, tzinfo=UTC))
    if last_end is not None:  # the dated seasons reach past the 90 days
        settings = dataclasses.replace(
            settings, rules_file=rules_without_a_cycle(tmp_path, last_end)
        )
    with caplog.at_level(logging.WARNING, logger="engine.rules.progression"):
        create_app(settings, redis_client=store, clock=clock)
    assert [r for r in caplog.records if r.name == "engine.rules.progression"] == []
