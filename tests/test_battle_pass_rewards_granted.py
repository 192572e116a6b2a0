"""The battle pass's `rewards_granted` says what each level reached credited.

A level's reward is paid within the day's `level_reward` earning cap and under the
balance limit, which may cut it (to nothing). The level's answer (`level_rewards`) and
its ledger entry say what was credited; the battle pass read after says the same, not
the rules' reward: while the season's hash is in Redis, and from SQL's ledger once
the season is archived or the hash was rebuilt without what it paid.
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

from engine import keys
from engine.economy import grants, wallet
from engine.ops import maintenance, persistence
from engine.progression import battle_pass
from tests.progression_play import at, exam


def capped(engine, level_reward: dict[str, int]) -> None:
    """The rules with the day's level_reward earning cap set to `level_reward`."""
    security = engine.rules.security
    caps = dict(security.daily_earning_caps) | {"level_reward": MappingProxyType(level_reward)}
    engine.rules = dataclasses.replace(
        engine.rules,
        security=dataclasses.replace(security, daily_earning_caps=MappingProxyType(caps)),
    )


def to_level_2(engine, player: str) -> list[dict]:
    """One exam of 1,020 XP: level 2 reached; the level rewards its answer gave."""
    recorded = exam(engine, player, correct=100, questions=100, score=100)
    return recorded.summary["progress"]["level_rewards"]


def test_a_reward_the_earning_cap_cut_is_listed_as_credited(engine):
    capped(engine, {"coins": 20})  # the rules pay level 2 { coins = 50 }

    [answered] = to_level_2(engine, "alice")

    assert answered["reward"] == {"coins": 20}
    granted = battle_pass.state(engine, "alice").rewards_granted
    assert granted == [{"level": 2, "reward": {"coins": 20}}]


def test_a_reward_the_balance_limit_cut_is_listed_as_credited(engine):
    limits = dataclasses.replace(engine.rules.limits, max_balance=1000)
    engine.rules = dataclasses.replace(engine.rules, limits=limits)
    grants.grant(engine, "alice", {"coins": 970}, "funds", "funds-alice")

    [answered] = to_level_2(engine, "alice")

    assert answered["reward"] == {"coins": 30}  # what fit under the limit of 1,000
    assert wallet.balances(engine, "alice")["coins"] == 1000
    granted = battle_pass.state(engine, "alice").rewards_granted
    assert granted == [{"level": 2, "reward": answered["reward"]}]


def test_a_reward_cut_to_nothing_is_listed_empty(engine):
    capped(engine, {"coins": 0})
    [answered] = to_level_2(engine, "alice")
    assert answered["reward"] == {}
    granted = battle_pass.state(engine, "alice").rewards_granted
    assert granted == [{"level": 2, "reward": {}}]


def test_an_archived_season_lists_what_its_levels_credited(durable_engine, clock):
    engine = durable_engine
    capped(engine, {"coins": 20})
    at(clock, 2027, 7, 1, 12)
    to_level_2(engine, "p0")
    before = battle_pass.state(engine, "p0").rewards_granted
    assert before == [{"level": 2, "reward": {"coins": 20}}]
    persistence.persist(engine)  # every 5 s in production: long before the rollover

    at(clock, 2027, 9, 1, 4)
    assert maintenance.season_rollover(engine) == 1
    assert not engine.redis.exists(keys.battle_pass("p0", "2027-06-01"))
    assert battle_pass.state(engine, "p0", "2027-06-01").rewards_granted == before


def test_a_hash_without_what_it_paid_reads_it_from_the_sql_ledger(durable_engine, clock):
    """The season's hash as `questboard rebuild` writes it back from SQL (xp and
    rewarded_level), or as it was kept before each level's credit was."""
    engine = durable_engine
    capped(engine, {"coins": 20})
    to_level_2(engine, "p0")
    persistence.persist(engine)
    season = battle_pass.state(engine, "p0").season.season_id
    key = keys.battle_pass("p0", season)
    kept = {field: engine.redis.hget(key, field) for field in (b"xp", b"rewarded_level")}
    engine.redis.delete(key)
    engine.redis.hset(key, mapping=kept)

    granted = battle_pass.state(engine, "p0").rewards_granted

    assert granted == [{"level": 2, "reward": {"coins": 20}}]
