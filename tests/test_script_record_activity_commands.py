"""What a call of lua/record_activity.lua costs Redis: the commands the script sends.

Each case counts the commands fakeredis runs for the script: a day's fields read in one
command, a rate window trimmed only when it must be, a refusal that reads nothing more.
"""

from __future__ import annotations

import pytest
from fakeredis.commands_mixins.scripting_mixin import ScriptingCommandsMixin

from engine.outcomes import ScriptCode
from engine.scripts import Scripts
from tests.record_activity_calls import (
    DAILY,
    NOW,
    ONE_A_MINUTE,
    PACE,
    RATE,
    WALLET,
    activity_call,
    claimed_today,
    context,
)
from tests.script_state import expires_in


def call(redis, *changes: tuple[str, int], **options) -> tuple[int, str]:
    """One call of the script: `changes` as (resource, amount); see activity_call()."""
    all_keys, args = activity_call(*changes, **options)
    code, payload = Scripts(redis).record_activity(keys=all_keys, args=args)
    return code, payload.decode()


@pytest.fixture
def sent(monkeypatch) -> list[str]:
    """The commands fakeredis runs for the scripts' redis.call's, in order."""
    commands: list[str] = []
    run = ScriptingCommandsMixin._lua_redis_call

    def counted(self, runtime, expected, op, *args):
        commands.append(op.decode().upper() if isinstance(op, bytes) else str(op).upper())
        return run(self, runtime, expected, op, *args)

    monkeypatch.setattr(ScriptingCommandsMixin, "_lua_redis_call", counted)
    return commands


def test_a_purchase_of_a_claimed_day_reads_the_days_fields_in_one_command(fake_redis, sent):
    fake_redis.hset(WALLET, "coins", 100)
    claimed_today(fake_redis)
    fake_redis.hset(DAILY, "mission:buy:done", NOW - 1_000)
    ctx = context(
        missions="buy:purchase:1;spend:purchase:3;log:login:1", rates="purchases:5:60000:5/minute"
    )

    code, _ = call(fake_redis, ("coins", -10), event="purchase", ctx=ctx)

    assert code == ScriptCode.APPLIED
    assert sent == [
        "GET",  # the idempotency record
        "ZCARD",  # the rate window, not full: nothing to drop from it
        "ZADD",
        "PEXPIRE",
        "SET",  # the second's pace: its first change creates it with its expiry
        "HGETALL",  # the wallet
        "HMGET",  # the day's bonus and the done flags of the event's missions
        "HSET",
        "XADD",
        "LPUSH",
        "HINCRBY",  # the mission not done yet
        "HGET",  # the streak
        "SET",  # the outcome
    ]


def test_a_full_window_drops_the_changes_that_left_it_before_refusing(fake_redis, sent):
    fake_redis.hset(WALLET, "coins", 100)
    claimed_today(fake_redis)
    fake_redis.zadd(RATE, {"old": NOW - 60_000, "recent": NOW - 1_000})
    two_a_minute = "purchases:2:60000:2/minute"

    code, _ = call(fake_redis, ("coins", -10), ctx=context(rates=two_a_minute))

    assert code == ScriptCode.APPLIED  # "old" left the window: one of two places taken
    assert sent[1:5] == ["ZCARD", "ZREMRANGEBYSCORE", "ZADD", "PEXPIRE"]
    assert fake_redis.zrange(RATE, 0, -1) == [b"recent", f"{NOW}:purchase/k1".encode()]


def test_a_window_with_room_keeps_changes_that_left_it_until_it_fills(fake_redis):
    fake_redis.hset(WALLET, "coins", 100)
    claimed_today(fake_redis)
    fake_redis.zadd(RATE, {"old": NOW - 60_000})
    three_a_minute = "purchases:3:60000:3/minute"

    first, _ = call(fake_redis, ("coins", -10), ctx=context(rates=three_a_minute))
    second, _ = call(fake_redis, ("coins", -10), idem="k2", ctx=context(rates=three_a_minute))
    third, _ = call(fake_redis, ("coins", -10), idem="k3", ctx=context(rates=three_a_minute))
    fourth, _ = call(fake_redis, ("coins", -10), idem="k4", ctx=context(rates=three_a_minute))

    assert (first, second, third) == (ScriptCode.APPLIED,) * 3  # "old" never counted
    assert fourth == ScriptCode.RATE_LIMITED
    assert fake_redis.zcard(RATE) == 3  # "old" dropped once the window was full


def test_a_first_ad_reward_of_the_day_reads_its_count_and_the_bonus_in_one_command(
    fake_redis, sent
):
    claimed_today(fake_redis)

    code, _ = call(
        fake_redis,
        kind="ad_reward",
        idem="ad1",
        event="watch_ad",
        cap=3,
        fingerprint="fp-ad",
        ctx=context(missions="ads:watch_ad:2"),
    )

    assert code == ScriptCode.APPLIED
    assert sent.count("HMGET") == 1
    assert "HEXISTS" not in sent and sent.count("HGET") == 1  # the streak's only


def test_a_first_login_reads_the_bonus_once(fake_redis, sent):
    code, _ = call(fake_redis, kind="login", fingerprint="", idem="", ctx=context())

    assert code == ScriptCode.APPLIED
    assert sent[:1] == ["HMGET"] and "HEXISTS" not in sent


def test_a_refused_purchase_reads_nothing_of_the_day(fake_redis, sent):
    fake_redis.hset(WALLET, "coins", 100)
    fake_redis.zadd(RATE, {"earlier": NOW - 1_000})

    code, _ = call(fake_redis, ("coins", -10), event="purchase", ctx=context(rates=ONE_A_MINUTE))

    assert code == ScriptCode.RATE_LIMITED
    assert sent == ["GET", "ZCARD", "ZREMRANGEBYSCORE", "ZRANGE"]


def test_a_window_far_from_full_drops_its_old_changes_at_every_eighth_member(fake_redis):
    fake_redis.hset(WALLET, "coins", 100)
    claimed_today(fake_redis)
    fake_redis.zadd(RATE, {f"old-{n}": NOW - 60_000 - n for n in range(6)})
    hundred_a_minute = "purchases:100:60000:100/minute"

    call(fake_redis, ("coins", -10), ctx=context(rates=hundred_a_minute))
    assert fake_redis.zcard(RATE) == 7  # six old ones and this one: kept
    call(fake_redis, ("coins", -10), idem="k2", ctx=context(rates=hundred_a_minute))

    assert fake_redis.zrange(RATE, 0, -1) == [
        f"{NOW}:purchase/k1".encode(),
        f"{NOW}:purchase/k2".encode(),
    ]


def test_a_second_change_in_the_same_second_counts_on_the_pace(fake_redis, sent):
    fake_redis.hset(WALLET, "coins", 100)
    claimed_today(fake_redis)

    call(fake_redis, ("coins", -10))
    sent.clear()
    call(fake_redis, ("coins", -10), idem="k2")

    assert sent[1:3] == ["SET", "INCR"]  # the pace exists: counted on it
    assert fake_redis.get(PACE) == b"2"
    assert expires_in(fake_redis, PACE) == 2
