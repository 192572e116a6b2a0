"""A player's keys and the arguments of one lua/record_exams.lua call, for its tests.

tests/test_script_record_exams.py, tests/test_script_record_exams_periods.py and
tests/test_script_keep_exam_summaries.py each call the script with exam_call()'s keys
and arguments and read its reply with decoded().
"""

from __future__ import annotations

import json

import fakeredis

from engine import keys

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


def exam_call(
    *exams: tuple[str, str, str, int],
    ctx: str | None = None,
    correct: int = 5,
    xp: int = 0,
    pace: bool = True,
) -> tuple[list[str], list]:
    """The keys and arguments of one record_exams call: exams as (fingerprint, player,
    exam id, score), each of 10 questions; `pace` judges rapid fire."""
    shared = [
        NOW,
        10**12,
        3600,
        ",".join(f"{ELAPSED}:{PERIOD_ENDS[t]}:{NAMES[t]}:{OLDEST[t]}" for t in PERIOD_ENDS),
        "weekly:2026-W48,monthly:2026-11,yearly:2026",
        context() if ctx is None else ctx,
        REWARDS,
        1000,
        "1" if pace else "0",
    ]
    packed = [
        f"{fp}|{player}|{exam_id}|math|{score}|10|{correct}|{xp}"
        for fp, player, exam_id, score in exams
    ]
    all_keys = [key for _, player, exam_id, _ in exams for key in player_keys(player, exam_id)]
    return all_keys, [*shared, *packed]


def decoded(reply: list) -> list:
    """A record_exams reply with its strings decoded (codes stay integers)."""
    return [value.decode() if isinstance(value, bytes) else value for value in reply]


def empty_table(redis) -> dict | list:
    """An empty Lua table as cjson encodes it: an object on Redis, an array on fakeredis."""
    return [] if isinstance(redis, fakeredis.FakeRedis) else {}
