"""Streak repair: a claim that finds the streak broken notes the length lost and the
deadline; within it the player buys the streak back once, for a price that grows with
its length, exactly once per Idempotency-Key. Off unless the rules enable it."""

from __future__ import annotations

import dataclasses
import json
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from config import Settings
from engine import Engine, keys
from engine.calendar import GameCalendar
from engine.economy import activity, grants, ledger, purchases, streak_repair, wallet
from engine.errors import InsufficientFundsError, StreakNotRepairableError
from engine.progression import daily
from engine.rules import parse_rules
from engine.rules.fields import RulesError
from engine.rules.progression import StreakRepair
from tests.test_races import together

REPAIR = StreakRepair(resource="coins", base=50, per_day=10, max_price=500)


@pytest.fixture
def repairing(engine):
    engine.rules = dataclasses.replace(engine.rules, streak_repair=REPAIR)
    return engine


def at(engine, *parts) -> None:
    engine.clock.set(datetime(*parts, tzinfo=UTC))


def streak_of(engine, player: str, days: int, last: int = 20) -> None:
    """Claim `days` game days in a row, the last on 2026-11-`last`."""
    for day in range(last - days + 1, last + 1):
        at(engine, 2026, 11, day, 12)
        activity.login(engine, player)


def fund(engine, player: str, coins: int) -> None:
    grants.grant(engine, player, {"coins": coins}, "funds", f"funds-{player}-{coins}")


def coins(engine, player: str) -> int:
    return wallet.balances(engine, player)["coins"]


def repairs(engine, player: str) -> list:
    return [e for e in ledger.history(engine, player, limit=1000) if e.kind == "streak_repair"]


def broken(engine, player: str = "alice", lost: int = 10) -> None:
    """A streak of `lost` days, the 20th missed, restarted at 1 on the 21st at 12:00."""
    streak_of(engine, player, lost, last=19)
    at(engine, 2026, 11, 21, 12)
    assert activity.login(engine, player).streak == 1


def test_a_repair_within_the_window_restores_the_streak_and_charges_once(repairing):
    broken(repairing)
    fund(repairing, "alice", 1000)
    before = coins(repairing, "alice")

    repaired = streak_repair.repair(repairing, "alice", "r-1")

    assert (repaired.streak, repaired.lost, repaired.best) == (11, 10, 11)
    assert repaired.price == {"coins": 150}  # 50 + 10 x 10
    assert coins(repairing, "alice") == before - 150
    [entry] = repairs(repairing, "alice")
    assert entry.deltas == {"coins": -150}
    assert activity.login(repairing, "alice").streak == 11  # the day is claimed: no change
    at(repairing, 2026, 11, 22, 12)
    assert activity.login(repairing, "alice").streak == 12


def test_a_replay_answers_the_same_and_charges_nothing(repairing):
    broken(repairing)
    fund(repairing, "alice", 1000)
    before = coins(repairing, "alice")
    first = streak_repair.repair(repairing, "alice", "r-1")
    again = streak_repair.repair(repairing, "alice", "r-1")
    assert again.transaction.replayed
    assert (again.streak, again.price, again.transaction.transaction_id) == (
        first.streak,
        first.price,
        first.transaction.transaction_id,
    )
    assert coins(repairing, "alice") == before - 150
    assert len(repairs(repairing, "alice")) == 1


def test_a_break_is_repaired_once(repairing):
    broken(repairing)
    fund(repairing, "alice", 1000)
    before = coins(repairing, "alice")
    streak_repair.repair(repairing, "alice", "r-1")
    with pytest.raises(StreakNotRepairableError) as refused:
        streak_repair.repair(repairing, "alice", "r-2")
    assert refused.value.details == {"reason": "repaired"}
    assert coins(repairing, "alice") == before - 150


def test_after_the_deadline_the_repair_is_refused(repairing):
    broken(repairing)
    fund(repairing, "alice", 1000)
    before = coins(repairing, "alice")
    # lost at the end of the 20th's game day (03:00 UTC on the 21st): 24 hours from there
    offer = daily.state(repairing, "alice").streak_repair
    assert offer.repair_by == datetime(2026, 11, 22, 3, tzinfo=UTC)
    at(repairing, 2026, 11, 22, 3, 0, 1)
    assert daily.state(repairing, "alice").streak_repair is None
    with pytest.raises(StreakNotRepairableError) as refused:
        streak_repair.repair(repairing, "alice", "r-1")
    assert refused.value.details["reason"] == "expired"
    assert (coins(repairing, "alice"), repairs(repairing, "alice")) == (before, [])


def test_short_of_funds_the_repair_is_refused_and_nothing_changes(repairing):
    broken(repairing)
    fund(repairing, "alice", 100)
    held = coins(repairing, "alice")
    with pytest.raises(InsufficientFundsError) as refused:
        streak_repair.repair(repairing, "alice", "r-1")
    assert refused.value.details == {"resource": "coins", "required": 150, "available": held}
    assert coins(repairing, "alice") == held
    assert daily.state(repairing, "alice").streak == 1
    fund(repairing, "alice", 1000)  # the break is still there to buy back, with a new key
    assert streak_repair.repair(repairing, "alice", "r-2").streak == 11


def test_without_a_broken_streak_there_is_nothing_to_repair(repairing):
    streak_of(repairing, "alice", 3)
    fund(repairing, "alice", 1000)
    with pytest.raises(StreakNotRepairableError) as refused:
        streak_repair.repair(repairing, "alice", "r-1")
    assert refused.value.details == {"reason": "none"}
    assert daily.state(repairing, "alice").streak_repair is None


def test_the_price_grows_with_the_length_lost_up_to_its_cap(repairing):
    assert [REPAIR.price(n) for n in (1, 10, 45, 46, 100)] == [60, 150, 500, 500, 500]
    broken(repairing, lost=3)
    offer = daily.state(repairing, "alice").streak_repair
    assert (offer.lost, offer.streak, offer.price) == (3, 4, {"coins": 80})


def test_freezes_bridge_the_gap_first_and_no_repair_is_offered(repairing):
    streak_of(repairing, "alice", 5, last=19)
    fund(repairing, "alice", 1000)
    purchases.purchase(repairing, "alice", "streak_freeze", 1, "freeze")  # claims nothing new
    at(repairing, 2026, 11, 21, 12)
    login = activity.login(repairing, "alice")
    assert (login.streak, login.progress.freezes_used) == (6, 1)
    assert daily.state(repairing, "alice").streak_repair is None


def test_freezes_held_move_the_moment_the_streak_was_lost(repairing):
    # one freeze held, two days missed: the freeze could have carried the streak through
    # the 20th, so it was lost at the end of the 21st's game day and may be bought back
    streak_of(repairing, "alice", 5, last=19)
    fund(repairing, "alice", 1000)
    purchases.purchase(repairing, "alice", "streak_freeze", 1, "freeze")
    at(repairing, 2026, 11, 22, 12)
    login = activity.login(repairing, "alice")
    assert (login.streak, login.progress.freezes_used) == (1, 0)
    offer = daily.state(repairing, "alice").streak_repair
    assert (offer.lost, offer.repair_by) == (5, datetime(2026, 11, 23, 3, tzinfo=UTC))


def test_a_break_found_after_its_window_offers_nothing(repairing):
    streak_of(repairing, "alice", 5, last=19)
    at(repairing, 2026, 11, 22, 12)  # the 20th and 21st missed, no freeze
    assert activity.login(repairing, "alice").streak == 1
    assert daily.state(repairing, "alice").streak_repair is None
    fund(repairing, "alice", 1000)
    with pytest.raises(StreakNotRepairableError) as refused:
        streak_repair.repair(repairing, "alice", "r-1")
    assert refused.value.details == {"reason": "none"}


def test_an_exam_that_finds_the_streak_broken_notes_the_break_too(repairing):
    from engine.boards import exams
    from engine.boards.exams import Exam

    streak_of(repairing, "alice", 4, last=19)
    at(repairing, 2026, 11, 21, 12)
    exams.record_exam(repairing, "alice", Exam("x1", "math", 10, 10, 5))
    assert daily.state(repairing, "alice").streak_repair.lost == 4


def test_a_day_of_23_hours_moves_the_deadline_with_the_clock(repairing):
    # Berlin, clocks forward on 28 Mar 2027: the game day starting at 03:00 CET on the
    # 27th ends at 03:00 CEST on the 28th, 23 hours later
    repairing.calendar = GameCalendar("Europe/Berlin", 3)
    at(repairing, 2027, 3, 26, 12)
    activity.login(repairing, "alice")
    at(repairing, 2027, 3, 28, 12)  # the 27th missed
    activity.login(repairing, "alice")
    offer = daily.state(repairing, "alice").streak_repair
    assert offer.repair_by == datetime(2027, 3, 29, 1, tzinfo=UTC)  # 03:00 CEST + 24 h


def test_repair_is_off_by_default(engine):
    assert engine.rules.streak_repair is None
    broken(engine)
    fund(engine, "alice", 1000)
    before = coins(engine, "alice")
    assert engine.redis.hget(keys.streak("alice"), "lost") is None
    assert daily.state(engine, "alice").streak_repair is None
    with pytest.raises(StreakNotRepairableError) as refused:
        streak_repair.repair(engine, "alice", "r-1")
    assert refused.value.details == {"reason": "disabled"}
    assert coins(engine, "alice") == before


def test_a_recorded_repair_is_answered_again_after_the_rules_turn_it_off(repairing):
    broken(repairing)
    fund(repairing, "alice", 1000)
    first = streak_repair.repair(repairing, "alice", "r-1")
    repairing.rules = dataclasses.replace(repairing.rules, streak_repair=None)
    again = streak_repair.repair(repairing, "alice", "r-1")
    assert (again.transaction.replayed, again.streak) == (True, first.streak)


def test_twenty_concurrent_repairs_with_different_keys_charge_once(
    real_redis, unlimited_rules, clock
):
    engine = Engine(
        redis=real_redis,
        rules=dataclasses.replace(unlimited_rules, streak_repair=REPAIR),
        clock=clock,
    )
    for round_ in range(20):
        player = f"repairer-{round_}"
        broken(engine, player)
        fund(engine, player, 1000)
        before = coins(engine, player)
        results = together(
            20, lambda n, player=player: streak_repair.repair(engine, player, f"r-{n}")
        )
        repaired = [r for r in results if isinstance(r, streak_repair.StreakRepair)]
        refused = [r for r in results if isinstance(r, StreakNotRepairableError)]
        assert (len(repaired), len(refused)) == (1, 19), round_
        assert {r.details["reason"] for r in refused} == {"repaired"}
        assert coins(engine, player) == before - 150, round_
        assert len(repairs(engine, player)) == 1, round_
        assert daily.state(engine, player).streak == 11


def rules_document() -> dict:
    return tomllib.loads(Path(Settings().rules_file).read_text())


def test_the_rules_table_is_read_only_when_enabled():
    document = rules_document()
    document["streak_repair"] = {
        "enabled": True,
        "resource": "coins",
        "base": 50,
        "per_day": 10,
        "max_price": 500,
    }
    assert parse_rules(document).streak_repair == REPAIR
    document["streak_repair"]["enabled"] = False
    assert parse_rules(document).streak_repair is None
    del document["streak_repair"]
    assert parse_rules(document).streak_repair is None


@pytest.mark.parametrize(
    "change, field",
    [
        ({"enabled": "yes"}, "streak_repair.enabled"),
        ({"resource": "gold"}, "streak_repair.resource"),
        ({"base": -1}, "streak_repair.base"),
        ({"per_day": 1.5}, "streak_repair.per_day"),
        ({"base": 0, "per_day": 0}, "streak_repair.per_day"),
        ({"max_price": 10}, "streak_repair.max_price"),  # below base
        ({"window_hours": 25}, "streak_repair.window_hours"),
        ({"discount": 1}, "streak_repair.discount"),
    ],
)
def test_bad_repair_rules_name_the_field(change, field):
    document = rules_document()
    document["streak_repair"] = {
        "enabled": True,
        "resource": "coins",
        "base": 50,
        "per_day": 10,
        "max_price": 500,
    } | change
    with pytest.raises(RulesError, match=field.replace(".", r"\.")):
        parse_rules(document)


def test_persist_writes_the_repair_to_sql_like_a_purchase(durable_engine):
    from sqlalchemy import select

    from engine import db
    from engine.ops import persistence

    durable_engine.rules = dataclasses.replace(durable_engine.rules, streak_repair=REPAIR)
    broken(durable_engine)
    fund(durable_engine, "alice", 1000)
    persistence.persist(durable_engine)  # the restarted streak is in SQL: 1
    repaired = streak_repair.repair(durable_engine, "alice", "r-1")
    persistence.persist(durable_engine)
    with durable_engine.sql.connect() as conn:
        kinds = conn.execute(
            select(db.user_resource_logs.c.kind, db.user_resource_logs.c.deltas).where(
                db.user_resource_logs.c.transaction_id == repaired.transaction.transaction_id
            )
        ).all()
        streak = conn.execute(select(db.user_streaks.c.streak, db.user_streaks.c.best)).one()
    assert [(kind, json.loads(deltas)) for kind, deltas in kinds] == [
        ("streak_repair", {"coins": -150})
    ]
    assert tuple(streak) == (11, 11)


def test_a_player_with_a_time_zone_has_the_deadline_of_their_own_day(repairing):
    from engine.progression import timezones

    timezones.set_timezone(repairing, "kenji", "Asia/Tokyo")
    # Tokyo's game day starts at 03:00 JST, 18:00 UTC the day before
    for day in (18, 19):  # 09:00 JST on the 18th and 19th
        at(repairing, 2026, 11, day, 0)
        activity.login(repairing, "kenji")
    at(repairing, 2026, 11, 21, 0)  # nothing on the 20th in Tokyo
    assert activity.login(repairing, "kenji").streak == 1
    # lost when the 20th ended in Tokyo (18:00 UTC on the 20th): 24 hours from there
    offer = daily.state(repairing, "kenji").streak_repair
    assert (offer.lost, offer.repair_by) == (2, datetime(2026, 11, 21, 18, tzinfo=UTC))
    fund(repairing, "kenji", 1000)
    assert streak_repair.repair(repairing, "kenji", "r-1").streak == 3
