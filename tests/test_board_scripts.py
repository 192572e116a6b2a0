"""The leaderboard Lua scripts called directly: forward-only writes, arrival order, codes.

update_board.lua (and the board writes of record_exams.lua) and rotate_snapshot.lua,
on fakeredis and Redis; read_board.lua is in tests/test_script_read_board.py.
"""

from __future__ import annotations

import json

from engine import keys
from engine.outcomes import ScriptCode
from engine.scripts import Scripts
from tests.board_script_keys import AGGREGATES, RANKS, SCORES, TOP, M
from tests.script_state import expires_in, state

NOW_S = 1_795_600_000
CREATED, EXISTED = 1, 0  # the reply's first value: whether the call created the board


def player_args(player, total, exams):
    return [f"{player}|{total}:{exams}:{exams * 10}:{exams * 5}"]


def update(redis, player, total, exams, expire_at=NOW_S + 86_400, multiplier=M):
    return Scripts(redis).update_board(
        keys=[SCORES, AGGREGATES],
        args=[multiplier, expire_at, NOW_S, *player_args(player, total, exams)],
    )


def listing(redis):
    return [
        (player.decode(), int(composite))
        for player, composite in redis.zrevrange(SCORES, 0, -1, withscores=True)
    ]


def test_one_call_updates_many_players_and_answers_their_final_ranks(any_redis):
    update(any_redis, "a", 60, exams=1)
    reply = Scripts(any_redis).update_board(
        keys=[SCORES, AGGREGATES],
        args=[
            M,
            NOW_S + 60,
            NOW_S,
            *player_args("b", 80, 1),
            *player_args("c", 60, 1),
            *player_args("b", 90, 2),
        ],
    )
    # b's first write (80) is ranked against the board as the call leaves it.
    assert reply == [EXISTED, 2, 80, 2, 60, 1, 90]
    assert any_redis.hget(AGGREGATES, "b") == b"90:2:20:10"
    assert listing(any_redis) == [("b", 90 * M + TOP), ("a", 60 * M + TOP), ("c", 60 * M + TOP - 1)]


def test_each_arrival_at_a_total_is_listed_after_those_who_reached_it_before(any_redis):
    for player in ("zed", "bob", "alice"):  # the reverse of their ids' order
        update(any_redis, player, 50, exams=1)
    update(any_redis, "dora", 70, exams=1)
    update(any_redis, "zed", 70, exams=2)  # zed moves up, after dora
    update(any_redis, "eve", 50, exams=1)  # the next arrival at 50 still comes last
    assert listing(any_redis) == [
        ("dora", 70 * M + TOP),
        ("zed", 70 * M + TOP - 1),
        ("bob", 50 * M + TOP - 1),
        ("alice", 50 * M + TOP - 2),
        ("eve", 50 * M + TOP - 3),
    ]


def test_a_total_nobody_holds_any_more_starts_its_order_again(any_redis):
    update(any_redis, "a", 50, exams=1)
    update(any_redis, "a", 60, exams=2)
    update(any_redis, "b", 50, exams=1)
    assert listing(any_redis) == [("a", 60 * M + TOP), ("b", 50 * M + TOP)]


def test_past_the_bound_arrivals_at_one_total_share_its_last_composite(any_redis):
    """M = 4 admits four arrival places a total; the fifth ties with the fourth."""
    for player in ("p1", "p2", "p3", "p4", "p5"):
        update(any_redis, player, 10, exams=1, multiplier=4)
    update(any_redis, "p0", 9, exams=1, multiplier=4)
    composites = dict(listing(any_redis))
    assert composites == {"p1": 43, "p2": 42, "p3": 41, "p4": 40, "p5": 40, "p0": 39}


def test_writes_of_one_player_in_one_call_apply_in_order(any_redis):
    reply = Scripts(any_redis).update_board(
        keys=[SCORES, AGGREGATES],
        args=[
            M,
            NOW_S + 60,
            NOW_S,
            *player_args("a", 40, 1),
            *player_args("b", 50, 1),
            *player_args("a", 50, 2),  # a reaches 50 after b
            *player_args("a", 50, 3),  # then an exam that scored nothing
            *player_args("a", 50, 2),  # and an older write arriving late
            *player_args("c", 50, 1),
        ],
    )
    assert reply == [CREATED, 4, 40, 1, 50, 1, 50, 1, 50, 1, 50, 1, 50]  # 40 ranks last
    assert listing(any_redis) == [
        ("b", 50 * M + TOP),
        ("a", 50 * M + TOP - 1),
        ("c", 50 * M + TOP - 2),
    ]
    assert any_redis.hget(AGGREGATES, "a") == b"50:3:30:15"


def test_board_writes_only_move_forward(any_redis):
    update(any_redis, "alice", 50, exams=2)
    update(any_redis, "alice", 30, exams=1)  # an older update arriving late
    assert any_redis.zscore(SCORES, "alice") == 50 * M + TOP
    assert any_redis.hget(AGGREGATES, "alice") == b"50:2:20:10"


def test_an_exam_that_scores_nothing_still_counts_in_the_aggregates(any_redis):
    update(any_redis, "alice", 50, exams=2)
    update(any_redis, "bob", 50, exams=1)
    update(any_redis, "alice", 50, exams=3)  # same total: alice keeps her place
    assert any_redis.hget(AGGREGATES, "alice") == b"50:3:30:15"
    update(any_redis, "alice", 50, exams=2)  # and the older write stays behind it
    assert any_redis.hget(AGGREGATES, "alice") == b"50:3:30:15"
    assert listing(any_redis) == [("alice", 50 * M + TOP), ("bob", 50 * M + TOP - 1)]


def test_repeating_an_update_changes_nothing(any_redis):
    first = update(any_redis, "alice", 50, exams=2)
    update(any_redis, "bob", 50, exams=2)
    again = update(any_redis, "alice", 50, exams=2)
    assert first == [CREATED, 1, 50]
    assert again == [EXISTED, 1, 50]
    assert listing(any_redis) == [("alice", 50 * M + TOP), ("bob", 50 * M + TOP - 1)]


def test_totals_above_the_cap_rank_at_the_cap_in_arrival_order(any_redis):
    cap = (1 << 53) // M - 2
    update(any_redis, "a", cap + 5, exams=1)
    update(any_redis, "b", cap + 9, exams=1)
    assert update(any_redis, "a", cap + 7, exams=2) == [EXISTED, 1, cap + 7]  # keeps its place
    assert listing(any_redis) == [("a", cap * M + TOP), ("b", cap * M + TOP - 1)]
    assert any_redis.hget(AGGREGATES, "a") == f"{cap + 7}:2:20:10".encode()


def test_update_answers_the_competition_rank(any_redis):
    update(any_redis, "a", 90, exams=1)
    update(any_redis, "b", 70, exams=1)
    update(any_redis, "c", 70, exams=1)
    assert update(any_redis, "d", 10, exams=1) == [EXISTED, 4, 10]
    assert update(any_redis, "c", 70, exams=1) == [EXISTED, 2, 70]


def test_update_sets_the_expiry_relative_to_engine_time(any_redis):
    update(any_redis, "alice", 1, exams=1, expire_at=NOW_S + 3600)
    assert expires_in(any_redis, SCORES) == 3600
    assert expires_in(any_redis, AGGREGATES) == 3600


def test_the_expiry_is_set_by_the_call_that_creates_the_keys_and_kept_after(any_redis):
    update(any_redis, "alice", 10, exams=1, expire_at=NOW_S + 3600)
    # Later calls, one arriving and one moving up, at a later engine time: the keys keep
    # the expiry set when they were created, the same end of the period.
    later = [M, NOW_S + 3600, NOW_S + 600]
    for args in (player_args("bob", 20, 1), player_args("alice", 30, 2)):
        reply = Scripts(any_redis).update_board(keys=[SCORES, AGGREGATES], args=later + args)
        assert reply[0] == EXISTED
    batch = [*player_args("carol", 5, 1), *player_args("bob", 40, 2)]
    reply = Scripts(any_redis).update_board(keys=[SCORES, AGGREGATES], args=later + batch)
    assert reply == [EXISTED, 3, 5, 1, 40]
    assert expires_in(any_redis, SCORES) == expires_in(any_redis, AGGREGATES) == 3600


def test_a_board_emptied_and_written_again_is_created_again_with_its_expiry(any_redis):
    update(any_redis, "alice", 10, exams=1, expire_at=NOW_S + 3600)
    any_redis.delete(SCORES, AGGREGATES)  # the last player removed, or the data lost
    assert update(any_redis, "bob", 20, exams=1, expire_at=NOW_S + 7200)[0] == CREATED
    assert expires_in(any_redis, SCORES) == expires_in(any_redis, AGGREGATES) == 7200
    args = [M, NOW_S + 60, NOW_S, *player_args("a", 1, 1), *player_args("b", 2, 1)]
    any_redis.delete(SCORES, AGGREGATES)
    assert Scripts(any_redis).update_board(keys=[SCORES, AGGREGATES], args=args)[0] == CREATED
    assert expires_in(any_redis, SCORES) == expires_in(any_redis, AGGREGATES) == 60


def test_a_new_player_below_or_beside_others_finds_the_board_there(any_redis):
    """A new player with a higher total on the board, or someone at their own total,
    cannot be alone on it: the call answers EXISTED and leaves the expiry alone; with
    only lower totals on the board it still finds the board there."""
    update(any_redis, "alice", 10, exams=1, expire_at=NOW_S + 3600)
    later = NOW_S + 7200  # an expiry these calls would set, were the board new
    assert update(any_redis, "bob", 5, exams=1, expire_at=later) == [EXISTED, 2, 5]
    assert update(any_redis, "carol", 10, exams=1, expire_at=later) == [EXISTED, 1, 10]
    assert update(any_redis, "dan", 20, exams=1, expire_at=later) == [EXISTED, 1, 20]
    assert expires_in(any_redis, SCORES) == expires_in(any_redis, AGGREGATES) == 3600
    assert listing(any_redis) == [
        ("dan", 20 * M + TOP),
        ("alice", 10 * M + TOP),
        ("carol", 10 * M + TOP - 1),
        ("bob", 5 * M + TOP),
    ]


def test_a_key_of_the_board_created_alone_gets_its_expiry(any_redis):
    update(any_redis, "alice", 10, exams=1, expire_at=NOW_S + 3600)
    any_redis.delete(AGGREGATES)
    update(any_redis, "alice", 10, exams=2, expire_at=NOW_S + 3600)  # the same total
    assert expires_in(any_redis, AGGREGATES) == 3600
    any_redis.delete(SCORES)
    assert update(any_redis, "alice", 20, exams=3, expire_at=NOW_S + 3600)[0] == CREATED
    assert expires_in(any_redis, SCORES) == 3600
    any_redis.delete(AGGREGATES)
    batch = [M, NOW_S + 3600, NOW_S, *player_args("alice", 30, 4), *player_args("bob", 1, 1)]
    assert Scripts(any_redis).update_board(keys=[SCORES, AGGREGATES], args=batch)[0] == EXISTED
    assert expires_in(any_redis, AGGREGATES) == 3600


NO_PROGRESS = "1|d|4000000000|100||||"  # day, name, expiry, pace; no season, missions, limits
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
    names = {"weekly": "2026-W48", "monthly": "2026-11", "yearly": "2026"}
    stats = [
        keys.board_stats(player),
        *(keys.player_board_stats(player, t, n) for t, n in names.items()),
    ]
    player_keys = [
        keys.wallet(player),
        keys.ledger(player),
        keys.player_outbox(player),
        keys.daily(player, "d"),
        keys.streak(player),
        keys.battle_pass(player, "s"),
        keys.pace(player, 1),
        keys.player_rate_window(player, "exams"),
        keys.settings(player),  # no zone: the game day's key below is not read
        keys.daily(player, "d"),
        keys.daily(player, "d"),
    ]
    shared = [
        1_795_600_000_000,
        10**12,
        3600,
        # 100 s into each period, its expiry, its name, the oldest kept (none older)
        ",".join(f"100:4000000000:{name}:0000" for name in names.values()),
        "weekly:2026-W48,monthly:2026-11,yearly:2026",
        NO_PROGRESS,
        NO_REWARDS,
        1000,  # ledger entries kept
        "1",  # the pace judged, as for a player's own request
    ]
    exam = f"{fingerprint}|{player}|{exam_id}|math|{score}|10|5|0"
    return Scripts(redis).record_exams(
        keys=[keys.exam(player, exam_id), *stats, *player_keys], args=[*shared, exam]
    )


def test_record_exams_codes(any_redis):
    code, result = record(any_redis)
    assert code == ScriptCode.APPLIED
    rows = json.loads(result)["boards"]
    assert len(rows) == 6
    assert rows[0] == [10, 1, 10, 5, 100]  # score, exams, questions, correct, reached

    assert record(any_redis) == [ScriptCode.UNANSWERED, result]  # summary not stored yet
    assert record(any_redis, fingerprint="other")[0] == ScriptCode.KEY_REUSED

    kept = Scripts(any_redis).keep_exam_summaries(
        keys=[keys.exam("alice", "x1")], args=[3600, '{"a":1}']
    )
    assert kept == [b'{"a":1}']
    again = Scripts(any_redis).keep_exam_summaries(
        keys=[keys.exam("alice", "x1")], args=[3600, '{"b":2}']
    )
    assert again == [b'{"a":1}']  # the first summary stays
    assert record(any_redis) == [ScriptCode.REPLAYED, b'{"a":1}']  # and answers replays


def test_a_kept_summary_never_leaves_a_record_without_expiry(any_redis):
    Scripts(any_redis).keep_exam_summaries(keys=[keys.exam("bob", "gone")], args=[3600, "{}"])
    assert expires_in(any_redis, keys.exam("bob", "gone")) == 3600


def test_record_exams_keeps_the_second_each_board_total_was_reached(any_redis):
    record(any_redis, score=10, exam_id="x1")
    code, result = record(any_redis, score=0, exam_id="x2", fingerprint="fp2")
    assert code == ScriptCode.APPLIED
    assert json.loads(result)["boards"][0] == [10, 2, 20, 10, 100]
    assert any_redis.hget(keys.board_stats("alice"), "2026-W48:global") == b"10:2:20:10:100"


def test_an_update_without_players_answers_nothing_and_writes_nothing(any_redis):
    assert Scripts(any_redis).update_board(
        keys=[SCORES, AGGREGATES], args=[M, NOW_S + 60, NOW_S]
    ) == [EXISTED]
    assert state(any_redis) == {}


# rotate_snapshot.lua -----------------------------------------------------------------

RANKING, TOP_DOC, BUILDING = (
    "qb:{lb:t}:snapshot:ranking",
    "qb:{lb:t}:snapshot:top",
    "qb:{lb:t}:building",
)


def rotate(redis, document, ttl=3600):
    return Scripts(redis).rotate_snapshot(
        keys=[RANKS, RANKING, TOP_DOC, BUILDING], args=[document, ttl]
    )


def test_rotate_replaces_the_ranks_stores_the_top_and_drops_the_frozen_copy(any_redis):
    any_redis.zadd(RANKS, {"old": 1})
    any_redis.zadd(RANKING, {"a": 1, "b": 2})
    any_redis.zadd(BUILDING, {"a": 90 * M + TOP, "b": 70 * M + TOP})
    any_redis.set(TOP_DOC, '{"top":"old"}')

    assert rotate(any_redis, '{"top":"new"}') == ScriptCode.APPLIED

    assert state(any_redis) == {RANKS: [("a", 1), ("b", 2)], TOP_DOC: '{"top":"new"}'}
    assert expires_in(any_redis, RANKS) == expires_in(any_redis, TOP_DOC) == 3600


def test_rotate_of_an_empty_board_leaves_no_ranks_and_an_empty_top(any_redis):
    any_redis.zadd(RANKS, {"old": 1})
    any_redis.zadd(BUILDING, {"gone": 1})

    assert rotate(any_redis, '{"top":[]}', ttl=60) == ScriptCode.APPLIED

    assert state(any_redis) == {TOP_DOC: '{"top":[]}'}
    assert expires_in(any_redis, TOP_DOC) == 60


def test_a_player_whose_aggregates_are_gone_gets_them_written_and_keeps_the_place(any_redis):
    any_redis.zadd(SCORES, {"a": 50 * M + TOP, "b": 50 * M + TOP - 1})  # no aggregates hash
    assert update(any_redis, "b", 50, exams=1) == [EXISTED, 1, 50]
    assert state(any_redis) == {
        SCORES: [("b", 50 * M + TOP - 1), ("a", 50 * M + TOP)],
        AGGREGATES: {"b": "50:1:10:5"},
    }
