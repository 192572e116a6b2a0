"""The battle pass through the engine: XP, levels, rewards and seasons.

Exams give XP and levels, each level's reward is paid once; seasons are dated or recur
by the rules' cycle (a dated one cuts the recurring one it overlaps), a bad cycle stops
start-up, and the rollover archives a recurring season once it ended.
"""

from __future__ import annotations

import dataclasses
import tomllib
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import db, keys
from engine.economy import ledger
from engine.errors import NotFoundError
from engine.ops import maintenance, persistence
from engine.progression import battle_pass
from engine.rules import parse_rules
from engine.rules.fields import RulesError
from engine.rules.progression import Season
from tests.progression_play import at, exam


def test_exams_give_xp_and_levels(engine):
    progress = exam(engine, "alice", correct=8).summary["progress"]
    assert progress["xp"]["season"] == "2026-autumn"
    # 20 per exam + 10 per correct answer, plus whatever missions it completed.
    mission_xp = sum(m.get("xp", 0) for m in progress["missions"] if m["completed"])
    assert progress["xp"]["gained"] == 20 + 80 + mission_xp
    state = battle_pass.state(engine, "alice")
    assert state.xp == progress["xp"]["total"]
    assert state.level == state.xp // 1000 + 1
    assert state.xp_to_next_level == state.level * 1000 - state.xp


def test_each_level_reward_is_paid_once(engine, clock):
    levels = []
    for _ in range(12):
        clock.advance(seconds=1)
        levels += exam(engine, "alice", correct=100, questions=100, score=1).summary["progress"][
            "xp"
        ]["levels_gained"]
    state = battle_pass.state(engine, "alice")
    assert state.level >= 5
    assert levels == list(range(2, state.level + 1))
    paid = [e for e in ledger.history(engine, "alice", limit=1000) if e.kind == "level_reward"]
    expected = [lvl for lvl in (2, 3, 5, 10) if lvl <= state.level]
    assert sorted(int(e.reason.rsplit(" ", 1)[1]) for e in paid) == expected
    assert [g["level"] for g in state.rewards_granted] == expected


def test_a_new_season_starts_at_zero_and_the_old_one_stays_readable(engine, clock):
    exam(engine, "alice", correct=10)
    autumn = battle_pass.state(engine, "alice")
    assert autumn.xp > 0
    at(clock, 2026, 12, 1, 3, 0)  # the winter season's first game day
    winter = battle_pass.state(engine, "alice")
    assert (winter.season.season_id, winter.xp, winter.level) == ("2026-winter", 0, 1)
    progress = exam(engine, "alice", correct=1).summary["progress"]
    assert progress["xp"]["season"] == "2026-winter"
    assert progress["xp"]["total"] == progress["xp"]["gained"]  # counted from zero
    assert battle_pass.state(engine, "alice").xp == progress["xp"]["total"]
    assert battle_pass.state(engine, "alice", "2026-autumn").xp == autumn.xp


def test_unknown_seasons_are_not_found(engine):
    for season_id in ("1999", "2027-06-02", "2026-09-01", "2026-13-01"):
        with pytest.raises(NotFoundError):
            battle_pass.state(engine, "alice", season_id)


@pytest.mark.parametrize(
    ("moment", "season_id", "start", "end"),
    [
        ((2026, 11, 25, 12), "2026-autumn", date(2026, 9, 1), date(2026, 12, 1)),
        ((2027, 5, 31, 12), "2027-spring", date(2027, 3, 1), date(2027, 6, 1)),
        ((2027, 6, 1, 3), "2027-06-01", date(2027, 6, 1), date(2027, 9, 1)),
        ((2027, 7, 1, 12), "2027-06-01", date(2027, 6, 1), date(2027, 9, 1)),
        ((2031, 2, 10, 12), "2030-12-01", date(2030, 12, 1), date(2031, 3, 1)),
        ((2026, 8, 31, 12), "2026-06-01", date(2026, 6, 1), date(2026, 9, 1)),
        ((2026, 9, 1, 2, 59), "2026-06-01", date(2026, 6, 1), date(2026, 9, 1)),
    ],
)
def test_seasons_recur_by_rule_beyond_the_dated_ones(engine, clock, moment, season_id, start, end):
    at(clock, *moment)
    current = battle_pass.state(engine, "alice")
    assert (current.season.season_id, current.season.start, current.season.end) == (
        season_id,
        start,
        end,
    )
    assert battle_pass.state(engine, "alice", season_id).season == current.season
    progress = exam(engine, "alice").summary["progress"]
    assert progress["xp"]["season"] == season_id
    assert battle_pass.state(engine, "alice").xp == progress["xp"]["total"]


def test_a_dated_season_cuts_the_recurring_one_it_overlaps(engine):
    rules = engine.rules.battle_pass
    dated = (rules.season_on(date(2027, 3, 1)),)  # only 2027-spring stays dated
    cut = dataclasses.replace(rules, dated_seasons=dated)
    assert cut.season_on(date(2027, 2, 28)).season_id == "2026-12-01"
    assert cut.season_on(date(2027, 2, 28)).end == date(2027, 3, 1)
    assert cut.season_on(date(2027, 3, 1)).season_id == "2027-spring"
    assert cut.season_on(date(2027, 6, 1)).season_id == "2027-06-01"
    short = (Season("summer-sale", date(2027, 7, 1), date(2027, 7, 15)),)
    split = dataclasses.replace(rules, dated_seasons=short)
    seasons = [split.season_on(date(2027, 6, 1) + timedelta(days=n)) for n in range(92)]
    assert [(s.season_id, s.start, s.end) for s in dict.fromkeys(seasons)] == [
        ("2027-06-01", date(2027, 6, 1), date(2027, 7, 1)),
        ("summer-sale", date(2027, 7, 1), date(2027, 7, 15)),
        ("2027-07-15", date(2027, 7, 15), date(2027, 9, 1)),
    ]
    assert split.season("2027-07-15") == seasons[-1]
    assert split.season("2027-07-01") is None


def test_without_a_cycle_a_day_after_the_dated_seasons_has_none(engine, clock):
    rules = engine.rules.battle_pass
    engine.rules = dataclasses.replace(
        engine.rules, battle_pass=dataclasses.replace(rules, cycle=None)
    )
    at(clock, 2027, 7, 1, 12)
    with pytest.raises(NotFoundError):
        battle_pass.state(engine, "alice")
    assert exam(engine, "alice").summary["progress"]["xp"] is None
    assert engine.rules.battle_pass.gaps(date(2027, 5, 1), date(2027, 7, 1)) == [
        (date(2027, 6, 1), date(2027, 7, 1))
    ]


def test_the_shipped_rules_leave_no_gap_for_years(rules):
    assert rules.battle_pass.gaps(date(2020, 1, 1), date(2040, 1, 1)) == []


@pytest.mark.parametrize(
    ("cycle", "message"),
    [
        ({"anchor": "2026-09-01", "months": 3}, "battle_pass.season_cycle.anchor: must be a date"),
        (
            {"anchor": date(2026, 9, 29), "months": 3},
            "battle_pass.season_cycle.anchor: must be a day from 1 to 28 of its month",
        ),
        ({"anchor": date(2026, 9, 1), "months": 0}, "battle_pass.season_cycle.months"),
        ({"anchor": date(2026, 9, 1)}, "battle_pass.season_cycle.months"),
        (
            {"anchor": date(2026, 9, 1), "months": 3, "weeks": 2},
            "battle_pass.season_cycle",
        ),
    ],
)
def test_a_bad_season_cycle_stops_start_up(cycle, message):
    document = tomllib.loads(Path("rules.toml").read_text())
    document["battle_pass"]["season_cycle"] = cycle
    with pytest.raises(RulesError, match=message):
        parse_rules(document)


def test_a_dated_season_named_like_another_day_is_refused():
    document = tomllib.loads(Path("rules.toml").read_text())
    document["battle_pass"]["seasons"][0]["id"] = "2027-06-01"
    with pytest.raises(RulesError, match="named by a date must start on it"):
        parse_rules(document)


def test_the_cycle_alone_is_enough():
    document = tomllib.loads(Path("rules.toml").read_text())
    del document["battle_pass"]["seasons"]
    rules = parse_rules(document).battle_pass
    assert rules.season_on(date(2026, 11, 25)).season_id == "2026-09-01"
    del document["battle_pass"]["season_cycle"]
    with pytest.raises(RulesError, match="a season_cycle or at least one dated season"):
        parse_rules(document)


def test_the_rollover_archives_a_recurring_season_once_it_ended(durable_engine, clock):
    engine = durable_engine
    at(clock, 2027, 7, 1, 12)
    for player in ("p0", "p1"):
        exam(engine, player, correct=10)
    xp = {player: battle_pass.state(engine, player).xp for player in ("p0", "p1")}
    assert maintenance.season_rollover(engine) == 0  # 2027-06-01 is running

    at(clock, 2027, 9, 1, 4)
    assert maintenance.season_rollover(engine) == 2
    with engine.sql.connect() as conn:
        archived = conn.execute(select(db.user_battle_pass_archive)).mappings().all()
    assert {(r["season_id"], r["player_id"], r["xp"]) for r in archived} == {
        ("2027-06-01", "p0", xp["p0"]),
        ("2027-06-01", "p1", xp["p1"]),
    }
    assert not engine.redis.exists(keys.battle_pass("p0", "2027-06-01"))
    assert maintenance.season_rollover(engine) == 0  # done once
    assert battle_pass.state(engine, "p0").season.season_id == "2027-09-01"


def test_a_past_season_reads_the_same_after_the_rollover_archived_it(durable_engine, clock):
    engine = durable_engine
    for minute in range(9):  # 9 x (20 + 10 x 10) XP: level 2, its reward paid
        at(clock, 2027, 7, 1, 12, minute)
        exam(engine, "p0", correct=10)
    before = battle_pass.state(engine, "p0")
    assert before.level == 2 and before.rewards_granted
    # what the level credited is read from its ledger entry once archived: persisted
    # every 5 s, long before the rollover
    persistence.persist(engine)

    at(clock, 2027, 9, 1, 4)
    assert maintenance.season_rollover(engine) == 1
    after = battle_pass.state(engine, "p0", "2027-06-01")
    assert (after.xp, after.level, after.rewards_granted) == (
        before.xp,
        before.level,
        before.rewards_granted,
    )
    never = battle_pass.state(engine, "p1", "2027-06-01")  # a player who never played it
    assert (never.xp, never.level, never.rewards_granted) == (0, 1, [])
