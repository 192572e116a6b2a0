"""lua/record_exams.lua and keep_exam_summaries.lua called directly, on fakeredis and Redis.

One case per outcome of record_exams (counted, replay answered, replay unanswered, exam
id reused, rapid fire, rate limited) with the exact reply and the exact keys written,
a batch of two players in one call, and the first-summary-wins rule of
keep_exam_summaries.
"""

from __future__ import annotations

import json

import fakeredis

from engine import keys
from engine.outcomes import ScriptCode
from engine.scripts import Scripts
from tests.script_state import expires_in, state, written

NOW = 1_795_600_000_000
NOW_S = NOW // 1000
PERIOD_ENDS = {"weekly": NOW_S + 1000, "monthly": NOW_S + 2000, "yearly": NOW_S + 3000}
NAMES = {"weekly": "2026-W48", "monthly": "2026-11", "yearly": "2026"}
OLDEST = {"weekly": "2026-W36", "monthly": "2024-11", "yearly": "2021"}  # the oldest kept
STATS = keys.board_stats("alice")
ELAPSED = 100  # seconds since each period started
DAY, DAY_NAME, DAY_ENDS = 100, "2026-11-25", NOW_S + 500
REWARDS = json.dumps(
    {
        "bonus": {"normal": {"logs": 1}, "milestone": {"steel": 1}, "every": 7},
        "missions": {"flawless": {"xp": 50, "reward": {"bricks": 1}}},
        "levels": {"3": {"coins": 5}},
        "caps": {},
    }
)
ONE_A_MINUTE = "exams:1:60000:1/minute"


def context(pace_limit: int = 5, rates: str = "", season: str = "|", missions: str = "") -> str:
    """The day's context; season is "id|xp per level" ("|": none)."""
    return f"{DAY}|{DAY_NAME}|{DAY_ENDS}|{pace_limit}|{season}|{missions}|{rates}"


def earlier_stats(player: str, period_type: str) -> str:
    """The period's hash of the layout before board_stats."""
    return keys.player_board_stats(player, period_type, NAMES[period_type])


def fields(**sums: str) -> dict[str, str]:
    """The stats hash's fields of the current periods: category -> the same sums."""
    return {f"{NAMES[t]}:{category}": text for t in NAMES for category, text in sums.items()}


def player_keys(player: str, exam_id: str) -> list[str]:
    return [
        keys.exam(player, exam_id),
        keys.board_stats(player),
        *(earlier_stats(player, period_type) for period_type in PERIOD_ENDS),
        keys.wallet(player),
        keys.ledger(player),
        keys.player_outbox(player),
        keys.daily(player, DAY_NAME),
        keys.streak(player),
        keys.battle_pass(player, "s1"),
        keys.pace(player, NOW_S),
        keys.player_rate_window(player, "exams"),
        keys.settings(player),  # no zone: the game day's key below is not read
        keys.daily(player, DAY_NAME),
        keys.daily(player, DAY_NAME),
    ]


def record(
    redis,
    *exams: tuple[str, str, str, int],
    ctx: str | None = None,
    correct: int = 5,
    xp: int = 0,
):
    """Exams as (fingerprint, player, exam id, score), each of 10 questions."""
    shared = [
        NOW,
        10**12,
        3600,
        ",".join(f"{ELAPSED}:{PERIOD_ENDS[t]}:{NAMES[t]}:{OLDEST[t]}" for t in PERIOD_ENDS),
        "weekly:2026-W48,monthly:2026-11,yearly:2026",
        context() if ctx is None else ctx,
        REWARDS,
        1000,
    ]
    packed = [
        f"{fp}|{player}|{exam_id}|math|{score}|10|{correct}|{xp}"
        for fp, player, exam_id, score in exams
    ]
    all_keys = [key for _, player, exam_id, _ in exams for key in player_keys(player, exam_id)]
    reply = Scripts(redis).record_exams(keys=all_keys, args=[*shared, *packed])
    return [value.decode() if isinstance(value, bytes) else value for value in reply]


def empty_table(redis) -> dict | list:
    """An empty Lua table as cjson encodes it: an object on Redis, an array on fakeredis."""
    return [] if isinstance(redis, fakeredis.FakeRedis) else {}


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


def test_a_weeks_first_exam_adds_to_the_month_and_year_it_leaves_in_place(any_redis):
    """The week opens (its earlier layout moved in, a week past retention dropped) in
    the same call that adds to the month's and year's sums read before it."""
    week, month, year = (f"{NAMES[t]}:" for t in NAMES)
    any_redis.hset(
        STATS,
        mapping={
            month + "global": "20:2:20:10:3",
            month + "math": "20:2:20:10:3",
            year + "global": "30:3:30:15:4",
            year + "art": "7:1:10:3:4",
            "2026-W35:global": "1:1:1:1:1",
        },
    )
    any_redis.hset(earlier_stats("alice", "weekly"), "art", "5:1:10:2:7")

    code, result = record(any_redis, ("fp", "alice", "x1", 10))

    assert code == ScriptCode.APPLIED
    assert json.loads(result)["boards"] == [
        [10, 1, 10, 5, ELAPSED],
        [10, 1, 10, 5, ELAPSED],
        [30, 3, 30, 15, ELAPSED],
        [30, 3, 30, 15, ELAPSED],
        [40, 4, 40, 20, ELAPSED],
        [10, 1, 10, 5, ELAPSED],
    ]
    assert state(any_redis)[STATS] == {
        week + "art": "5:1:10:2:7",
        week + "global": f"10:1:10:5:{ELAPSED}",
        week + "math": f"10:1:10:5:{ELAPSED}",
        month + "global": f"30:3:30:15:{ELAPSED}",
        month + "math": f"30:3:30:15:{ELAPSED}",
        year + "global": f"40:4:40:20:{ELAPSED}",
        year + "art": "7:1:10:3:4",
        year + "math": f"10:1:10:5:{ELAPSED}",
    }
    assert expires_in(any_redis, STATS) == max(PERIOD_ENDS.values()) - NOW_S


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


def test_an_exam_that_scores_nothing_keeps_the_second_its_total_was_reached(any_redis):
    record(any_redis, ("fp1", "alice", "x1", 10))
    any_redis.hset(STATS, "2026-W48:global", "10:1:10:5:40")
    _, result = record(any_redis, ("fp2", "alice", "x2", 0))
    assert json.loads(result)["boards"][0] == [10, 2, 20, 10, 40]


def test_a_periods_first_exam_moves_in_its_hash_of_the_earlier_layout(any_redis):
    """A player of a version before board_stats: the week's and the year's hashes of
    one period each (category -> sums) are moved into the stats hash and deleted; a
    period without one (the month here) starts from nothing."""
    any_redis.hset(
        earlier_stats("alice", "weekly"), mapping={"global": "5:1:10:2:7", "art": "5:1:10:2:7"}
    )
    any_redis.hset(earlier_stats("alice", "yearly"), "global", "9:2:20:4:8")
    before = state(any_redis)

    code, result = record(any_redis, ("fp", "alice", "x1", 10))

    assert code == ScriptCode.APPLIED
    week, month, year = (f"{NAMES[t]}:" for t in NAMES)
    assert json.loads(result)["boards"] == [
        [15, 2, 20, 7, ELAPSED],
        [10, 1, 10, 5, ELAPSED],
        [10, 1, 10, 5, ELAPSED],
        [10, 1, 10, 5, ELAPSED],
        [19, 3, 30, 9, ELAPSED],
        [10, 1, 10, 5, ELAPSED],
    ]
    changed = written(before, state(any_redis))
    assert changed[STATS] == {
        week + "global": f"15:2:20:7:{ELAPSED}",
        week + "art": "5:1:10:2:7",
        week + "math": f"10:1:10:5:{ELAPSED}",
        month + "global": f"10:1:10:5:{ELAPSED}",
        month + "math": f"10:1:10:5:{ELAPSED}",
        year + "global": f"19:3:30:9:{ELAPSED}",
        year + "math": f"10:1:10:5:{ELAPSED}",
    }
    assert changed[earlier_stats("alice", "weekly")] is None
    assert changed[earlier_stats("alice", "yearly")] is None
    assert expires_in(any_redis, STATS) == max(PERIOD_ENDS.values()) - NOW_S


def test_a_periods_first_exam_drops_the_periods_past_their_retention(any_redis):
    kept = {
        "2026-W36:global": "1:1:1:1:1",  # the oldest week kept
        "2026-W47:math": "1:1:1:1:1",
        "2024-11:global": "1:1:1:1:1",
        "2021:global": "1:1:1:1:1",
    }
    past = {"2026-W35:global": "1:1:1:1:1", "2024-10:art": "1:1:1:1:1", "2020:global": "1:1:1:1:1"}
    any_redis.hset(STATS, mapping={**kept, **past})
    any_redis.expire(STATS, 50)

    record(any_redis, ("fp", "alice", "x1", 10))

    sums = fields(**{"global": f"10:1:10:5:{ELAPSED}", "math": f"10:1:10:5:{ELAPSED}"})
    assert state(any_redis)[STATS] == {**kept, **sums}
    assert expires_in(any_redis, STATS) == max(PERIOD_ENDS.values()) - NOW_S  # made longer


def test_later_exams_of_a_period_read_no_other_field(any_redis):
    """Only a period's first exam looks at the other fields (HKEYS): a field past its
    retention written since stays until the player's first exam of a later period."""
    record(any_redis, ("fp1", "alice", "x1", 10))
    any_redis.hset(STATS, "2020:global", "1:1:1:1:1")

    record(any_redis, ("fp2", "alice", "x2", 10))

    assert any_redis.hget(STATS, "2020:global") == b"1:1:1:1:1"


def keep(redis, *summaries: tuple[str, str], ttl: int = 3600):
    return Scripts(redis).keep_exam_summaries(
        keys=[keys.exam("alice", exam_id) for exam_id, _ in summaries],
        args=[ttl, *(summary for _, summary in summaries)],
    )


def test_the_first_summary_of_each_exam_is_kept_and_answers_every_copy(any_redis):
    record(any_redis, ("fp1", "alice", "x1", 10), ("fp2", "alice", "x2", 5))
    assert keep(any_redis, ("x1", '{"a":1}')) == [b'{"a":1}']
    assert keep(any_redis, ("x1", '{"a":2}'), ("x2", '{"b":1}')) == [b'{"a":1}', b'{"b":1}']
    assert any_redis.get(keys.exam("alice", "x1")) == b'fp1|s{"a":1}'
    assert any_redis.get(keys.exam("alice", "x2")) == b'fp2|s{"b":1}'


def test_a_summary_keeps_the_records_expiry_and_gives_one_to_a_record_without(any_redis):
    record(any_redis, ("fp1", "alice", "x1", 10))
    any_redis.expire(keys.exam("alice", "x1"), 100)
    keep(any_redis, ("x1", "{}"), ("gone", "{}"), ttl=3600)
    assert expires_in(any_redis, keys.exam("alice", "x1")) == 100
    assert expires_in(any_redis, keys.exam("alice", "gone")) == 3600
    assert state(any_redis)[keys.exam("alice", "gone")] == "|s{}"  # no fingerprint known


def test_a_record_kept_without_its_fingerprint_counts_the_exam_again(any_redis):
    keep(any_redis, ("x1", "{}"))  # its step-1 record expired before the summary came
    code, result = record(any_redis, ("fp1", "alice", "x1", 10))
    assert code == ScriptCode.APPLIED
    assert any_redis.get(keys.exam("alice", "x1")) == b"fp1|r" + result.encode()


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
    }
    assert any_redis.hgetall(keys.wallet("alice")) == {b"bricks": b"1", b"coins": b"5"}


def test_an_exam_without_a_right_answer_advances_no_mission(any_redis):
    any_redis.hset(keys.daily("alice", DAY_NAME), "bonus", NOW - 1)
    ctx = context(missions="flawless:solve_questions:1")
    code, result = record(any_redis, ("fp", "alice", "x1", 0), ctx=ctx, correct=0)
    assert code == ScriptCode.APPLIED
    assert json.loads(result)["progress"] == {"streak": 0}
    assert any_redis.hgetall(keys.daily("alice", DAY_NAME)) == {b"bonus": str(NOW - 1).encode()}


def test_keeping_the_summary_drops_the_result_it_replaces(any_redis):
    record(any_redis, ("fp1", "alice", "x1", 10))
    keep(any_redis, ("x1", '{"a":1}'))
    assert state(any_redis)[keys.exam("alice", "x1")] == 'fp1|s{"a":1}'


def test_a_record_kept_as_a_hash_answers_its_replay_and_writes_nothing(any_redis):
    """Records of the hash layout (fp, result, then summary) live out their day."""
    any_redis.hset(keys.exam("alice", "x1"), mapping={"fp": "fp1", "summary": '{"a":1}'})
    any_redis.hset(keys.exam("alice", "x2"), mapping={"fp": "fp2", "result": '{"b":1}'})
    before = state(any_redis)
    replies = record(
        any_redis,
        ("fp1", "alice", "x1", 10),
        ("fp2", "alice", "x2", 10),
        ("fp9", "alice", "x1", 10),
        ctx=context(pace_limit=0),
    )
    assert replies == [
        ScriptCode.REPLAYED,
        '{"a":1}',
        ScriptCode.UNANSWERED,
        '{"b":1}',
        ScriptCode.KEY_REUSED,
        '{"fp":"fp9"}',
    ]
    assert written(before, state(any_redis)) == {}


def test_a_record_kept_as_a_hash_keeps_its_first_summary_in_the_hash(any_redis):
    any_redis.hset(keys.exam("alice", "x1"), mapping={"fp": "fp1", "result": '{"b":1}'})
    any_redis.expire(keys.exam("alice", "x1"), 100)
    assert keep(any_redis, ("x1", '{"a":1}')) == [b'{"a":1}']
    assert keep(any_redis, ("x1", '{"a":2}')) == [b'{"a":1}']
    assert state(any_redis)[keys.exam("alice", "x1")] == {"fp": "fp1", "summary": '{"a":1}'}
    assert expires_in(any_redis, keys.exam("alice", "x1")) == 100
