"""A streak repaired to a milestone day pays that day's milestone, exactly once.

The claim that finds a streak broken restarts it at 1 and pays that day's bonus as
day 1 of a streak; the repair then restores the streak to the length lost plus the days
claimed since. When a restored day is a milestone (every `milestone_every` days) that
the claim paid as an ordinary day, the repair pays what the milestone pays beyond it in
the same atomic call: a player who repairs is paid what a player who never missed
was, no less, and no more when the repair, the next login or both are retried or raced.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from engine import Engine
from engine.economy import activity, grants, ledger, streak_repair, wallet
from engine.errors import StreakNotRepairableError
from engine.rules.progression import StreakRepair
from tests.test_races import together

REPAIR = StreakRepair(resource="coins", base=50, per_day=10, max_price=500)


@pytest.fixture
def repairing(engine):
    engine.rules = dataclasses.replace(engine.rules, streak_repair=REPAIR)
    return engine


def at(engine, day: int, hour: int = 12) -> None:
    engine.clock.set(datetime(2026, 11, day, hour, tzinfo=UTC))


def claims(engine, player: str, days: range) -> None:
    for day in days:
        at(engine, day)
        activity.login(engine, player)


def broken(engine, player: str, lost: int) -> None:
    """`lost` days claimed up to the 19th, the 20th missed, restarted at 1 on the 21st,
    and coins to buy the streak back."""
    claims(engine, player, range(20 - lost, 20))
    at(engine, 21)
    assert activity.login(engine, player).streak == 1
    grants.grant(engine, player, {"coins": 1000}, "funds", f"funds-{player}")


def held(engine, player: str) -> dict[str, int]:
    balances = wallet.balances(engine, player)
    return {name: balances[name] for name in ("logs", "steel")}


def bonuses(engine, player: str) -> list:
    return [e for e in ledger.history(engine, player, limit=1000) if e.kind == "login_bonus"]


def test_a_repair_to_the_seventh_day_pays_its_milestone_as_a_player_who_never_missed(
    repairing,
):
    claims(repairing, "bob", range(15, 22))  # the 15th to the 21st: day 7 on the 21st
    broken(repairing, "alice", lost=6)

    repaired = streak_repair.repair(repairing, "alice", "r-1")

    assert repaired.streak == 7
    assert held(repairing, "alice")["steel"] == held(repairing, "bob")["steel"] == 10
    assert held(repairing, "alice")["logs"] >= held(repairing, "bob")["logs"]
    milestone = repairing.rules.login_bonus.milestone_reward  # {"steel": 10}
    [bonus] = repaired.milestone_bonuses
    assert (bonus["streak"], bonus["reward"]) == (7, dict(milestone))
    [paid] = [e for e in bonuses(repairing, "alice") if e.deltas == dict(milestone)]
    assert paid.transaction_id == bonus["transaction_id"]
    assert "streak day 7" in paid.reason


def test_a_repair_to_an_ordinary_day_pays_no_bonus(repairing):
    broken(repairing, "alice", lost=10)  # its day 7 paid its milestone on the 16th
    before = held(repairing, "alice")
    repaired = streak_repair.repair(repairing, "alice", "r-1")
    assert (repaired.streak, repaired.milestone_bonuses) == (11, [])
    assert held(repairing, "alice") == before == {"logs": 10, "steel": 10}


def test_the_milestone_is_paid_once_through_replays_and_the_logins_after(repairing):
    broken(repairing, "alice", lost=13)  # repaired to 14: the second milestone
    assert held(repairing, "alice")["steel"] == 10  # the first, on the 13th
    first = streak_repair.repair(repairing, "alice", "r-1")
    again = streak_repair.repair(repairing, "alice", "r-1")
    assert again.transaction.replayed
    assert again.milestone_bonuses == first.milestone_bonuses
    assert [bonus["streak"] for bonus in first.milestone_bonuses] == [14]
    with pytest.raises(StreakNotRepairableError):
        streak_repair.repair(repairing, "alice", "r-2")

    assert activity.login(repairing, "alice", idempotency_key="s-1").claimed is False
    at(repairing, 22)
    nextday = activity.login(repairing, "alice", idempotency_key="s-2")
    retried = activity.login(repairing, "alice", idempotency_key="s-2")
    unkeyed = activity.login(repairing, "alice")

    assert (nextday.streak, nextday.reward) == (15, {"logs": 1})
    assert retried.replayed and retried.reward == nextday.reward
    assert unkeyed.claimed is False
    assert held(repairing, "alice")["steel"] == 20


@pytest.mark.also_on_cluster
def test_repairs_and_logins_raced_pay_the_milestone_once(real_redis, unlimited_rules, clock):
    engine = Engine(
        redis=real_redis,
        rules=dataclasses.replace(unlimited_rules, streak_repair=REPAIR),
        clock=clock,
    )
    for round_ in range(10):
        player = f"racer-{round_}"
        broken(engine, player, lost=6)

        def attempt(n: int, player: str = player):
            if n % 2:
                return activity.login(engine, player, idempotency_key=f"in-{n}")
            return streak_repair.repair(engine, player, f"r-{n}")

        results = together(12, attempt)

        repaired = [r for r in results if isinstance(r, streak_repair.StreakRepair)]
        refused = [r for r in results if isinstance(r, StreakNotRepairableError)]
        logins = [r for r in results if isinstance(r, activity.LoginResult)]
        assert (len(repaired), len(refused), len(logins)) == (1, 5, 6), results
        assert all(r.details == {"reason": "repaired"} for r in refused)
        assert not any(login.claimed for login in logins)
        [bonus] = repaired[0].milestone_bonuses
        assert bonus["reward"] == {"steel": 10}
        assert held(engine, player)["steel"] == 10
        assert len(bonuses(engine, player)) == 6 + 1 + 1  # 6 days, the restart, the milestone


def test_the_balance_limit_cuts_the_milestone_and_the_answer_says_what_was_credited(
    repairing,
):
    most, room = 2000, 4
    limits = dataclasses.replace(repairing.rules.limits, max_balance=most)
    repairing.rules = dataclasses.replace(repairing.rules, limits=limits)
    broken(repairing, "alice", lost=6)
    grants.grant(repairing, "alice", {"steel": most - room}, "steel", "steel-alice")

    repaired = streak_repair.repair(repairing, "alice", "r-1")

    [bonus] = repaired.milestone_bonuses
    assert (bonus["streak"], bonus["reward"]) == (7, {"steel": room})
    assert held(repairing, "alice")["steel"] == most
    assert repaired.transaction.balances["steel"] == most


def test_a_repair_at_its_deadline_after_the_next_days_claim_pays_that_days_milestone(
    repairing,
):
    broken(repairing, "alice", lost=5)  # restarted at 1 on the 21st
    deadline = datetime(2026, 11, 22, 3, tzinfo=UTC)  # 24 h from the 21st's start
    repairing.clock.set(deadline)
    assert activity.login(repairing, "alice").streak == 2  # the 22nd's claim, day 2
    before = held(repairing, "alice")["steel"]

    repaired = streak_repair.repair(repairing, "alice", "r-1")

    assert repaired.streak == 7  # 5 lost, the 21st and the 22nd restored as 6 and 7
    assert [(b["streak"], b["reward"]) for b in repaired.milestone_bonuses] == [(7, {"steel": 10})]
    assert held(repairing, "alice")["steel"] == before + 10
