"""Idempotency records of grants, purchases and ad rewards are short strings: the first
32 characters of the request's fingerprint and the outcome without empty members, on
fakeredis and Redis."""

from __future__ import annotations

import json

from engine import keys
from engine.economy import activity, grants, idempotency, purchases
from engine.economy.idempotency import IdempotentRequest


def record(engine, route: str, key: str, player="alice") -> str:
    return engine.redis.get(keys.idempotency(player, route, key)).decode()


def test_a_record_keeps_the_first_32_characters_of_the_fingerprint(engine):
    grants.grant(engine, "alice", {"coins": 500}, "gift", "g1")
    request = IdempotentRequest.of("grant", "g1", {"resources": {"coins": 500}, "reason": "gift"})

    recorded = json.loads(record(engine, "grant", "g1"))

    assert recorded["fp"] == request.fingerprint[:32] == request.fingerprint[: idempotency.KEPT]
    again = grants.grant(engine, "alice", {"coins": 500}, "gift", "g1")
    assert again.replayed and engine.redis.hget(keys.wallet("alice"), "coins") == b"500"


def test_a_purchase_record_leaves_out_empty_members_and_replays_the_same_answer(engine):
    grants.grant(engine, "alice", {"coins": 500}, "gift", "g1")
    first = purchases.purchase(engine, "alice", "logs", 2, "p1")

    stored = record(engine, "purchase", "p1")
    again = purchases.purchase(engine, "alice", "logs", 2, "p1")

    assert ":{}" not in stored and ":[]" not in stored
    assert again.transaction == first.transaction.__class__(
        **{**first.transaction.__dict__, "replayed": True}
    )
    assert again.transaction.progress == first.transaction.progress


def test_a_record_written_with_the_whole_fingerprint_is_still_replayed(engine):
    request = IdempotentRequest.of("ad_reward", "ad1", {})
    old = {"fp": request.fingerprint, "code": 0, "tx": "1-0", "at": 1_795_600_000_000}
    old |= {"deltas": {"coins": 5}, "balances": {"coins": 5}, "progress": {"streak": 1}}
    engine.redis.set(
        keys.idempotency("alice", "ad_reward", "ad1"), json.dumps(old, separators=(",", ":"))
    )

    replay = activity.ad_reward(engine, "alice", "ad1")

    assert replay.replayed and replay.transaction_id == "1-0"
    assert engine.redis.hget(keys.wallet("alice"), "coins") is None  # nothing paid again


def test_a_purchase_record_is_small_in_redis(real_redis, rules, clock):
    from engine.runtime import Engine

    engine = Engine(redis=real_redis, rules=rules, clock=clock)
    grants.grant(engine, "alice", {"coins": 500}, "gift", "g1")
    purchases.purchase(engine, "alice", "logs", 2, "p1")

    size = real_redis.memory_usage(keys.idempotency("alice", "purchase", "p1"), samples=0)
    assert size <= 600, record(
        engine, "purchase", "p1"
    )  # 728 with the whole fingerprint and empty lists
