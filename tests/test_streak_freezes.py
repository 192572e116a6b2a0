"""Streak freezes: bought in the catalog, held in the wallet, used on the next activity
after missed game days, one a missed day, only when they cover the whole gap."""

from __future__ import annotations

import dataclasses
import itertools
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from config import Settings
from engine.boards import exams
from engine.boards.exams import Exam
from engine.calendar import GameCalendar
from engine.economy import activity, grants, ledger, purchases, wallet
from engine.errors import BalanceLimitError
from engine.progression import daily
from engine.rules import parse_rules
from engine.rules.fields import RulesError
from engine.rules.progression import StreakFreeze

keys_used = itertools.count()


def at(engine, *parts) -> None:
    engine.clock.set(datetime(*parts, tzinfo=UTC))


def buy_freezes(engine, player: str, count: int) -> None:
    grants.grant(engine, player, {"coins": 1000}, "funds", f"funds-{next(keys_used)}")
    purchases.purchase(engine, player, "streak_freeze", count, f"freeze-{next(keys_used)}")


def held(engine, player: str) -> int:
    return wallet.balances(engine, player).get("streak_freeze", 0)


def freeze_entries(engine, player: str) -> list:
    return [e for e in ledger.history(engine, player, limit=1000) if e.kind == "streak_freeze"]


def test_the_catalog_sells_freezes_up_to_the_most_a_player_may_hold(engine):
    assert engine.rules.streak_freeze == StreakFreeze(max_held=2, max_gap_days=2)
    buy_freezes(engine, "alice", 2)
    assert held(engine, "alice") == 2
    coins = wallet.balances(engine, "alice")["coins"]
    with pytest.raises(BalanceLimitError):
        purchases.purchase(engine, "alice", "streak_freeze", 1, "one-more")
    assert (held(engine, "alice"), wallet.balances(engine, "alice")["coins"]) == (2, coins)


def test_one_missed_day_uses_one_freeze_and_the_streak_goes_on(engine):
    for day in (20, 21, 22):
        at(engine, 2026, 11, day, 12)
        activity.login(engine, "alice")
    buy_freezes(engine, "alice", 2)
    at(engine, 2026, 11, 24, 12)  # nothing on the 23rd
    login = activity.login(engine, "alice")
    assert (login.streak, login.progress.freezes_used) == (4, 1)
    assert held(engine, "alice") == 1
    [entry] = freeze_entries(engine, "alice")
    assert entry.deltas == {"streak_freeze": -1}
    assert "2026-11-23" in entry.reason


def test_two_missed_days_use_two_freezes_each_its_own_ledger_entry(engine):
    at(engine, 2026, 11, 20, 12)
    activity.login(engine, "alice")
    buy_freezes(engine, "alice", 2)
    at(engine, 2026, 11, 23, 12)  # nothing on the 21st and 22nd
    login = activity.login(engine, "alice")
    assert (login.streak, login.progress.freezes_used) == (2, 2)
    assert held(engine, "alice") == 0
    reasons = sorted(e.reason for e in freeze_entries(engine, "alice"))
    assert [r[-10:] for r in reasons] == ["2026-11-21", "2026-11-22"]


def test_too_few_freezes_restart_the_streak_and_none_is_used(engine):
    at(engine, 2026, 11, 20, 12)
    activity.login(engine, "alice")
    buy_freezes(engine, "alice", 1)
    at(engine, 2026, 11, 23, 12)  # two days missed, one freeze held
    login = activity.login(engine, "alice")
    assert (login.streak, login.progress.freezes_used) == (1, 0)
    assert held(engine, "alice") == 1
    assert freeze_entries(engine, "alice") == []


def test_a_gap_longer_than_the_rules_bridge_restarts_the_streak(engine):
    rules = engine.rules
    engine.rules = dataclasses.replace(rules, streak_freeze=StreakFreeze(5, 2))
    at(engine, 2026, 11, 20, 12)
    activity.login(engine, "alice")
    grants.grant(engine, "alice", {"coins": 1000}, "funds", "funds")
    for n in range(3):
        purchases.purchase(engine, "alice", "streak_freeze", 1, f"f{n}")
    at(engine, 2026, 11, 24, 12)  # three days missed: more than the 2 one gap may bridge
    login = activity.login(engine, "alice")
    assert (login.streak, login.progress.freezes_used, held(engine, "alice")) == (1, 0, 3)


def test_without_a_gap_no_freeze_is_used(engine):
    buy_freezes(engine, "alice", 2)  # claims the 25th
    at(engine, 2026, 11, 26, 12)
    login = activity.login(engine, "alice")
    assert (login.streak, login.progress.freezes_used, held(engine, "alice")) == (2, 0, 2)


def test_an_exam_after_a_missed_day_uses_a_freeze(engine):
    at(engine, 2026, 11, 23, 12)
    buy_freezes(engine, "alice", 1)
    at(engine, 2026, 11, 25, 12)
    result = exams.record_exam(engine, "alice", Exam("x1", "math", 10, 10, 5))
    progress = result.summary["progress"]
    assert (progress["streak"], progress["freezes_used"]) == (2, 1)
    assert held(engine, "alice") == 0


@pytest.mark.parametrize(
    "last, missed, back",
    [
        # Berlin, clocks back on 25 Oct 2026: that game day is 25 hours long
        ((2026, 10, 24, 1, 30), ["2026-10-25"], (2026, 10, 26, 2, 30)),
        # clocks forward on 28 Mar 2027: a 23-hour game day
        ((2027, 3, 27, 12), ["2027-03-28"], (2027, 3, 29, 1, 30)),
    ],
)
def test_freezes_count_game_days_across_daylight_saving(engine, last, missed, back):
    engine.calendar = GameCalendar("Europe/Berlin", 3)
    at(engine, *last)
    buy_freezes(engine, "alice", 2)
    at(engine, *back)
    login = activity.login(engine, "alice")
    assert (login.claimed, login.streak, login.progress.freezes_used) == (True, 2, len(missed))
    assert [e.reason[-10:] for e in freeze_entries(engine, "alice")] == missed


def test_an_activity_just_before_the_reset_after_a_dst_day_still_needs_its_freeze(engine):
    engine.calendar = GameCalendar("Europe/Berlin", 3)
    at(engine, 2026, 10, 24, 12)
    buy_freezes(engine, "alice", 2)
    # 01:30 UTC on the 26th is 02:30 CET: still the 25th's game day, so nothing was missed
    at(engine, 2026, 10, 26, 1, 30)
    login = activity.login(engine, "alice")
    assert (login.streak, login.progress.freezes_used) == (2, 0)


def test_freezes_bridge_the_turn_of_the_year(engine):
    at(engine, 2026, 12, 30, 12)
    buy_freezes(engine, "alice", 2)
    at(engine, 2027, 1, 2, 12)  # nothing on 31 December and 1 January
    login = activity.login(engine, "alice")
    assert (login.streak, login.progress.freezes_used) == (2, 2)
    assert sorted(e.reason[-10:] for e in freeze_entries(engine, "alice")) == [
        "2026-12-31",
        "2027-01-01",
    ]


def test_rules_default_to_two_freezes_and_none_without_the_table():
    document = tomllib.loads(Path(Settings().rules_file).read_text())
    document["streak_freeze"] = {"max_gap_days": 3}
    assert parse_rules(document).streak_freeze == StreakFreeze(max_held=2, max_gap_days=3)
    del document["streak_freeze"]
    with pytest.raises(RulesError, match=r"catalog\.streak_freeze\.gives\.streak_freeze"):
        parse_rules(document)  # without the table, streak_freeze is no resource to sell
    del document["catalog"]["streak_freeze"]
    assert parse_rules(document).streak_freeze is None


def test_the_days_state_shows_a_streak_the_freezes_held_will_bridge(engine):
    at(engine, 2026, 11, 20, 12)
    activity.login(engine, "alice")
    at(engine, 2026, 11, 21, 12)
    buy_freezes(engine, "alice", 1)  # the streak is 2
    at(engine, 2026, 11, 23, 12)  # the 22nd missed: one freeze bridges it
    assert daily.state(engine, "alice").streak == 2
    at(engine, 2026, 11, 24, 12)  # two missed, one freeze: broken
    assert daily.state(engine, "alice").streak == 0


def test_a_grant_may_not_take_the_freezes_held_above_the_most(engine):
    grants.grant(engine, "alice", {"streak_freeze": 2}, "gift", "g-1")
    with pytest.raises(BalanceLimitError) as refused:
        grants.grant(engine, "alice", {"streak_freeze": 1, "coins": 5}, "gift", "g-2")
    assert refused.value.details == {"resource": "streak_freeze", "limit": 2, "balance": 2}
    assert (held(engine, "alice"), wallet.balances(engine, "alice")["coins"]) == (2, 0)
    grants.grant(engine, "alice", {"streak_freeze": -1}, "take one back", "g-3")
    assert held(engine, "alice") == 1  # taking freezes away is no holding


def test_a_batch_refuses_only_the_grant_that_would_hold_too_many_freezes(engine):
    items = [
        grants.GrantItem("alice", {"streak_freeze": 3}, "gift", "b-1"),
        grants.GrantItem("bob", {"streak_freeze": 2}, "gift", "b-2"),
    ]
    refused, granted = grants.grant_batch(engine, items)
    assert isinstance(refused, BalanceLimitError)
    assert refused.details == {"resource": "streak_freeze", "limit": 2, "balance": 0}
    assert granted.balances["streak_freeze"] == 2
    assert (held(engine, "alice"), held(engine, "bob")) == (0, 2)
    assert grants.grant_batch(engine, items)[0].replayed  # the refusal is recorded
