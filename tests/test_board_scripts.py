"""The leaderboard Lua scripts called directly: forward-only writes, replay codes."""

from __future__ import annotations

import json

from engine import keys
from engine.scripts import Scripts

M = 1 << 20
SCORES, AGGREGATES = "qb:{lb:t}:scores", "qb:{lb:t}:aggregates"


NOW_S = 1_795_600_000


def update(redis, player, total, reached, exams, expire_at=NOW_S + 86_400):
    composite = total * M + (M - 1 - reached)
    return Scripts(redis).update_board(
        keys=[SCORES, AGGREGATES],
        args=[
            player,
            composite,
            f"{total}:{exams}:{exams * 10}:{exams * 5}",
            exams,
            expire_at,
            M,
            NOW_S,
        ],
    )


def test_board_writes_only_move_forward(any_redis):
    update(any_redis, "alice", 50, 10, exams=2)
    update(any_redis, "alice", 30, 5, exams=1)  # an older update arriving late
    assert any_redis.zscore(SCORES, "alice") == 50 * M + (M - 1 - 10)
    assert any_redis.hget(AGGREGATES, "alice") == b"50:2:20:10"


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


NO_PROGRESS = json.dumps(
    {
        "day": 1,
        "day_name": "d",
        "daily_expire_at": 4_000_000_000,
        "bonus": {"normal": {"logs": 1}, "milestone": {"steel": 1}, "every": 7},
        "missions": [],
        "caps": {},
        "pace_limit": 100,
    }
)


def record(redis, fingerprint="fp", score=10):
    stats = [keys.player_board_stats("alice", t, "p") for t in ("weekly", "monthly", "yearly")]
    player_keys = [
        keys.wallet("alice"),
        keys.ledger("alice"),
        keys.player_outbox("alice"),
        keys.daily("alice", "d"),
        keys.streak("alice"),
        keys.battle_pass("alice", "s"),
        keys.pace("alice", 1),
    ]
    args = [fingerprint, 3600, "math", score, 10, 5]
    for _ in range(3):
        args += [100, 4_000_000_000, M, 1000]
    args += ["alice", 1_795_600_000_000, 10**12, NO_PROGRESS, 0]
    args += ["weekly:w,monthly:m,yearly:y", "x1"]
    return Scripts(redis).record_exam(
        keys=[keys.exam("alice", "x1"), *stats, *player_keys], args=args
    )


def test_record_exam_codes(any_redis):
    code, result = record(any_redis)
    assert code == 0
    rows = json.loads(result)["boards"]
    assert len(rows) == 6
    assert rows[0] == [10, 1, 10, 5, 10 * M + (M - 1 - 100)]

    assert record(any_redis) == [2, result]  # counted, summary not stored yet
    assert record(any_redis, fingerprint="other")[0] == -2

    kept = Scripts(any_redis).store_exam_summary(keys=[keys.exam("alice", "x1")], args=['{"a":1}'])
    assert kept == b'{"a":1}'
    again = Scripts(any_redis).store_exam_summary(keys=[keys.exam("alice", "x1")], args=['{"b":2}'])
    assert again == b'{"a":1}'
    assert record(any_redis) == [1, b'{"a":1}']


def test_record_exam_caps_the_composite_but_keeps_the_exact_total(any_redis):
    code, result = record(any_redis, score=5000)
    assert code == 0
    rows = json.loads(result)["boards"]
    assert rows[0][0] == 5000
    assert rows[0][4] == 1000 * M + (M - 1 - 100)
