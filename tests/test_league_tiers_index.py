"""The period's league tiers index (keys.league_tiers): the close closes the tiers it
lists, so every tier with cohorts is in it, with the period's expiry, while a process
writes it once a period and tier rather than on every exam."""

from __future__ import annotations

import dataclasses

import pytest

from bench import redis_count
from engine import connection, index_memo, keys, leagues
from engine.boards import exams, moderation
from engine.boards.exams import Exam
from engine.leagues import close, cohorts
from engine.runtime import Engine
from tests.script_state import expires_in

counter = iter(range(1_000_000))


def play(engine, player, score=50):
    exams.record_exam(engine, player, Exam(f"exam-{next(counter)}", "math", score, 10, 10))


def week(engine, clock):
    return engine.calendar.period_of(engine.rules.leagues.period, clock.now())


def index_key(engine, clock) -> str:
    return keys.league_tiers(engine.rules.leagues.period, week(engine, clock).name)


def index_writes(engine, clock, totals: dict[str, int]) -> int:
    """The SADDs a join of `totals` sends (the tiers index's alone: a join writes no other)."""
    with redis_count.sent_commands() as sent:
        leagues.join(engine, clock.now(), totals)
    return sent.commands["sadd"]


def start_in(engine, clock, player, tier):
    record = {"period": week(engine, clock).name, "tier": tier}
    engine.redis.hset(keys.player_league(player), mapping=record)


def tiers_the_close_reads(engine, clock) -> dict[str, int]:
    """tier -> the cohorts the period's close finds in it."""
    final = close.final_standings(engine, week(engine, clock), 0)
    found: dict[str, set[str]] = {}
    for row in final.rows:
        columns = dict(zip(close.COLUMNS, row, strict=True))
        if columns["cohort"]:  # 0: a player removed from the tier, in no cohort
            found.setdefault(columns["tier"], set()).add(columns["cohort"])
    return {tier: len(cohort_ids) for tier, cohort_ids in found.items()}


def test_a_process_writes_a_tier_into_the_index_once_a_period_then_after_a_while(engine, clock):
    assert index_writes(engine, clock, {"a": 10}) == 1
    assert index_writes(engine, clock, {"b": 10, "a": 20}) == 0
    start_in(engine, clock, "s", "silver")
    assert index_writes(engine, clock, {"s": 10, "c": 5}) == 1  # silver is new to it

    another_process = Engine(redis=engine.redis, rules=engine.rules, clock=clock)
    assert index_writes(another_process, clock, {"a": 30}) == 1

    clock.advance(seconds=index_memo.REFRESH_S - 1)
    assert index_writes(engine, clock, {"a": 40}) == 0
    clock.advance(seconds=1)
    assert index_writes(engine, clock, {"a": 50}) == 1
    assert engine.redis.smembers(index_key(engine, clock)) == {b"bronze", b"silver"}


def test_the_index_has_the_periods_expiry(engine, clock):
    play(engine, "alice")
    ttl = int(cohorts.expires_at(engine, week(engine, clock)).timestamp() - clock.now().timestamp())
    assert expires_in(engine.redis, index_key(engine, clock)) == ttl
    for key in cohorts.slot_keys(engine.rules.leagues.period, week(engine, clock).name, "bronze"):
        assert expires_in(engine.redis, key) == ttl


def lose_everything(redis) -> None:
    """Redis loses its data (a flush, or a failover to an empty replica)."""
    for primary in connection.primaries(redis):
        primary.flushdb()  # on a cluster's node, all it has: a cluster has only database 0


@pytest.mark.also_on_cluster
def test_a_tier_opened_again_after_redis_lost_its_data_is_indexed_and_closed(engine, clock):
    play(engine, "alice")
    lose_everything(engine.redis)

    play(engine, "bob")  # the tier opened again by a process that wrote its index

    key = index_key(engine, clock)
    assert engine.redis.smembers(key) == {b"bronze"}
    ttl = int(cohorts.expires_at(engine, week(engine, clock)).timestamp() - clock.now().timestamp())
    assert expires_in(engine.redis, key) == ttl
    for slot_key in cohorts.slot_keys(
        engine.rules.leagues.period, week(engine, clock).name, "bronze"
    ):
        assert expires_in(engine.redis, slot_key) == ttl
    assert tiers_the_close_reads(engine, clock) == {"bronze": 1}


@pytest.mark.also_on_cluster
def test_a_tier_opened_again_through_join_is_indexed_again(engine, clock):
    leagues.join(engine, clock.now(), {"alice": 10})
    lose_everything(engine.redis)

    leagues.join(engine, clock.now(), {"bob": 10})

    assert engine.redis.smembers(index_key(engine, clock)) == {b"bronze"}


def test_an_index_lost_alone_is_written_again_within_the_refresh(engine, clock):
    play(engine, "alice")
    engine.redis.delete(index_key(engine, clock))  # the cohorts are kept

    play(engine, "bob")
    assert not engine.redis.exists(index_key(engine, clock))  # not yet: the memo holds it
    clock.advance(seconds=index_memo.REFRESH_S)
    play(engine, "bob")

    assert engine.redis.smembers(index_key(engine, clock)) == {b"bronze"}


def test_a_tier_of_the_rules_is_closed_even_when_its_index_was_lost_after_the_last_exam(
    engine, clock
):
    play(engine, "alice")
    start_in(engine, clock, "sam", "silver")
    play(engine, "sam")
    engine.redis.delete(index_key(engine, clock))  # lost alone; no exam writes it again

    assert tiers_the_close_reads(engine, clock) == {"bronze": 1, "silver": 1}


def test_a_tier_the_rules_no_longer_list_is_closed_from_the_index(engine, clock):
    start_in(engine, clock, "gil", "gold")
    play(engine, "gil")
    assert b"gold" in engine.redis.smembers(index_key(engine, clock))
    dropped = dataclasses.replace(engine.rules.leagues, tiers=("bronze", "silver"))
    engine.rules = dataclasses.replace(engine.rules, leagues=dropped)

    final = close.final_standings(engine, week(engine, clock), 0)
    [gil] = [dict(zip(close.COLUMNS, row, strict=True)) for row in final.rows]
    assert (gil["player_id"], gil["tier"], gil["next_tier"]) == ("gil", "gold", "bronze")


def test_moderation_takes_a_player_out_of_a_tier_whose_index_was_lost(engine, clock):
    start_in(engine, clock, "sam", "silver")
    play(engine, "sam")
    play(engine, "sue")  # bronze
    engine.redis.delete(index_key(engine, clock))

    left = moderation.remove_from_cohorts(engine, "sam")

    assert [entry.cohort_id for entry in left] == ["silver-1"]
    assert tiers_the_close_reads(engine, clock) == {"bronze": 1}
