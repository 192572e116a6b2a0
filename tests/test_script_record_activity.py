"""lua/record_activity.lua called directly: one case per outcome code, on fakeredis and Redis.

Each case states the exact reply and the exact keys the call writes; the refusals that
must not count against the player write nothing at all.
"""

from __future__ import annotations

import json

from engine.outcomes import ScriptCode
from engine.scripts import Scripts
from tests.record_activity_calls import (
    DAILY,
    DAY,
    DAY_ENDS,
    DAY_NAME,
    LEDGER,
    NOW,
    NOW_S,
    ONE_A_MINUTE,
    OUTBOX,
    PACE,
    PLAYER,
    RATE,
    STREAK,
    WALLET,
    activity_call,
    claimed_today,
    context,
    idem_key,
    recorded,
)
from tests.script_state import expires_in, state, written


def call(redis, *changes: tuple[str, int], **options) -> tuple[int, str]:
    """One call of the script: `changes` as (resource, amount); see activity_call()."""
    all_keys, args = activity_call(*changes, **options)
    code, payload = Scripts(redis).record_activity(keys=all_keys, args=args)
    return code, payload.decode()


def kept_for_sql(after, payload: str, ref: str) -> list:
    """The outbox holding one entry, the "record" entry of `payload` (for
    engine.economy.idempotency_records); returned to compare the outbox with."""
    [(entry_id, entry)] = after[OUTBOX]
    assert entry == {
        "player": PLAYER,
        "type": "record",
        "ref": ref,
        "record": payload,
        "at": str(NOW),
    }
    return [(entry_id, entry)]


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


def test_a_keyed_login_of_a_day_already_claimed_records_its_answer_for_sql_too(any_redis):
    """No ledger entry gives its record back after a rebuild: an outbox "record" entry
    takes it to SQL (engine.ops.persistence_outbox)."""
    any_redis.hset(WALLET, "coins", 7)
    claimed_today(any_redis, streak=3)
    before = state(any_redis)

    code, payload = call(any_redis, kind="login", idem="session-2", ctx=context(pace_limit=0))

    after = state(any_redis)
    assert code == ScriptCode.NO_CHANGE
    assert json.loads(payload) == {
        "fp": "fp-1",
        "code": 0,
        "at": NOW,
        "balances": {"coins": 7},
        "progress": {"streak": 3},
    }
    assert written(before, after) == {
        idem_key("login", "session-2"): recorded(payload),
        OUTBOX: kept_for_sql(after, payload, "login/session-2"),
    }


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

    outcome = json.loads(payload)
    bonus = outcome["progress"].pop("daily_bonus")
    assert (code, outcome) == (
        ScriptCode.APPLIED,
        {"fp": "", "code": 0, "at": NOW, "balances": {"logs": 1000}, "progress": {"streak": 1}},
    )
    # claimed, nothing paid, no transaction: an empty reward (cjson writes {} or [])
    assert bonus["streak"] == 1 and not bonus["reward"] and "transaction_id" not in bonus
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
    # the attempt counts in the second's pace; no bonus is claimed by a refused purchase;
    # the record goes to SQL through the outbox (no ledger entry gives it back)
    after = state(any_redis)
    assert written(before, after) == {
        idem_key(): recorded(payload),
        PACE: "1",
        OUTBOX: kept_for_sql(after, payload, "purchase/k1"),
    }


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
    after = state(any_redis)
    assert written(before, after) == {
        idem_key(): recorded(payload),
        PACE: "1",
        OUTBOX: kept_for_sql(after, payload, "purchase/k1"),
    }


def test_the_daily_limit_of_ad_rewards_refuses_the_next_one(any_redis):
    claimed_today(any_redis)
    any_redis.hset(DAILY, "ads", 2)
    before = state(any_redis)

    code, payload = call(any_redis, ("coins", 5), kind="ad_reward", cap=2)

    assert code == ScriptCode.DAILY_LIMIT
    assert json.loads(payload) == {"fp": "fp-1", "code": -4, "limit": 2, "used": 2}
    after = state(any_redis)
    assert written(before, after) == {
        idem_key("ad_reward"): recorded(payload),
        PACE: "1",
        OUTBOX: kept_for_sql(after, payload, "ad_reward/k1"),
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
    kept_for_sql(state(any_redis), payload, "ad_reward/k1")  # no entry gives it back


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
