"""lua/apply_transaction.lua called directly: each return code, on fakeredis and Redis."""

from __future__ import annotations

import json

import pytest

from engine import keys
from engine.economy import idempotency
from engine.outcomes import ScriptCode
from engine.scripts import Scripts

PLAYER = "alice"
NOW = 1_795_600_000_000


def call(redis, *deltas, fingerprint="fp-1", idem="k1", max_balance=1_000_000, ttl=3600, keep=1000):
    script = Scripts(redis).apply_transaction
    args = [PLAYER, "grant", "test", NOW, fingerprint, ttl, max_balance, f"grant/{idem}", keep]
    for resource, delta in deltas:
        args += [resource, delta]
    code, payload = script(
        keys=[
            keys.wallet(PLAYER),
            keys.ledger(PLAYER),
            keys.player_outbox(PLAYER),
            keys.idempotency(PLAYER, "grant", idem),
        ],
        args=args,
    )
    return code, json.loads(payload)


def wallet(redis):
    return {k.decode(): int(v) for k, v in redis.hgetall(keys.wallet(PLAYER)).items()}


def test_applied_changes_balances_and_writes_ledger_and_outbox(any_redis):
    code, outcome = call(any_redis, ("coins", 100), ("logs", 3))

    assert code == ScriptCode.APPLIED
    assert outcome["deltas"] == {"coins": 100, "logs": 3}
    assert outcome["balances"] == {"coins": 100, "logs": 3}
    assert outcome["at"] == NOW
    assert wallet(any_redis) == {"coins": 100, "logs": 3}

    [entry] = any_redis.lrange(keys.ledger(PLAYER), 0, -1)
    balances = {"coins": 100, "logs": 3}
    assert json.loads(entry) == [outcome["tx"], "grant", balances, balances, "test", NOW]

    [(shipped_id, shipped)] = any_redis.xrange(keys.player_outbox(PLAYER))
    assert shipped_id.decode() == outcome["tx"]  # the outbox ID is the transaction id
    assert shipped[b"player"] == PLAYER.encode()
    assert json.loads(shipped[b"deltas"]) == {"coins": 100, "logs": 3}
    assert (shipped[b"kind"], shipped[b"at"]) == (b"grant", str(NOW).encode())


def test_outcome_is_recorded_with_its_ttl(any_redis):
    _, outcome = call(any_redis, ("coins", 5), ttl=3600)
    key = keys.idempotency(PLAYER, "grant", "k1")
    assert 3590 <= any_redis.ttl(key) <= 3600
    assert idempotency.load(any_redis.get(key)) == outcome and outcome["code"] == 0


def test_replay_returns_the_first_outcome_and_changes_nothing(any_redis):
    _, first = call(any_redis, ("coins", 100))
    code, again = call(any_redis, ("coins", 100))

    assert code == ScriptCode.REPLAYED
    assert again == first
    assert wallet(any_redis) == {"coins": 100}
    assert any_redis.llen(keys.ledger(PLAYER)) == 1
    assert any_redis.xlen(keys.player_outbox(PLAYER)) == 1


def test_reused_key_with_another_fingerprint_is_refused(any_redis):
    call(any_redis, ("coins", 100), fingerprint="fp-1")
    code, _ = call(any_redis, ("coins", 999), fingerprint="fp-2")

    assert code == ScriptCode.KEY_REUSED
    assert wallet(any_redis) == {"coins": 100}
    assert any_redis.llen(keys.ledger(PLAYER)) == 1


def test_insufficient_funds_changes_nothing_and_is_recorded(any_redis):
    call(any_redis, ("coins", 10), idem="seed")
    code, outcome = call(any_redis, ("steel", 1), ("coins", -50), idem="buy")

    assert code == ScriptCode.INSUFFICIENT_FUNDS
    assert outcome == {
        "fp": "fp-1",
        "code": -1,
        "resource": "coins",
        "required": 50,
        "available": 10,
    }
    assert wallet(any_redis) == {"coins": 10}
    assert any_redis.llen(keys.ledger(PLAYER)) == 1
    # no ledger entry gives the refusal's record back after a rebuild: SQL keeps it
    _seed, (_, kept) = any_redis.xrange(keys.player_outbox(PLAYER))
    assert {name.decode(): value.decode() for name, value in kept.items()} == {
        "player": PLAYER,
        "type": "record",
        "ref": "grant/buy",
        "record": json.dumps(outcome, separators=(",", ":")),
        "at": str(NOW),
    }

    code, replayed = call(any_redis, ("steel", 1), ("coins", -50), idem="buy")
    assert code == ScriptCode.REPLAYED
    assert replayed == outcome


def test_balance_limit_changes_nothing(any_redis):
    call(any_redis, ("coins", 900), idem="seed")
    code, outcome = call(any_redis, ("logs", 1), ("coins", 200), idem="more", max_balance=1000)

    assert code == ScriptCode.BALANCE_LIMIT
    assert outcome["resource"] == "coins"
    assert outcome["limit"] == 1000
    assert wallet(any_redis) == {"coins": 900}


def test_large_amounts_stay_exact(any_redis):
    big = 99_999_999_999_999
    code, outcome = call(any_redis, ("coins", big), max_balance=10**14)
    assert code == ScriptCode.APPLIED
    assert outcome["balances"]["coins"] == big
    assert wallet(any_redis)["coins"] == big


def test_key_count_is_checked(any_redis):
    script = Scripts(any_redis).apply_transaction
    with pytest.raises(ValueError, match="takes 4 keys"):
        script(keys=[keys.wallet(PLAYER)], args=[])


def test_the_ledger_keeps_its_unpersisted_entries_and_trims_only_persisted_ones(any_redis):
    for n in range(25):
        call(any_redis, ("coins", 1), fingerprint=f"fp-{n}", idem=f"k{n}", keep=10)
    assert any_redis.llen(keys.ledger(PLAYER)) == 25  # none persisted: all kept
    assert any_redis.xlen(keys.player_outbox(PLAYER)) == 25  # every entry goes to SQL
    outbox = [entry_id for entry_id, _ in any_redis.xrange(keys.player_outbox(PLAYER))]
    any_redis.xdel(keys.player_outbox(PLAYER), *outbox[:20])  # as the persist job does

    _, outcome = call(any_redis, ("coins", 1), fingerprint="fp-25", idem="k25", keep=10)

    kept = [json.loads(entry)[0] for entry in any_redis.lrange(keys.ledger(PLAYER), 0, -1)]
    older = [entry_id.decode() for entry_id in outbox[::-1]]  # newest first
    assert kept == [outcome["tx"], *older[:5], *older[5:9]]  # 6 unpersisted, 4 persisted
    assert wallet(any_redis)["coins"] == 26
