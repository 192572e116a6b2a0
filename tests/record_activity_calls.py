"""A player's keys, a day's context and the keys and arguments of a record_activity call.

tests/test_script_record_activity.py, tests/test_script_record_activity_zones.py and
tests/test_script_record_activity_commands.py call the script with these (each module
calls Scripts(redis).record_activity itself, with activity_call()'s keys and arguments).
"""

from __future__ import annotations

import json

from engine import keys
from engine.economy import idempotency

PLAYER = "alice"
NOW = 1_795_600_000_000
NOW_S = NOW // 1000
DAY, DAY_NAME = 100, "2026-11-25"
DAY_ENDS = NOW_S + 40_000
SEASON = "s1"
REWARDS = json.dumps(
    {
        "bonus": {"normal": {"logs": 1}, "milestone": {"steel": 1}, "every": 7},
        "missions": {"buy": {"xp": 0, "reward": {"bricks": 2}}},
        "levels": {},
        "caps": {"ad_reward": {"coins": 15}},
    }
)
NO_RATES = ""
ONE_A_MINUTE = "purchases:1:60000:1/minute"

WALLET, LEDGER, OUTBOX = keys.wallet(PLAYER), keys.ledger(PLAYER), keys.player_outbox(PLAYER)
DAILY, STREAK = keys.daily(PLAYER, DAY_NAME), keys.streak(PLAYER)
PACE, RATE = keys.pace(PLAYER, NOW_S), keys.player_rate_window(PLAYER, "purchases")


def context(pace_limit: int = 5, missions: str = "", rates: str = NO_RATES) -> str:
    return f"{DAY}|{DAY_NAME}|{DAY_ENDS}|{pace_limit}|||{missions}|{rates}"


def idem_key(kind: str = "purchase", idem: str = "k1") -> str:
    return keys.idempotency(PLAYER, kind, idem)


def recorded(payload: str) -> str:
    """The idempotency record of an answer: its JSON, member names packed (replay.lua)."""
    return idempotency.packed(payload.encode()).decode()


def activity_call(
    *changes: tuple[str, int],
    kind: str = "purchase",
    fingerprint: str = "fp-1",
    idem: str = "k1",
    ctx: str | None = None,
    event: str = "",
    cap: int = 0,
    max_balance: int = 1000,
) -> tuple[list[str], list]:
    """The keys and arguments of one record_activity call: `changes` as (resource,
    amount), the game day's context unless `ctx` is given."""
    flat = [part for change in changes for part in change]
    return (
        [
            WALLET,
            LEDGER,
            OUTBOX,
            idem_key(kind, idem),
            DAILY,
            STREAK,
            keys.battle_pass(PLAYER, SEASON),
            PACE,
            RATE,
            keys.settings(PLAYER),  # no zone: the game day's keys below are not read
            DAILY,
            DAILY,
        ],
        [
            PLAYER,
            NOW,
            max_balance,
            fingerprint,
            3600,
            f"{kind}/{idem}",
            context() if ctx is None else ctx,
            REWARDS,
            kind,
            "test",
            event,
            cap,
            1000,
            "purchases",
            *flat,
        ],
    )


def claimed_today(redis, streak: int = 3) -> None:
    """The player's day already started: its bonus claimed, the streak at `streak`."""
    redis.hset(DAILY, "bonus", NOW - 60_000)
    redis.hset(STREAK, mapping={"last_day": DAY, "streak": streak, "best": streak})
