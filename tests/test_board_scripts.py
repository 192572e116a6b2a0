"""The leaderboard Lua scripts called directly: forward-only writes, replay codes."""

from __future__ import annotations

import json

from engine import keys
from engine.scripts import Scripts

M = 1 << 20
SCORES, AGGREGATES = "qb:{lb:t}:scores", "qb:{lb:t}:aggregates"


NOW_S = 1_795_600_000


def player_args(player, total, reached, exams):
    composite = total * M + (M - 1 - reached)
    return [f"{player}|{composite}|{total}:{exams}:{exams * 10}:{exams * 5}"]


def update(redis, player, total, reached, exams, expire_at=NOW_S + 86_400):
    return Scripts(redis).update_board(
        keys=[SCORES, AGGREGATES],
        args=[M, expire_at, NOW_S, *player_args(player, total, reached, exams)],
    )


def test_one_call_updates_many_players_and_answers_their_final_ranks(any_redis):
    update(any_redis, "a", 60, 1, exams=1)
    reply = Scripts(any_redis).update_board(
        keys=[SCORES, AGGREGATES],
        args=[
            M,
            NOW_S + 60,
            NOW_S,
            *player_args("b", 80, 2, 1),
            *player_args("c", 60, 3, 1),
            *player_args("b", 90, 4, 2),
        ],
    )
    # b's first write (80) is ranked against the board as the call leaves it.
    assert reply == [2, 80, 2, 60, 1, 90]
    assert any_redis.hget(AGGREGATES, "b") == b"90:2:20:10"


def test_board_writes_only_move_forward(any_redis):
    update(any_redis, "alice", 50, 10, exams=2)
    update(any_redis, "alice", 30, 5, exams=1)  # an older update arriving late
    assert any_redis.zscore(SCORES, "alice") == 50 * M + (M - 1 - 10)
    assert any_redis.hget(AGGREGATES, "alice") == b"50:2:20:10"


def test_an_exam_that_scores_nothing_still_counts_in_the_aggregates(any_redis):
    update(any_redis, "alice", 50, 10, exams=2)
    update(any_redis, "alice", 50, 10, exams=3)  # same total, so the same composite
    assert any_redis.hget(AGGREGATES, "alice") == b"50:3:30:15"
    update(any_redis, "alice", 50, 10, exams=2)  # and the older write stays behind it
    assert any_redis.hget(AGGREGATES, "alice") == b"50:3:30:15"


def test_repeating_an_update_changes_nothing(any_redis):
    first = update(any_redis, "alice", 50, 10, exams=2)
    again = update(any_redis, "alice", 50, 10, exams=2)
    assert first == again == [1, 50]
    assert any_redis.zcard(SCORES) == 1


def test_update_answers_the_competition_rank(any_redis):
    update(any_redis, "a", 90, 1, exams=1)
    update(any_redis, "b", 70, 2, exams=1)
    update(any_redis, "c", 70, 3, exams=1)
    assert update(any_redis, "d", 10, 4, exams=1) == [4, 10]
    assert update(any_redis, "c", 70, 3, exams=1) == [2, 70]


def test_update_sets_the_expiry_relative_to_engine_time(any_redis):
    update(any_redis, "alice", 1, 1, exams=1, expire_at=NOW_S + 3600)
    assert 3590 <= any_redis.ttl(SCORES) <= 3600
    assert 3590 <= any_redis.ttl(AGGREGATES) <= 3600


NO_PROGRESS = "1|d|4000000000|100|||"  # day, name, expiry, pace, no season, no missions
NO_REWARDS = json.dumps(
    {
        "bonus": {"normal": {"logs": 1}, "milestone": {"steel": 1}, "every": 7},
        "missions": {},
        "levels": {},
        "caps": {},
    }
)


def record(redis, fingerprint="fp", score=10, player="alice", exam_id="x1"):
    """record_exams.lua for one exam, with a context that pays nothing."""
    stats = [keys.player_board_stats(player, t, "p") for t in ("weekly", "monthly", "yearly")]
    player_keys = [
        keys.wallet(player),
        keys.ledger(player),
        keys.player_outbox(player),
        keys.daily(player, "d"),
        keys.streak(player),
        keys.battle_pass(player, "s"),
        keys.pace(player, 1),
    ]
    shared = [
        1_795_600_000_000,
        10**12,
        3600,
        ",".join([f"100:4000000000:{M}:1000"] * 3),
        "weekly:w,monthly:m,yearly:y",
        NO_PROGRESS,
        NO_REWARDS,
        1000,  # ledger entries kept
    ]
    exam = f"{fingerprint}|{player}|{exam_id}|math|{score}|10|5|0"
    return Scripts(redis).record_exams(
        keys=[keys.exam(player, exam_id), *stats, *player_keys], args=[*shared, exam]
    )


def test_record_exams_codes(any_redis):
    code, result = record(any_redis)
    assert code == 0
    rows = json.loads(result)["boards"]
    assert len(rows) == 6
    assert rows[0] == [10, 1, 10, 5, 10 * M + (M - 1 - 100)]

    assert record(any_redis) == [2, result]  # counted, summary not stored yet
    assert record(any_redis, fingerprint="other")[0] == -2

    kept = Scripts(any_redis).keep_exam_summaries(
        keys=[keys.exam("alice", "x1")], args=[3600, '{"a":1}']
    )
    assert kept == [b'{"a":1}']
    again = Scripts(any_redis).keep_exam_summaries(
        keys=[keys.exam("alice", "x1")], args=[3600, '{"b":2}']
    )
    assert again == [b'{"a":1}']  # the first summary stays
    assert record(any_redis) == [1, b'{"a":1}']  # and answers replays


def test_a_kept_summary_never_leaves_a_record_without_expiry(any_redis):
    Scripts(any_redis).keep_exam_summaries(keys=[keys.exam("bob", "gone")], args=[3600, "{}"])
    assert 3590 <= any_redis.ttl(keys.exam("bob", "gone")) <= 3600


def test_record_exams_caps_the_composite_but_keeps_the_exact_total(any_redis):
    code, result = record(any_redis, score=5000)
    assert code == 0
    rows = json.loads(result)["boards"]
    assert rows[0][0] == 5000
    assert rows[0][4] == 1000 * M + (M - 1 - 100)
