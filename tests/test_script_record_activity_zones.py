"""lua/record_activity.lua for a player with a time zone (include/zone.lua).

A zoned player claims the login of their own local date, in that date's daily hash,
which lives until the local date ends; a player without a zone takes the game day's.
"""

from __future__ import annotations

import json

from engine import keys
from engine.outcomes import ScriptCode
from engine.scripts import Scripts
from tests.record_activity_calls import (
    LEDGER,
    NOW,
    NOW_S,
    OUTBOX,
    PACE,
    PLAYER,
    RATE,
    REWARDS,
    SEASON,
    STREAK,
    WALLET,
)
from tests.script_state import expires_in, state, written

EPOCH = 719_163  # the date ordinal of 1970-01-01
GAME_DAY = EPOCH + NOW_S // 86_400  # 2026-11-25: NOW is 08:26:40 UTC
PAGO_PAGO = 3 * 3600 + 11 * 3600  # local day L starts at (L - EPOCH) * 86400 + this (UTC-11)
GRACE = 3600


def zoned_context(day: int, name: str) -> str:
    """A day's context as the engine writes it, its expiry the game day's end + grace."""
    return f"{day}|{name}|{(day + 1 - EPOCH) * 86_400 + 3 * 3600 + GRACE}|5|{SEASON}|1000||"


def zoned_login(redis) -> tuple[int, dict]:
    """A login with the game day's context then Pago Pago's 24th and the 26th's; the
    daily keys in the same order."""
    contexts = [
        zoned_context(GAME_DAY, "2026-11-25"),
        str(GRACE),
        zoned_context(GAME_DAY - 1, "2026-11-24"),
        zoned_context(GAME_DAY + 1, "2026-11-26"),
    ]
    code, payload = Scripts(redis).record_activity(
        keys=[
            WALLET,
            LEDGER,
            OUTBOX,
            keys.daily(PLAYER, "2026-11-25"),
            keys.daily(PLAYER, "2026-11-25"),
            STREAK,
            keys.battle_pass(PLAYER, SEASON),
            PACE,
            RATE,
            keys.settings(PLAYER),
            keys.daily(PLAYER, "2026-11-24"),
            keys.daily(PLAYER, "2026-11-26"),
        ],
        args=[
            PLAYER, NOW, 1000, "", 3600, "login/2026-11-25", "\n".join(contexts),
            "\n".join([REWARDS] * 3), "login", "login", "", 0, 1000, "login",
        ],
    )  # fmt: skip
    return code, json.loads(payload)


def test_a_player_in_pago_pago_claims_their_own_date_and_keeps_when_it_ends(any_redis):
    any_redis.hset(keys.settings(PLAYER), "days", f"{GAME_DAY - 30}:{PAGO_PAGO}")
    local_day = GAME_DAY - 1  # 21:26 on the 24th in Pago Pago
    ends = (local_day + 1 - EPOCH) * 86_400 + PAGO_PAGO
    before = state(any_redis)

    code, outcome = zoned_login(any_redis)

    assert code == ScriptCode.APPLIED
    assert outcome["progress"]["daily_bonus"]["streak"] == 1
    assert outcome["progress"]["claim_ends"] == ends
    changed = written(before, state(any_redis))
    assert changed[STREAK] == {
        "last_day": str(local_day),
        "streak": "1",
        "best": "1",
        "claim_ends": str(ends),
        "streak_ends": str(ends + 86_400),
        "claimed_on": str(local_day),  # the date whose hash holds the claim
    }
    assert set(changed[keys.daily(PLAYER, "2026-11-24")]) == {"bonus"}
    assert keys.daily(PLAYER, "2026-11-25") not in changed  # the game day's: untouched
    assert expires_in(any_redis, keys.daily(PLAYER, "2026-11-24")) == ends + GRACE - NOW_S

    again, answer = zoned_login(any_redis)
    assert again == ScriptCode.NO_CHANGE
    assert answer["progress"] == {"streak": 1, "claim_ends": ends}


def test_without_a_zone_the_game_days_context_and_key_are_taken(any_redis):
    code, outcome = zoned_login(any_redis)

    assert code == ScriptCode.APPLIED
    assert "claim_ends" not in outcome["progress"]
    assert any_redis.hget(STREAK, "last_day") == str(GAME_DAY).encode()
    assert any_redis.hexists(keys.daily(PLAYER, "2026-11-25"), "bonus")
    assert not any_redis.exists(keys.daily(PLAYER, "2026-11-24"))


# What a call costs Redis: the commands the script sends --------------------------------
