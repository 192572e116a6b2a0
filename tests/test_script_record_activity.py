"""lua/record_activity.lua called directly: one case per outcome code, on fakeredis and Redis.

Each case states the exact reply and the exact keys the call writes; the refusals that
must not count against the player write nothing at all.
"""

from __future__ import annotations

import json

import pytest
from fakeredis.commands_mixins.scripting_mixin import ScriptingCommandsMixin

from engine import keys
from engine.economy import idempotency
from engine.outcomes import ScriptCode
from engine.scripts import Scripts
from tests.script_state import expires_in, state, written

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


def call(
    redis,
    *changes: tuple[str, int],
    kind: str = "purchase",
    fingerprint: str = "fp-1",
    idem: str = "k1",
    ctx: str | None = None,
    event: str = "",
    cap: int = 0,
    max_balance: int = 1000,
) -> tuple[int, str]:
    flat = [part for change in changes for part in change]
    code, payload = Scripts(redis).record_activity(
        keys=[
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
        args=[
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
    return code, payload.decode()


def claimed_today(redis, streak: int = 3) -> None:
    """The player's day already started: its bonus claimed, the streak at `streak`."""
    redis.hset(DAILY, "bonus", NOW - 60_000)
    redis.hset(STREAK, mapping={"last_day": DAY, "streak": streak, "best": streak})


def test_applied_pays_the_days_bonus_then_the_purchase_each_with_its_ledger_entry(any_redis):
    any_redis.hset(WALLET, "coins", 100)
    before = state(any_redis)

    code, payload = call(any_redis, ("steel", 1), ("coins", -10))

    after = state(any_redis)
    [(bonus_tx, bonus), (purchase_tx, purchase)] = after[OUTBOX]
    assert code == ScriptCode.APPLIED
    assert json.loads(payload) == {
        "fp": "fp-1",
        "code": 0,
        "tx": purchase_tx,
        "at": NOW,
        "deltas": {"steel": 1, "coins": -10},
        "balances": {"coins": 90, "logs": 1, "steel": 1},
        "progress": {
            "daily_bonus": {"streak": 1, "reward": {"logs": 1}, "transaction_id": bonus_tx},
            "streak": 1,  # empty lists are left out of a recorded outcome
        },
    }
    assert bonus == {
        "player": PLAYER,
        "kind": "login_bonus",
        "deltas": '{"logs":1}',
        "balances": '{"coins":100,"logs":1}',
        "reason": "daily login, streak day 1",
        "at": str(NOW),
        "ref": f"bonus/{DAY_NAME}",
        "fp": "",
    }
    assert purchase == {
        "player": PLAYER,
        "kind": "purchase",
        "deltas": '{"steel":1,"coins":-10}',
        "balances": '{"coins":90,"logs":1,"steel":1}',
        "reason": "test",
        "at": str(NOW),
        "ref": "purchase/k1",
        "fp": "fp-1",
    }
    assert written(before, after) == {
        WALLET: {"coins": "90", "logs": "1", "steel": "1"},
        LEDGER: [  # newest first; the transaction id is the outbox entry's ID
            f'["{purchase_tx}","purchase",{{"steel":1,"coins":-10}},'
            f'{{"coins":90,"logs":1,"steel":1}},"test",{NOW}]',
            f'["{bonus_tx}","login_bonus",{{"logs":1}},{{"coins":100,"logs":1}},'
            f'"daily login, streak day 1",{NOW}]',
        ],
        OUTBOX: after[OUTBOX],
        idem_key(): recorded(payload),
        DAILY: {"bonus": str(NOW)},
        STREAK: {"last_day": str(DAY), "streak": "1", "best": "1"},
        PACE: "1",
    }
    assert expires_in(any_redis, idem_key()) == 3600
    assert expires_in(any_redis, DAILY) == DAY_ENDS - NOW_S
    assert expires_in(any_redis, PACE) == 2


def test_a_replay_answers_the_recorded_outcome_and_writes_nothing(any_redis):
    any_redis.hset(WALLET, "coins", 100)
    _, first = call(any_redis, ("coins", -10))
    before = state(any_redis)

    code, again = call(any_redis, ("coins", -10), ctx=context(pace_limit=1, rates=ONE_A_MINUTE))

    assert (code, again) == (ScriptCode.REPLAYED, first)
    assert written(before, state(any_redis)) == {}  # not counted against pace or rate


def test_a_login_of_a_day_already_claimed_changes_nothing_and_records_nothing(any_redis):
    any_redis.hset(WALLET, "coins", 7)
    claimed_today(any_redis, streak=3)
    before = state(any_redis)

    code, payload = call(any_redis, kind="login", fingerprint="", ctx=context(pace_limit=0))

    assert code == ScriptCode.NO_CHANGE
    assert json.loads(payload) == {
        "fp": "",
        "code": 0,
        "at": NOW,
        "balances": {"coins": 7},
        "progress": {"streak": 3},
    }
    assert written(before, state(any_redis)) == {}


def test_a_first_login_claims_the_bonus_and_keeps_no_idempotency_record(any_redis):
    any_redis.hset(STREAK, mapping={"last_day": DAY - 1, "streak": 6, "best": 6})

    code, payload = call(any_redis, kind="login", fingerprint="")

    outcome = json.loads(payload)
    assert code == ScriptCode.APPLIED
    assert outcome["progress"]["daily_bonus"]["streak"] == 7
    assert outcome["progress"]["daily_bonus"]["reward"] == {"steel": 1}  # the 7th day
    assert outcome["balances"] == {"steel": 1}
    assert "tx" not in outcome  # a login has no change of its own
    assert any_redis.hgetall(STREAK) == {b"last_day": b"100", b"streak": b"7", b"best": b"7"}
    assert not any_redis.exists(idem_key("login"))


def test_a_day_whose_bonus_the_streak_already_counts_pays_no_second_bonus(any_redis):
    """The day's hash is gone (or the clock moved back) but the streak holds this day."""
    any_redis.hset(STREAK, mapping={"last_day": DAY, "streak": 4, "best": 4})

    code, payload = call(any_redis, kind="login", fingerprint="")

    assert (code, json.loads(payload)) == (
        ScriptCode.APPLIED,
        {"fp": "", "code": 0, "at": NOW, "balances": {}, "progress": {"streak": 4}},
    )
    assert any_redis.llen(LEDGER) == 0
    assert any_redis.hgetall(DAILY) == {b"bonus": str(NOW).encode()}
    assert expires_in(any_redis, DAILY) == DAY_ENDS - NOW_S


def test_a_bonus_that_does_not_fit_under_the_balance_limit_pays_nothing(any_redis):
    any_redis.hset(WALLET, "logs", 1000)

    code, payload = call(any_redis, kind="login", fingerprint="", max_balance=1000)

    assert (code, json.loads(payload)) == (
        ScriptCode.APPLIED,
        {
            "fp": "",
            "code": 0,
            "at": NOW,
            "balances": {"logs": 1000},
            "progress": {
                "daily_bonus": {"streak": 1, "reward": {"logs": 1}},  # no transaction
                "streak": 1,
            },
        },
    )
    assert any_redis.llen(LEDGER) == 0
    assert any_redis.xlen(OUTBOX) == 0


def test_a_key_reused_for_another_request_is_refused_and_writes_nothing(any_redis):
    any_redis.hset(WALLET, "coins", 100)
    call(any_redis, ("coins", -10), fingerprint="fp-1")
    before = state(any_redis)

    code, payload = call(any_redis, ("coins", -99), fingerprint="fp-2")

    assert (code, json.loads(payload)) == (ScriptCode.KEY_REUSED, {"fp": "fp-2"})
    assert written(before, state(any_redis)) == {}


def test_insufficient_funds_records_the_refusal_and_changes_no_balance(any_redis):
    any_redis.hset(WALLET, "coins", 100)
    before = state(any_redis)

    code, payload = call(any_redis, ("steel", 1), ("coins", -500))

    assert code == ScriptCode.INSUFFICIENT_FUNDS
    assert json.loads(payload) == {
        "fp": "fp-1",
        "code": -1,
        "resource": "coins",
        "required": 500,
        "available": 100,
    }
    # the attempt counts in the second's pace; no bonus is claimed by a refused purchase
    assert written(before, state(any_redis)) == {idem_key(): recorded(payload), PACE: "1"}


def test_a_balance_over_the_limit_records_the_refusal_and_changes_no_balance(any_redis):
    any_redis.hset(WALLET, "coins", 990)
    before = state(any_redis)

    code, payload = call(any_redis, ("coins", 20), max_balance=1000)

    assert code == ScriptCode.BALANCE_LIMIT
    assert json.loads(payload) == {
        "fp": "fp-1",
        "code": -3,
        "resource": "coins",
        "limit": 1000,
        "balance": 990,
    }
    assert written(before, state(any_redis)) == {idem_key(): recorded(payload), PACE: "1"}


def test_the_daily_limit_of_ad_rewards_refuses_the_next_one(any_redis):
    claimed_today(any_redis)
    any_redis.hset(DAILY, "ads", 2)
    before = state(any_redis)

    code, payload = call(any_redis, ("coins", 5), kind="ad_reward", cap=2)

    assert code == ScriptCode.DAILY_LIMIT
    assert json.loads(payload) == {"fp": "fp-1", "code": -4, "limit": 2, "used": 2}
    assert written(before, state(any_redis)) == {
        idem_key("ad_reward"): recorded(payload),
        PACE: "1",
    }


def test_an_ad_reward_is_paid_within_its_daily_earning_cap_and_counted(any_redis):
    claimed_today(any_redis)
    any_redis.hset(DAILY, "earned:ad_reward:coins", 10)

    code, payload = call(any_redis, ("coins", 8), kind="ad_reward", cap=3)

    outcome = json.loads(payload)
    assert code == ScriptCode.APPLIED
    assert outcome["deltas"] == {"coins": 5}  # 15 a day, 10 earned already
    assert outcome["balances"] == {"coins": 5}
    assert outcome["progress"]["ads_watched"] == 1
    assert outcome["progress"]["violations"] == [
        {
            "rule": "daily_earning_cap",
            "kind": "ad_reward",
            "resource": "coins",
            "cap": 15,
            "earned": 10,
            "refused": 3,
        }
    ]
    assert any_redis.hget(DAILY, "earned:ad_reward:coins") == b"15"
    assert any_redis.hget(DAILY, "ads") == b"1"


def test_an_ad_reward_over_its_earning_cap_pays_nothing_and_has_no_transaction(any_redis):
    claimed_today(any_redis)
    any_redis.hset(DAILY, "earned:ad_reward:coins", 15)

    code, payload = call(any_redis, ("coins", 8), kind="ad_reward", cap=3)

    outcome = json.loads(payload)
    assert code == ScriptCode.APPLIED
    assert "tx" not in outcome and "deltas" not in outcome
    assert outcome["progress"]["violations"][0]["refused"] == 8
    assert any_redis.llen(LEDGER) == 0


def test_the_event_advances_its_mission_and_pays_it_when_complete(any_redis):
    claimed_today(any_redis)
    any_redis.hset(WALLET, "coins", 50)

    code, payload = call(
        any_redis, ("coins", -10), event="purchase", ctx=context(missions="buy:purchase:1")
    )

    outcome = json.loads(payload)
    mission_tx = json.loads(any_redis.lindex(LEDGER, 0))[0]  # the newest entry
    assert code == ScriptCode.APPLIED
    assert outcome["progress"]["missions"] == [
        {
            "id": "buy",
            "progress": 1,
            "target": 1,
            "completed": True,
            "xp": 0,
            "reward": {"bricks": 2},
            "transaction_id": mission_tx,
        }
    ]
    assert outcome["balances"] == {"coins": 40, "bricks": 2}
    assert any_redis.hget(DAILY, "mission:buy:done") == str(NOW).encode()


def test_rapid_fire_refuses_past_the_seconds_pace_and_records_no_outcome(any_redis):
    any_redis.hset(WALLET, "coins", 100)
    any_redis.set(PACE, 1)
    before = state(any_redis)

    code, payload = call(any_redis, ("coins", -10), ctx=context(pace_limit=1))

    assert (code, json.loads(payload)) == (ScriptCode.RAPID_FIRE, {"limit": 1, "count": 2})
    assert written(before, state(any_redis)) == {PACE: "2"}  # a retry is answered normally


def test_rate_limited_refuses_when_the_window_is_full_and_writes_nothing(any_redis):
    any_redis.hset(WALLET, "coins", 100)
    any_redis.zadd(RATE, {"earlier": NOW - 1_000})
    before = state(any_redis)

    code, payload = call(any_redis, ("coins", -10), ctx=context(rates=ONE_A_MINUTE))

    assert code == ScriptCode.RATE_LIMITED
    assert json.loads(payload) == {
        "limit": "1/minute",
        "scope": "player",
        "group": "purchases",
        "retry_after": 59,
    }
    assert written(before, state(any_redis)) == {}


def test_an_attempt_within_the_rate_limit_takes_a_slot_of_the_window(any_redis):
    any_redis.hset(WALLET, "coins", 100)
    claimed_today(any_redis)
    any_redis.zadd(RATE, {"long ago": NOW - 60_000})  # left the window

    code, _ = call(any_redis, ("coins", -10), ctx=context(rates=ONE_A_MINUTE))

    assert code == ScriptCode.APPLIED
    assert any_redis.zrange(RATE, 0, -1, withscores=True) == [(f"{NOW}:purchase/k1".encode(), NOW)]
    assert any_redis.pttl(RATE) > 59_000


# A player with a time zone (include/zone.lua) ---------------------------------------

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
