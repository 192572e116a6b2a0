"""Player progression through the engine: streaks, daily counters, missions, tools, pace.

The daily login bonus and the streak, the day's counters and ad rewards, the missions
of the day, the tool of the day and the pace of a player's state changes. The battle
pass and its seasons are in tests/test_battle_pass.py.
"""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, date, datetime, timedelta

import pytest

from engine import keys, progression
from engine.calendar import GameCalendar
from engine.economy import activity, grants, ledger, purchases, wallet
from engine.errors import DailyLimitReachedError, InvalidInputError, RapidFireError
from engine.progression import daily, missions, rotation, tools
from engine.security import bans
from tests.progression_play import at, exam


@pytest.fixture
def all_missions(engine):
    """Every mission of the pool active every day, so tests need not know the rotation."""
    engine.rules = dataclasses.replace(engine.rules, missions_per_day=len(engine.rules.missions))
    return engine


def kinds(engine, player):
    return [e.kind for e in ledger.history(engine, player, limit=1000)]


# The daily login bonus and the streak ---------------------------------------------


def test_the_first_login_of_a_day_claims_and_later_ones_do_not(engine):
    first = activity.login(engine, "alice")
    again = activity.login(engine, "alice")
    assert (first.claimed, first.streak, first.reward) == (True, 1, {"logs": 1})
    assert (again.claimed, again.streak, again.reward) == (False, 1, {})
    assert first.next_claim_at == datetime(2026, 11, 26, 3, tzinfo=UTC)
    assert wallet.balances(engine, "alice")["logs"] == 1
    assert kinds(engine, "alice") == ["login_bonus"]


def test_claims_at_0259_and_0301_are_two_game_days(engine, clock):
    at(clock, 2026, 11, 25, 2, 59)
    assert activity.login(engine, "alice").streak == 1
    at(clock, 2026, 11, 25, 3, 1)
    second = activity.login(engine, "alice")
    assert (second.claimed, second.streak) == (True, 2)


def test_a_skipped_day_restarts_the_streak(engine, clock):
    for day in (20, 21, 22):
        at(clock, 2026, 11, day, 12)
        activity.login(engine, "alice")
    at(clock, 2026, 11, 24, 12)  # nothing on the 23rd
    assert activity.login(engine, "alice").streak == 1
    assert daily.state(engine, "alice").streak == 1


def test_the_seventh_day_pays_steel(engine, clock):
    rewards = []
    for offset in range(8):
        clock.set(datetime(2026, 11, 10, 12, tzinfo=UTC) + timedelta(days=offset))
        rewards.append(activity.login(engine, "alice").reward)
    assert rewards[:6] == [{"logs": 1}] * 6
    assert rewards[6] == {"steel": 10}
    assert rewards[7] == {"logs": 1}
    assert wallet.balances(engine, "alice")["steel"] == 10


def test_the_streak_follows_local_days_across_daylight_saving(engine):
    engine.calendar = GameCalendar("Europe/Berlin", 3)
    clock = engine.clock
    # 24 Oct 2026 is a CEST day (starts 01:00 UTC); 25 Oct, when clocks go back, starts
    # at 02:00 UTC. 01:30 UTC on the 25th is 02:30 CET: still the 24th's game day.
    at(clock, 2026, 10, 24, 1, 30)
    assert activity.login(engine, "alice").streak == 1
    at(clock, 2026, 10, 25, 1, 30)
    assert activity.login(engine, "alice").claimed is False
    at(clock, 2026, 10, 25, 2, 0)
    assert activity.login(engine, "alice").streak == 2
    at(clock, 2026, 10, 26, 2, 30)  # 03:30 CET on the 26th
    assert activity.login(engine, "alice").streak == 3


@pytest.mark.parametrize("path", ["exam", "purchase", "ad"])
def test_any_activity_claims_the_bonus(engine, path):
    grants.grant(engine, "alice", {"coins": 100}, "funds", "funds")
    if path == "exam":
        progress = exam(engine, "alice").summary["progress"]
        bonus = progress["daily_bonus"]
    elif path == "purchase":
        bonus = purchases.purchase(
            engine, "alice", "logs", 1, "p1"
        ).transaction.progress.daily_bonus
    else:
        bonus = activity.ad_reward(engine, "alice", "ad-1").progress.daily_bonus
    assert bonus["streak"] == 1
    assert bonus["reward"] == {"logs": 1}
    assert activity.login(engine, "alice").claimed is False
    assert kinds(engine, "alice").count("login_bonus") == 1


@pytest.mark.parametrize("path", ["exam", "purchase", "ad"])
def test_any_activity_reports_the_streak_it_continues(engine, clock, path):
    activity.login(engine, "alice")
    clock.advance(days=1)
    activity.login(engine, "alice")  # the streak is 2 from here on
    clock.advance(seconds=1)
    grants.grant(engine, "alice", {"coins": 100}, "funds", "funds")
    if path == "exam":
        progress = exam(engine, "alice").summary["progress"]
        assert (progress["daily_bonus"], progress["streak"]) == (None, 2)
        return
    if path == "purchase":
        progress = purchases.purchase(engine, "alice", "logs", 1, "p1").transaction.progress
    else:
        progress = activity.ad_reward(engine, "alice", "ad-1").progress
    assert (progress.daily_bonus, progress.streak) == (None, 2)


def test_a_refused_purchase_is_not_activity(engine):
    with pytest.raises(Exception, match="Not enough coins"):
        purchases.purchase(engine, "alice", "steel", 1, "p1")
    assert activity.login(engine, "alice").claimed is True


# Daily counters and ad rewards ------------------------------------------------------


def test_the_ad_reward_is_capped_per_day(engine, clock):
    for n in range(5):
        granted = activity.ad_reward(engine, "alice", f"ad-{n}")
        assert granted.deltas == {"coins": 5}
        assert granted.progress.ads_watched == n + 1
    with pytest.raises(DailyLimitReachedError) as caught:
        activity.ad_reward(engine, "alice", "ad-5")
    assert caught.value.details == {"limit": 5, "used": 5}
    with pytest.raises(DailyLimitReachedError):
        activity.ad_reward(engine, "alice", "ad-5")  # the replay gets the same refusal
    assert kinds(engine, "alice").count("ad_reward") == 5

    clock.advance(days=1)
    assert activity.ad_reward(engine, "alice", "ad-6").progress.ads_watched == 1


def test_an_ad_reward_replay_grants_nothing_more(engine):
    first = activity.ad_reward(engine, "alice", "ad-1")
    again = activity.ad_reward(engine, "alice", "ad-1")
    assert again.replayed
    assert again.transaction_id == first.transaction_id
    assert kinds(engine, "alice").count("ad_reward") == 1


def test_daily_counters_expire_after_the_game_day(engine):
    activity.ad_reward(engine, "alice", "ad-1")
    key = keys.daily("alice", "2026-11-25")
    end_of_day = datetime(2026, 11, 26, 3, tzinfo=UTC)
    lifetime = (end_of_day - engine.clock.now()).total_seconds() + 60 * 60  # plus the grace
    assert lifetime - 5 <= engine.redis.ttl(key) <= lifetime


def test_daily_state(all_missions, clock):
    engine = all_missions
    activity.ad_reward(engine, "alice", "ad-1")
    state = daily.state(engine, "alice")
    assert state.game_day == date(2026, 11, 25)
    assert state.next_reset_at == datetime(2026, 11, 26, 3, tzinfo=UTC)
    assert (state.login_claimed, state.streak) == (True, 1)
    assert (state.ads_watched, state.ads_limit) == (1, 5)
    ads = next(m for m in state.missions if m.mission_id == "ads_2")
    assert (ads.progress, ads.target, ads.completed) == (1, 2, False)

    clock.advance(days=1)
    tomorrow = daily.state(engine, "alice")
    assert (tomorrow.login_claimed, tomorrow.streak, tomorrow.ads_watched) == (False, 1, 0)
    clock.advance(days=1)
    assert daily.state(engine, "alice").streak == 0  # the streak is broken


# Missions ---------------------------------------------------------------------------


def test_missions_rotate_daily_and_are_defined_by_the_day(engine):
    days = [date(2026, 11, 1) + timedelta(days=n) for n in range(20)]
    sets = [tuple(m.mission_id for m in missions.for_day(engine.rules, d)) for d in days]
    assert all(len(s) == 3 for s in sets)
    assert len(set(sets)) > 5
    assert sets == [tuple(m.mission_id for m in missions.for_day(engine.rules, d)) for d in days]


def test_the_daily_reset_publishes_the_days_missions_and_tool(engine):
    done = rotation.rotate(engine)
    assert done.game_day == date(2026, 11, 25)
    expected = [m.mission_id for m in missions.for_day(engine.rules, done.game_day)]
    assert done.missions == expected
    assert engine.redis.get(keys.missions_of_day("2026-11-25")) is not None
    assert engine.redis.get(keys.tool_of_day("2026-11-25")).decode() == done.tool
    assert rotation.rotate(engine) == done  # running it twice changes nothing


def test_exam_events_advance_missions_and_complete_them_once(all_missions):
    engine = all_missions
    first = exam(engine, "alice", correct=10, questions=10).summary["progress"]
    by_id = {m["id"]: m for m in first["missions"]}
    assert by_id["solve_20"]["progress"] == 10
    assert by_id["exams_3"]["progress"] == 1
    assert by_id["perfect_1"]["completed"] is True  # a perfect exam, target 1
    assert by_id["login_1"]["completed"] is True  # the day's first activity

    second = exam(engine, "alice", correct=10, questions=10).summary["progress"]
    by_id = {m["id"]: m for m in second["missions"]}
    assert by_id["solve_20"]["completed"] is True
    assert "perfect_1" not in by_id  # done: no longer advanced

    rewards = [e for e in ledger.history(engine, "alice", limit=100) if e.kind == "mission_reward"]
    assert sorted(e.reason for e in rewards) == [
        "mission login_1",
        "mission perfect_1",
        "mission solve_20",
    ]
    state = {m.mission_id: m for m in daily.state(engine, "alice").missions}
    assert state["solve_20"].completed and state["solve_20"].progress == 20


def test_purchase_and_ad_missions(all_missions):
    engine = all_missions
    grants.grant(engine, "alice", {"coins": 100}, "funds", "funds")
    bought = purchases.purchase(engine, "alice", "logs", 1, "p1").transaction.progress
    assert {m["id"]: m["completed"] for m in bought.missions} == {"login_1": True, "buy_1": True}
    activity.ad_reward(engine, "alice", "a1")
    second_ad = activity.ad_reward(engine, "alice", "a2").progress
    assert second_ad.missions == [
        {
            "id": "ads_2",
            "progress": 2,
            "target": 2,
            "completed": True,
            "xp": 100,
            "reward": {"cement": 1},
            "transaction_id": second_ad.missions[0]["transaction_id"],
        },
    ]
    assert wallet.balances(engine, "alice")["cement"] == 1


def test_rules_changed_mid_day_apply_from_the_next_event_and_pay_nothing_twice(all_missions, clock):
    engine = all_missions
    at(clock, 2026, 11, 25, 12, 0, 0)
    first = activity.ad_reward(engine, "alice", "a1").progress
    assert {m["id"]: m["progress"] for m in first.missions}["ads_2"] == 1
    # New rules in the same process (what a new worker loads after a rules change):
    # watching two ads now pays 3 coins and 700 XP.
    pool = tuple(
        dataclasses.replace(m, reward={"coins": 3}, xp=700) if m.mission_id == "ads_2" else m
        for m in engine.rules.missions
    )
    engine.rules = dataclasses.replace(engine.rules, missions=pool)
    at(clock, 2026, 11, 25, 12, 0, 0)  # the same second: nothing of the old rules kept
    second = activity.ad_reward(engine, "alice", "a2").progress
    ads_2 = {m["id"]: m for m in second.missions}["ads_2"]
    assert (ads_2["completed"], ads_2["reward"], ads_2["xp"]) == (True, {"coins": 3}, 700)
    assert wallet.balances(engine, "alice")["cement"] == 0
    at(clock, 2026, 11, 25, 12, 0, 1)
    third = activity.ad_reward(engine, "alice", "a3").progress
    assert "ads_2" not in {m["id"] for m in third.missions}  # paid once
    rewards = [e for e in ledger.history(engine, "alice", limit=100) if e.kind == "mission_reward"]
    assert sorted(e.reason for e in rewards) == ["mission ads_2", "mission login_1"]


def test_new_rules_drop_what_was_derived_from_the_old_and_keep_the_rest(all_missions, clock):
    """The ban cache, the board indexes' memo and the webhook secret box do not depend
    on the rules: a rules change keeps them (dropping the ban cache cost every process
    a whole read of the ban indexes)."""
    engine = all_missions
    at(clock, 2026, 11, 25, 12, 0, 0)
    activity.ad_reward(engine, "alice", "a1")
    kept = {name: object() for name in (bans.CACHE_MEMO, "webhook_secret_box")}
    engine.memo.update(kept)
    before = progression.day_context(engine, clock.now())
    engine.rules = dataclasses.replace(engine.rules)
    after = progression.day_context(engine, clock.now())
    assert after is not before  # built again from the new rules
    assert all(engine.memo[name] is value for name, value in kept.items())


# Tool of the day --------------------------------------------------------------------


def test_the_tool_never_repeats_on_consecutive_days(engine):
    start = date(2026, 1, 1)
    tool_days = [tools.tool_of_the_day(engine, start + timedelta(days=n)) for n in range(400)]
    assert all(a != b for a, b in itertools.pairwise(tool_days))
    assert set(tool_days) == set(engine.rules.tools)


def test_an_override_sets_today_and_tomorrow_moves_on(engine):
    today = date(2026, 11, 25)
    tomorrow_by_rotation = tools.tool_of_the_day(engine, today + timedelta(days=1))
    tools.set_tool(engine, today, tomorrow_by_rotation, ttl_seconds=3600)
    assert tools.tool_of_the_day(engine, today) == tomorrow_by_rotation
    assert tools.tool_of_the_day(engine, today + timedelta(days=1)) != tomorrow_by_rotation


@pytest.mark.parametrize("daily_reset_runs", [True, False])
def test_after_an_override_no_tool_repeats_whether_the_daily_reset_runs_or_not(
    engine, clock, daily_reset_runs
):
    today = date(2026, 11, 25)
    tomorrow_by_rotation = tools.tool_of_the_day(engine, today + timedelta(days=1))
    tools.set_tool(engine, today, tomorrow_by_rotation, ttl_seconds=3 * 86_400)
    week = []
    for n in range(7):
        clock.set(datetime(2026, 11, 25, 12, tzinfo=UTC) + timedelta(days=n))
        if daily_reset_runs:
            rotation.rotate(engine)
        week.append(tools.tool_of_the_day(engine, today + timedelta(days=n)))
    assert all(a != b for a, b in itertools.pairwise(week)), week
    # two days on, the rotation goes on as if there had been no override
    assert week[2:] == [engine.rules.tools[(today.toordinal() + n) % 3] for n in range(2, 7)]


def test_an_override_may_not_repeat_yesterday_or_name_an_unknown_tool(engine):
    today = date(2026, 11, 25)
    yesterday_tool = tools.tool_of_the_day(engine, today - timedelta(days=1))
    with pytest.raises(InvalidInputError):
        tools.set_tool(engine, today, yesterday_tool, ttl_seconds=3600)
    with pytest.raises(InvalidInputError):
        tools.set_tool(engine, today, "hammer", ttl_seconds=3600)


# Rapid fire: the pace of a player's state changes -------------------------------------


def with_pace_limit(engine, limit):
    security = dataclasses.replace(engine.rules.security, max_changes_per_second=limit)
    engine.rules = dataclasses.replace(engine.rules, security=security)
    return engine


def test_rapid_fire_counts_within_one_second_and_starts_over_in_the_next(engine, clock):
    with_pace_limit(engine, 3)
    for n in range(3):
        activity.ad_reward(engine, "alice", f"ad-{n}")
    with pytest.raises(RapidFireError):
        activity.ad_reward(engine, "alice", "ad-3")
    with pytest.raises(RapidFireError):  # a refused change counts too
        exam(engine, "alice")
    activity.ad_reward(engine, "bob", "ad-0")  # another player has a pace of their own
    clock.advance(seconds=1)
    assert activity.ad_reward(engine, "alice", "ad-3").transaction_id is not None
