"""A rebuild over a Redis that lost only part of its data (a cluster that lost some
masters' data, or keys lost some other way) never lowers what Redis still holds: SQL's
copy is up to a persist interval behind it. Live boards keep their totals, aggregates
and order among equal totals; a player's board stats, battle pass and streak keep
their newer values; what was lost comes back from SQL. SQLite and MariaDB, on the real
Redis and the cluster."""

from __future__ import annotations

import pytest

from engine import connection, keys, leagues
from engine.boards import exams
from engine.boards.exams import Exam
from engine.economy import activity
from engine.ops import persistence, rebuild

pytestmark = pytest.mark.also_on_cluster

PLAYERS = ("alice", "bob", "carol")
BOARDS = [
    keys.board_scores("weekly", "2026-W48", "global"),
    keys.board_aggregates("weekly", "2026-W48", "global"),
    keys.board_scores("weekly", "2026-W48", "math"),
    keys.board_aggregates("weekly", "2026-W48", "math"),
    keys.board_scores("monthly", "2026-11", "global"),
    keys.board_aggregates("monthly", "2026-11", "global"),
]


def play(engine, player: str, score: int, exam_id: str) -> None:
    exams.record_exam(engine, player, Exam(exam_id, "math", score, 10, 5))


def boards(engine) -> dict[str, object]:
    """Every key of BOARDS as Redis holds it: scores with their composites, aggregates."""
    held = {}
    for key in BOARDS:
        if "scores" in key:
            held[key] = engine.redis.zrange(key, 0, -1, withscores=True)
        else:
            held[key] = engine.redis.hgetall(key)
    return held


def lose(engine, pattern: str) -> None:
    """The keys matching `pattern` lost, on every primary; the others kept."""
    for found in connection.scan_keys(engine.redis, pattern, 1_000):
        for key in found:
            engine.redis.delete(key)


def player_keys(engine, player: str) -> dict[str, dict]:
    """The player-slot hashes the rebuild writes from SQL, as Redis holds them."""
    return {
        "stats": engine.redis.hgetall(keys.board_stats(player)),
        "streak": engine.redis.hgetall(keys.streak(player)),
        "battle_pass": engine.redis.hgetall(keys.battle_pass(player, "2026-autumn")),
    }


def test_boards_a_lost_master_left_keep_their_totals_aggregates_and_order(durable_engine, clock):
    engine = durable_engine
    play(engine, "carol", 20, "carol-1")  # carol reaches 20 first, bob in the same second
    play(engine, "bob", 20, "bob-1")
    play(engine, "alice", 30, "alice-1")
    persistence.persist(engine)  # SQL: alice 30; bob and carol 20 (by id within a second)
    play(engine, "alice", 25, "alice-2")  # alice 55, not persisted yet
    live = boards(engine)
    standings = {p: leagues.player_league(engine, p, clock.now()) for p in PLAYERS}
    leader = standings["alice"].cohort.members[0]
    assert (leader.player_id, leader.score) == ("alice", 55)
    lose(engine, f"{keys.PREFIX}:{{p*}}:*")  # every player shard's keys
    assert rebuild.live_wallet(engine) is None  # the guard lets it through

    rebuild.rebuild(engine)

    assert boards(engine) == live
    # the league's cohort, too, keeps alice's live 55 (join_league.lua only raises scores)
    assert {p: leagues.player_league(engine, p, clock.now()) for p in PLAYERS} == standings
    math = keys.board_aggregates("weekly", "2026-W48", "math")
    assert engine.redis.hget(math, "alice") == b"55:2:20:10"


def test_a_rebuild_over_a_redis_that_lost_only_its_wallets_lowers_nothing_else(
    durable_engine, clock
):
    engine = durable_engine
    activity.login(engine, "alice")
    play(engine, "alice", 30, "alice-1")
    persistence.persist(engine)
    clock.advance(days=1)
    activity.login(engine, "alice")  # streak 2, a day later than SQL's copy
    play(engine, "alice", 25, "alice-2")  # more stats and battle-pass XP than SQL's
    live = player_keys(engine, "alice")
    assert all(live.values())
    lose(engine, keys.wallets_pattern())

    rebuild.rebuild(engine)

    assert player_keys(engine, "alice") == live


def test_a_players_next_exam_counts_on_from_the_totals_a_kept_board_holds(durable_engine, clock):
    engine = durable_engine
    play(engine, "alice", 30, "alice-1")
    persistence.persist(engine)  # SQL: alice 30
    play(engine, "alice", 25, "alice-2")  # 55 on the boards, her stats lost with her shard
    lose(engine, f"{keys.PREFIX}:{{p*}}:*")
    rebuild.rebuild(engine)
    clock.advance(minutes=1)

    play(engine, "alice", 10, "alice-3")

    for period_type, period in (("weekly", "2026-W48"), ("monthly", "2026-11")):
        for category in ("global", "math"):
            aggregates = keys.board_aggregates(period_type, period, category)
            assert engine.redis.hget(aggregates, "alice") == b"65:3:30:15"
