"""lua/repair_streak.lua called directly: one case per outcome code, on fakeredis and Redis.

Each case states the exact reply and the exact keys the call writes; a refusal writes
its recorded outcome and nothing else.
"""

from __future__ import annotations

import json

from engine import keys
from engine.outcomes import ScriptCode
from engine.scripts import Scripts
from tests.script_state import state, written

PLAYER = "alice"
NOW = 1_795_600_000_000
WALLET, LEDGER, OUTBOX = keys.wallet(PLAYER), keys.ledger(PLAYER), keys.player_outbox(PLAYER)
STREAK, RATE = keys.streak(PLAYER), keys.player_rate_window(PLAYER, "purchases")
PRICE = ["coins", 50, 10, 500]  # resource, base, per day, max price
NO_LIMIT = (0, 0, "")
MILESTONES = (7, '{"steel":10}')  # milestone_every, what a milestone pays beyond a day
TWO_A_MINUTE = (2, 60_000, "2/minute")  # count, window (ms), as the rules write it


def idem(key: str = "k1") -> str:
    return keys.idempotency(PLAYER, "streak_repair", key)


def kept_for_sql(redis) -> tuple[str, dict]:
    """The reference and the outcome of the outbox's last entry, which must be a refusal's
    "record" entry (no ledger entry gives its record back after a rebuild)."""
    [(_, entry)] = redis.xrevrange(OUTBOX, count=1)
    assert (entry[b"type"], entry[b"player"], entry[b"at"]) == (
        b"record",
        PLAYER.encode(),
        str(NOW).encode(),
    )
    return entry[b"ref"].decode(), json.loads(entry[b"record"])


def call(
    redis,
    key: str = "k1",
    fingerprint: str = "fp-1",
    now: int = NOW,
    limit=NO_LIMIT,
    milestones=MILESTONES,
):
    args = [PLAYER, now, 1_000_000, fingerprint, 3600, f"streak_repair/{key}", 1000, *PRICE]
    code, payload = Scripts(redis).repair_streak(
        keys=[WALLET, LEDGER, OUTBOX, idem(key), STREAK, RATE],
        args=[*args, *limit, "purchases", *milestones],
    )
    return code, json.loads(payload)


def broken(
    redis, lost: int = 10, repair_by: int = NOW + 1000, coins: int = 1000, since: int = 1
) -> None:
    """A break of `lost` days noted, and `since` days claimed since the restart."""
    redis.hset(
        STREAK,
        mapping={
            "last_day": 100,
            "streak": since,
            "best": 12,
            "lost": lost,
            "repair_by": repair_by,
        },
    )
    redis.hset(WALLET, "coins", coins)


def test_applied_restores_the_streak_debits_the_price_and_writes_ledger_and_outbox(any_redis):
    broken(any_redis)
    before = state(any_redis)

    code, outcome = call(any_redis)

    assert code == ScriptCode.APPLIED
    tx = outcome["tx"]
    assert outcome == {
        "fp": "fp-1",
        "code": 0,
        "tx": tx,
        "at": NOW,
        "deltas": {"coins": -150},
        "balances": {"coins": 850},
        "streak": 11,
        "lost": 10,
        "best": 12,
        "milestones": [],
    }
    changed = written(before, state(any_redis))
    assert set(changed) == {WALLET, LEDGER, OUTBOX, STREAK, idem()}
    assert changed[WALLET] == {"coins": "850"}
    assert changed[STREAK] == {
        "last_day": "100",
        "streak": "11",
        "best": "12",
        "lost": "0",
        "repair_by": str(NOW + 1000),
    }
    [(entry_id, fields)] = changed[OUTBOX]
    assert entry_id == tx
    assert (fields["kind"], fields["ref"], fields["fp"]) == (
        "streak_repair",
        "streak_repair/k1",
        "fp-1",
    )
    assert json.loads(changed[LEDGER][0])[:3] == [tx, "streak_repair", {"coins": -150}]


def test_the_price_is_capped_and_best_follows_a_longer_streak(any_redis):
    broken(any_redis, lost=60)
    code, outcome = call(any_redis)
    assert (code, outcome["deltas"], outcome["streak"], outcome["best"]) == (
        ScriptCode.APPLIED,
        {"coins": -500},
        61,
        61,
    )


def test_replayed_answers_the_record_and_writes_nothing(any_redis):
    broken(any_redis)
    _, first = call(any_redis)
    before = state(any_redis)
    code, again = call(any_redis)
    assert (code, again) == (ScriptCode.REPLAYED, first)
    assert written(before, state(any_redis)) == {}


def test_key_reused_with_another_fingerprint_writes_nothing(any_redis):
    broken(any_redis)
    call(any_redis)
    before = state(any_redis)
    code, outcome = call(any_redis, fingerprint="fp-2")
    assert (code, outcome) == (ScriptCode.KEY_REUSED, {"fp": "fp-2"})
    assert written(before, state(any_redis)) == {}


def test_not_repairable_without_a_break_records_only_its_outcome(any_redis):
    any_redis.hset(STREAK, mapping={"last_day": 100, "streak": 3, "best": 3})
    before = state(any_redis)
    code, outcome = call(any_redis)
    assert (code, outcome) == (
        ScriptCode.NOT_REPAIRABLE,
        {"fp": "fp-1", "code": -10, "reason": "none"},
    )
    assert set(written(before, state(any_redis))) == {idem(), OUTBOX}
    assert kept_for_sql(any_redis) == ("streak_repair/k1", outcome)


def test_not_repairable_once_repaired(any_redis):
    broken(any_redis)
    call(any_redis)
    before = state(any_redis)
    code, outcome = call(any_redis, key="k2")
    assert (code, outcome["reason"]) == (ScriptCode.NOT_REPAIRABLE, "repaired")
    assert set(written(before, state(any_redis))) == {idem("k2"), OUTBOX}
    assert kept_for_sql(any_redis) == ("streak_repair/k2", outcome)


def test_not_repairable_after_the_deadline(any_redis):
    broken(any_redis, repair_by=NOW - 1)
    before = state(any_redis)
    code, outcome = call(any_redis)
    assert (code, outcome["reason"], outcome["repair_by"]) == (
        ScriptCode.NOT_REPAIRABLE,
        "expired",
        NOW - 1,
    )
    assert set(written(before, state(any_redis))) == {idem(), OUTBOX}
    assert kept_for_sql(any_redis) == ("streak_repair/k1", outcome)


def test_at_the_deadline_itself_the_repair_is_made(any_redis):
    broken(any_redis, repair_by=NOW)
    assert call(any_redis)[0] == ScriptCode.APPLIED


def test_insufficient_funds_changes_nothing_but_the_record(any_redis):
    broken(any_redis, coins=149)
    before = state(any_redis)
    code, outcome = call(any_redis)
    assert (code, outcome) == (
        ScriptCode.INSUFFICIENT_FUNDS,
        {"fp": "fp-1", "code": -1, "resource": "coins", "required": 150, "available": 149},
    )
    assert set(written(before, state(any_redis))) == {idem(), OUTBOX}
    assert kept_for_sql(any_redis) == ("streak_repair/k1", outcome)


def test_an_attempt_within_the_players_limit_takes_a_place_in_their_window(any_redis):
    broken(any_redis)
    before = state(any_redis)
    code, _ = call(any_redis, limit=TWO_A_MINUTE)
    assert code == ScriptCode.APPLIED
    assert written(before, state(any_redis))[RATE] == [(f"{NOW}:streak_repair/k1", NOW)]
    assert 0 < any_redis.pttl(RATE) <= 60_000


def test_refusals_are_attempts_and_take_a_place_too(any_redis):
    broken(any_redis, coins=0)
    code, _ = call(any_redis, limit=TWO_A_MINUTE)
    assert code == ScriptCode.INSUFFICIENT_FUNDS
    assert any_redis.zrange(RATE, 0, -1) == [f"{NOW}:streak_repair/k1".encode()]


def test_rate_limited_when_the_players_window_is_full_writes_nothing(any_redis):
    broken(any_redis)
    any_redis.zadd(RATE, {"a": NOW - 50_000, "b": NOW - 10_000})
    before = state(any_redis)
    code, outcome = call(any_redis, limit=TWO_A_MINUTE)
    assert (code, outcome) == (
        ScriptCode.RATE_LIMITED,
        {"limit": "2/minute", "scope": "player", "group": "purchases", "retry_after": 10},
    )
    assert written(before, state(any_redis)) == {}  # not even the outcome: a retry may pass


def test_a_replay_at_a_full_window_is_answered_and_takes_no_place(any_redis):
    broken(any_redis)
    _, first = call(any_redis, limit=TWO_A_MINUTE)
    any_redis.zadd(RATE, {"a": NOW - 10_000})
    before = state(any_redis)
    code, again = call(any_redis, now=NOW + 1, limit=TWO_A_MINUTE)
    assert (code, again) == (ScriptCode.REPLAYED, first)
    assert written(before, state(any_redis)) == {}


def test_applied_to_a_milestone_pays_what_it_pays_beyond_a_day_in_an_entry_of_its_own(
    any_redis,
):
    broken(any_redis, lost=6)  # restored to 7: a milestone its claim paid as day 1
    before = state(any_redis)

    code, outcome = call(any_redis)

    assert code == ScriptCode.APPLIED
    [bonus] = outcome["milestones"]
    assert bonus == {
        "streak": 7,
        "reward": {"steel": 10},
        "transaction_id": bonus["transaction_id"],
    }
    assert (outcome["streak"], outcome["balances"]) == (7, {"coins": 890, "steel": 10})
    changed = written(before, state(any_redis))
    assert changed[WALLET] == {"coins": "890", "steel": "10"}
    repair_entry, paid_entry = changed[OUTBOX]
    assert repair_entry[0] == outcome["tx"]
    assert paid_entry[0] == bonus["transaction_id"]
    assert {k: paid_entry[1][k] for k in ("kind", "deltas", "reason", "ref", "fp")} == {
        "kind": "login_bonus",
        "deltas": '{"steel":10}',
        "reason": "daily login, streak day 7 (streak repair)",
        "ref": "streak_repair/k1/bonus/7",
        "fp": "",
    }
    assert [json.loads(e)[:3] for e in changed[LEDGER]] == [
        [bonus["transaction_id"], "login_bonus", {"steel": 10}],
        [outcome["tx"], "streak_repair", {"coins": -110}],
    ]


def test_a_restored_milestone_the_claim_paid_as_one_pays_nothing_more(any_redis):
    broken(any_redis, lost=7, since=7)  # restored days 8..14: the 14th paid as day 7
    code, outcome = call(any_redis)
    assert (code, outcome["streak"], outcome["milestones"]) == (ScriptCode.APPLIED, 14, [])


def test_each_restored_milestone_an_ordinary_claim_paid_is_paid(any_redis):
    broken(any_redis, lost=1, since=5, coins=60)  # days 2..6 restored, a milestone every 2
    code, outcome = call(any_redis, milestones=(2, '{"steel":3}'))
    assert code == ScriptCode.APPLIED
    # days 1, 3 and 5 since the restart, ordinary days there; 2 and 4 paid as milestones
    assert [(m["streak"], m["reward"]) for m in outcome["milestones"]] == [
        (2, {"steel": 3}),
        (4, {"steel": 3}),
        (6, {"steel": 3}),
    ]
    assert outcome["balances"] == {"coins": 0, "steel": 9}


def test_a_milestone_that_fits_nothing_under_the_balance_limit_is_answered_empty(any_redis):
    broken(any_redis, lost=6)
    any_redis.hset(WALLET, "steel", 1_000_000)
    code, outcome = call(any_redis)
    assert (code, outcome["milestones"]) == (ScriptCode.APPLIED, [{"streak": 7, "reward": {}}])
    assert any_redis.xlen(OUTBOX) == 1  # the repair alone


def test_without_milestones_in_the_rules_nothing_more_is_paid(any_redis):
    broken(any_redis, lost=6)
    code, outcome = call(any_redis, milestones=(7, "{}"))
    assert (code, outcome["milestones"]) == (ScriptCode.APPLIED, [])
