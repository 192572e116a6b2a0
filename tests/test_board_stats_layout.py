"""A player's board stats in one hash (engine.boards.exam_stats), and the hashes of the
layout before (one a period) that a deployed Redis still holds: every reader (the
player's ranks, moderation, the persist job) finds a period in either, and the player's
first exam of a period moves the earlier one in. On fakeredis and Redis; the persist
job on the real Redis and SQL.
"""

from __future__ import annotations

from sqlalchemy import select

from engine import boards, db, keys
from engine.boards import exam_stats, leaderboards, moderation
from engine.boards.exams import Exam, record_exam
from engine.calendar import PERIOD_TYPES
from engine.ops import persistence, rebuild


def totals(text: bytes) -> tuple[int, int, int, int]:
    sums = boards.Sums.parse(text)
    return sums.score, sums.exams, sums.questions, sums.correct


def current_periods(engine):
    return [boards.current_period(engine, t) for t in PERIOD_TYPES]


def as_earlier_layout(redis, player: str, periods) -> dict[str, dict[bytes, bytes]]:
    """Rewrite the player's stats hash as a version before it wrote them: one hash a
    period, category -> sums. Returns what each earlier hash holds."""
    stats = redis.hgetall(keys.board_stats(player))
    written = {}
    for period, key in zip(periods, exam_stats.earlier_keys(player, periods), strict=True):
        sums = exam_stats.of_period(stats, {}, period)
        redis.hset(key, mapping=sums)
        redis.expire(key, 3600)
        written[key] = {name.encode(): value for name, value in sums.items()}
    redis.delete(keys.board_stats(player))
    return written


def test_one_hash_holds_every_period_of_the_player(engine):
    record_exam(engine, "alice", Exam("e1", "math", 30, 10, 5))
    record_exam(engine, "alice", Exam("e2", "art", 20, 10, 5))

    stats = engine.redis.hgetall(keys.board_stats("alice"))

    names = [p.name for p in current_periods(engine)]
    assert sorted(stats) == sorted(
        f"{name}:{category}".encode() for name in names for category in ("global", "math", "art")
    )
    assert all(
        value.startswith(b"50:2:20:10:") for name, value in stats.items() if b"global" in name
    )
    assert not any(
        engine.redis.exists(k) for k in exam_stats.earlier_keys("alice", current_periods(engine))
    )


def test_a_players_day_of_three_categories_is_one_small_listpack(real_redis, rules, clock):
    from engine.runtime import Engine

    engine = Engine(redis=real_redis, rules=rules, clock=clock)
    for n, category in enumerate(("history", "geography", "language")):
        record_exam(engine, "alice", Exam(f"e{n}", category, 207, 10, 9))

    stats = keys.board_stats("alice")
    assert real_redis.hlen(stats) == 12  # 3 periods x (global + 3 categories)
    assert real_redis.object("encoding", stats) == b"listpack"
    assert real_redis.memory_usage(stats, samples=0) < 600  # was 3 hashes of 216 bytes


def test_the_players_ranks_read_a_period_kept_in_the_earlier_layout(engine):
    record_exam(engine, "alice", Exam("e1", "math", 30, 10, 5))
    expected = [(s.board, s.entry.score) for s in leaderboards.player_ranks(engine, "alice")]

    as_earlier_layout(engine.redis, "alice", current_periods(engine))

    assert [
        (s.board, s.entry.score) for s in leaderboards.player_ranks(engine, "alice")
    ] == expected
    assert len(expected) == 6


def test_the_first_exam_after_the_upgrade_moves_the_period_in_and_adds_to_it(engine):
    record_exam(engine, "alice", Exam("e1", "math", 30, 10, 5))
    periods = current_periods(engine)
    earlier = as_earlier_layout(engine.redis, "alice", periods)

    record_exam(engine, "alice", Exam("e2", "art", 20, 10, 5))

    stats = engine.redis.hgetall(keys.board_stats("alice"))
    for period in periods:
        sums = exam_stats.of_period(stats, {}, period)
        assert totals(sums["global"]) == (50, 2, 20, 10)
        assert sums["math"] == earlier[exam_stats.earlier_keys("alice", [period])[0]][b"math"]
        assert totals(sums["art"]) == (20, 1, 10, 5)
    assert not any(engine.redis.exists(key) for key in earlier)


def test_moderation_removes_the_player_from_boards_found_in_either_layout(engine):
    record_exam(engine, "alice", Exam("e1", "math", 30, 10, 5))
    record_exam(engine, "bob", Exam("e2", "math", 10, 10, 5))
    as_earlier_layout(engine.redis, "alice", current_periods(engine))

    removal = moderation.remove_player(engine, "alice")

    assert len(removal.boards) == 6
    assert leaderboards.player_ranks(engine, "alice") == []
    assert not engine.redis.exists(keys.board_stats("alice"))
    assert not any(
        engine.redis.exists(key)
        for key in exam_stats.earlier_keys("alice", current_periods(engine))
    )


def test_the_persist_job_writes_a_period_recorded_in_the_earlier_layout(durable_engine):
    """An exam counted by the version before, persisted by this one: its period's sums
    are in the earlier hash only."""
    engine = durable_engine
    record_exam(engine, "alice", Exam("e1", "math", 30, 10, 5))
    as_earlier_layout(engine.redis, "alice", current_periods(engine))

    persistence.persist(engine)

    table = db.quiz_leaderboard_aggregates
    with engine.sql.connect() as conn:
        rows = conn.execute(select(table).where(table.c.player_id == "alice")).mappings().all()
    assert sorted((r["period_type"], r["category"], r["total_score"]) for r in rows) == sorted(
        (t, c, 30) for t in PERIOD_TYPES for c in ("global", "math")
    )


def test_a_rebuild_gives_back_the_one_hash_with_the_longest_periods_expiry(durable_engine):
    engine = durable_engine
    record_exam(engine, "alice", Exam("e1", "math", 30, 10, 5))
    record_exam(engine, "alice", Exam("e2", "art", 20, 10, 5))
    persistence.persist(engine)
    stats = keys.board_stats("alice")
    before, lifetime = engine.redis.hgetall(stats), engine.redis.ttl(stats)

    engine.redis.flushdb()
    rebuild.rebuild(engine)

    assert engine.redis.hgetall(stats) == before
    assert lifetime - 5 <= engine.redis.ttl(stats) <= lifetime
