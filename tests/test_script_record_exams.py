"""lua/record_exams.lua called directly, on fakeredis and Redis.

One case per outcome of record_exams (counted, replay answered, replay unanswered, exam
id reused, rapid fire, rate limited) with the exact reply and the exact keys written,
a batch of two players in one call, and the missions and battle-pass XP an exam pays.
A period's first exam is in tests/test_script_record_exams_periods.py, the summaries
in tests/test_script_keep_exam_summaries.py.
"""

from __future__ import annotations

import json

from engine import keys
from engine.outcomes import ScriptCode
from engine.scripts import Scripts
from tests.record_exams_calls import (
    DAY,
    DAY_NAME,
    ELAPSED,
    NOW,
    NOW_S,
    ONE_A_MINUTE,
    PERIOD_ENDS,
    STATS,
    context,
    decoded,
    empty_table,
    exam_call,
    fields,
)
from tests.script_state import expires_in, state, written


def record(redis, *exams: tuple[str, str, str, int], **options):
    """Exams as (fingerprint, player, exam id, score), each of 10 questions."""
    all_keys, args = exam_call(*exams, **options)
    return decoded(Scripts(redis).record_exams(keys=all_keys, args=args))


def test_a_counted_exam_sums_every_board_pays_the_days_bonus_and_records_its_result(any_redis):
    before = state(any_redis)

    code, result = record(any_redis, ("fp", "alice", "x1", 10))

    after = state(any_redis)
    ledger, outbox = keys.ledger("alice"), keys.player_outbox("alice")
    [(bonus_tx, bonus), _] = after[outbox]
    assert code == ScriptCode.APPLIED
    assert json.loads(result) == {
        "boards": [[10, 1, 10, 5, ELAPSED]] * 6,
        "progress": {
            "daily_bonus": {"streak": 1, "reward": {"logs": 1}, "transaction_id": bonus_tx},
            "streak": 1,
            "missions": empty_table(any_redis),
            "level_rewards": empty_table(any_redis),
            "violations": empty_table(any_redis),
        },
    }
    sums = fields(**{"global": f"10:1:10:5:{ELAPSED}", "math": f"10:1:10:5:{ELAPSED}"})
    assert written(before, after) == {
        keys.exam("alice", "x1"): "fp|r" + result,
        STATS: sums,
        keys.wallet("alice"): {"logs": "1"},
        ledger: [
            f'["{bonus_tx}","login_bonus",{{"logs":1}},{{"logs":1}},'
            f'"daily login, streak day 1",{NOW}]'
        ],
        outbox: [
            (bonus_tx, {"player": "alice", **bonus, "fp": ""}),
            (
                after[outbox][1][0],
                {
                    "player": "alice",
                    "type": "state",
                    "periods": "weekly:2026-W48,monthly:2026-11,yearly:2026",
                    "season": "",
                    "at": str(NOW),
                    "exam": "x1",
                    "fp": "fp",
                },
            ),
        ],
        keys.daily("alice", DAY_NAME): {"bonus": str(NOW)},
        keys.streak("alice"): {"last_day": str(DAY), "streak": "1", "best": "1"},
        keys.pace("alice", NOW_S): "1",
    }
    assert bonus["kind"] == "login_bonus"
    assert expires_in(any_redis, keys.exam("alice", "x1")) == 3600
    assert expires_in(any_redis, STATS) == max(PERIOD_ENDS.values()) - NOW_S  # the longest


def test_a_second_exam_adds_to_the_sums_and_keeps_the_stats_expiry(any_redis):
    record(any_redis, ("fp1", "alice", "x1", 10))
    any_redis.expire(STATS, 50)  # as the period's end came closer
    code, result = record(any_redis, ("fp2", "alice", "x2", 7))
    assert code == ScriptCode.APPLIED
    assert json.loads(result)["boards"] == [[17, 2, 20, 10, ELAPSED]] * 6
    assert expires_in(any_redis, STATS) == 50


def test_a_replay_before_the_summary_answers_the_stored_result_and_writes_nothing(any_redis):
    _, result = record(any_redis, ("fp", "alice", "x1", 10))
    before = state(any_redis)
    replies = record(any_redis, ("fp", "alice", "x1", 10), ctx=context(pace_limit=0))
    assert replies == [ScriptCode.UNANSWERED, result]
    assert written(before, state(any_redis)) == {}


def test_a_replay_after_the_summary_answers_the_summary_and_writes_nothing(any_redis):
    record(any_redis, ("fp", "alice", "x1", 10))
    Scripts(any_redis).keep_exam_summaries(keys=[keys.exam("alice", "x1")], args=[3600, "{}"])
    before = state(any_redis)
    replies = record(any_redis, ("fp", "alice", "x1", 10), ctx=context(rates=ONE_A_MINUTE))
    assert replies == [ScriptCode.REPLAYED, "{}"]
    assert written(before, state(any_redis)) == {}


def test_an_exam_id_reused_for_another_exam_is_refused_and_writes_nothing(any_redis):
    record(any_redis, ("fp", "alice", "x1", 10))
    before = state(any_redis)
    assert record(any_redis, ("other", "alice", "x1", 99)) == [
        ScriptCode.KEY_REUSED,
        '{"fp":"other"}',
    ]
    assert written(before, state(any_redis)) == {}


def test_rapid_fire_counts_nothing_but_the_attempt_in_the_seconds_pace(any_redis):
    any_redis.set(keys.pace("alice", NOW_S), 1)
    before = state(any_redis)
    replies = record(any_redis, ("fp", "alice", "x1", 10), ctx=context(pace_limit=1))
    assert replies == [ScriptCode.RAPID_FIRE, '{"limit":1,"count":2}']
    assert written(before, state(any_redis)) == {keys.pace("alice", NOW_S): "2"}


def test_rate_limited_counts_nothing_and_writes_nothing(any_redis):
    window = keys.player_rate_window("alice", "exams")
    any_redis.zadd(window, {"earlier": NOW - 30_000})
    before = state(any_redis)
    code, refusal = record(any_redis, ("fp", "alice", "x1", 10), ctx=context(rates=ONE_A_MINUTE))
    assert code == ScriptCode.RATE_LIMITED
    assert json.loads(refusal) == {
        "limit": "1/minute",
        "scope": "player",
        "group": "exams",
        "retry_after": 30,
    }
    assert written(before, state(any_redis)) == {}


def test_the_exams_rate_is_the_entry_named_exams_not_one_whose_name_ends_so(any_redis):
    """The rules' rates are looked up by whole name: "pre_exams" and "purchases" come
    first here with limits that would refuse, and only "exams" (one a minute) counts."""
    window = keys.player_rate_window("alice", "exams")
    any_redis.zadd(window, {"earlier": NOW - 30_000})
    rates = f"pre_exams:5:60000:5/minute;purchases:9:1000:9/second;{ONE_A_MINUTE}"
    code, refusal = record(any_redis, ("fp", "alice", "x1", 10), ctx=context(rates=rates))
    assert code == ScriptCode.RATE_LIMITED
    assert json.loads(refusal)["limit"] == "1/minute"

    rates = "pre_exams:1:60000:1/minute;exams:2:60000:2/minute"
    code, _ = record(any_redis, ("fp", "alice", "x1", 10), ctx=context(rates=rates))
    assert code == ScriptCode.APPLIED


def test_one_call_counts_the_exams_of_several_players_each_with_its_own_keys(any_redis):
    record(any_redis, ("fp0", "bob", "x0", 1))  # bob's day has started already
    replies = record(any_redis, ("fp1", "alice", "x1", 10), ("fp2", "bob", "x2", 4))
    assert [replies[0], replies[2]] == [ScriptCode.APPLIED, ScriptCode.APPLIED]
    alice, bob = json.loads(replies[1]), json.loads(replies[3])
    assert alice["boards"][0] == [10, 1, 10, 5, ELAPSED]
    assert "daily_bonus" in alice["progress"]
    assert bob == {"boards": [[5, 2, 20, 10, ELAPSED]] * 6, "progress": {"streak": 1}}
    assert any_redis.hgetall(keys.wallet("alice")) == {b"logs": b"1"}
    assert any_redis.hgetall(keys.wallet("bob")) == {b"logs": b"1"}  # one bonus, day one


def test_a_perfect_exam_completes_its_mission_and_its_xp_pays_the_levels_reached(any_redis):
    any_redis.hset(keys.daily("alice", DAY_NAME), "bonus", NOW - 1)  # the day has started
    ctx = context(season="s1|100", missions="flawless:perfect_exam:1")

    code, result = record(any_redis, ("fp", "alice", "x1", 10), ctx=ctx, correct=10, xp=200)

    progress = json.loads(result)["progress"]
    [(mission_tx, _), (level_tx, level_entry)] = [
        (entry_id.decode(), fields)
        for entry_id, fields in any_redis.xrange(keys.player_outbox("alice"))
        if b"kind" in fields
    ]
    assert code == ScriptCode.APPLIED
    assert progress["missions"] == [
        {
            "id": "flawless",
            "progress": 1,
            "target": 1,
            "completed": True,
            "xp": 50,
            "reward": {"bricks": 1},
            "transaction_id": mission_tx,
        }
    ]
    # 50 XP from the mission, then 200 from the exam: level 3 (100 XP a level)
    assert progress["xp"] == {
        "season": "s1",
        "gained": 250,
        "total": 250,
        "level": 3,
        "levels_gained": [2, 3],
    }
    assert progress["level_rewards"] == [
        {"level": 3, "reward": {"coins": 5}, "transaction_id": level_tx}
    ]
    assert level_entry[b"ref"] == b"level/s1/3"
    assert any_redis.hgetall(keys.battle_pass("alice", "s1")) == {
        b"xp": b"250",
        b"rewarded_level": b"3",
        b"paid:3": b'{"coins":5}',  # what level 3 credited: the battle pass lists it
    }
    assert any_redis.hgetall(keys.wallet("alice")) == {b"bricks": b"1", b"coins": b"5"}


def test_an_exam_without_a_right_answer_advances_no_mission(any_redis):
    any_redis.hset(keys.daily("alice", DAY_NAME), "bonus", NOW - 1)
    ctx = context(missions="flawless:solve_questions:1")
    code, result = record(any_redis, ("fp", "alice", "x1", 0), ctx=ctx, correct=0)
    assert code == ScriptCode.APPLIED
    assert json.loads(result)["progress"] == {"streak": 0}
    assert any_redis.hgetall(keys.daily("alice", DAY_NAME)) == {b"bonus": str(NOW - 1).encode()}
