"""Idempotency records of grants, purchases and ad rewards are short strings: the first
32 characters of the request's fingerprint and the outcome without empty members, its
member names packed one byte each (lua/include/replay.lua), on fakeredis and Redis."""

from __future__ import annotations

import json
import re
from pathlib import Path

from engine import keys
from engine.economy import activity, grants, idempotency, purchases, transactions
from engine.economy.idempotency import IdempotentRequest
from engine.outcomes import ScriptCode
from engine.runtime import Engine

REPLAY_LUA = Path(__file__).resolve().parents[1] / "lua" / "include" / "replay.lua"


def record(engine, route: str, key: str, player="alice") -> bytes:
    return engine.redis.get(keys.idempotency(player, route, key))


def test_a_record_keeps_the_first_32_characters_of_the_fingerprint(engine):
    grants.grant(engine, "alice", {"coins": 500}, "gift", "g1")
    request = IdempotentRequest.of("grant", "g1", {"resources": {"coins": 500}, "reason": "gift"})

    stored = record(engine, "grant", "g1")
    recorded = idempotency.load(stored)

    assert recorded["fp"] == request.fingerprint[:32] == request.fingerprint[: idempotency.KEPT]
    assert stored.startswith(b"#" + bytes.fromhex(request.fingerprint[:32]) + b",\x020,")
    again = grants.grant(engine, "alice", {"coins": 500}, "gift", "g1")
    assert again.replayed and engine.redis.hget(keys.wallet("alice"), "coins") == b"500"


def test_a_purchase_record_leaves_out_empty_members_and_replays_the_same_answer(engine):
    grants.grant(engine, "alice", {"coins": 500}, "gift", "g1")
    first = purchases.purchase(engine, "alice", "logs", 2, "p1")

    stored = idempotency.unpacked(record(engine, "purchase", "p1"))
    again = purchases.purchase(engine, "alice", "logs", 2, "p1")

    assert b":{}" not in stored and b":[]" not in stored
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


def grant_call(engine, key: str, resources: dict[str, int], reason: str = "gift"):
    """apply_transaction.lua's own reply to a grant: (code, JSON bytes)."""
    request = IdempotentRequest.of("grant", key, {"resources": resources, "reason": reason})
    script_keys, args = transactions.script_call(
        engine, "alice", "grant", resources, reason, request
    )
    return engine.scripts.apply_transaction(keys=script_keys, args=args)


def test_a_script_replays_the_json_it_first_answered_byte_for_byte(engine):
    code, first = grant_call(engine, "g1", {"coins": 500})
    refused_code, refused = grant_call(engine, "g2", {"coins": -900})

    stored = record(engine, "grant", "g1")
    assert (code, refused_code) == (ScriptCode.APPLIED, ScriptCode.INSUFFICIENT_FUNDS)
    assert idempotency.unpacked(stored) == first and len(stored) < len(first)
    assert stored == idempotency.packed(first)  # the same bytes as Lua writes
    assert idempotency.unpacked(record(engine, "grant", "g2")) == refused
    assert grant_call(engine, "g1", {"coins": 500}) == [ScriptCode.REPLAYED, first]
    assert grant_call(engine, "g2", {"coins": -900}) == [ScriptCode.REPLAYED, refused]
    reused = grant_call(engine, "g1", {"coins": 501})
    assert reused[0] == ScriptCode.KEY_REUSED


def test_a_request_whose_fingerprint_is_not_hex_is_refused_a_key_recorded_with_one(engine):
    grant_call(engine, "g1", {"coins": 500})
    request = IdempotentRequest.of("grant", "g1", {"resources": {"coins": 500}, "reason": "gift"})
    script_keys, args = transactions.script_call(
        engine, "alice", "grant", {"coins": 500}, "gift", request
    )
    for other in ("fp-1", request.fingerprint[:32].upper(), request.fingerprint[1:]):
        args[4] = other
        code, _ = engine.scripts.apply_transaction(keys=script_keys, args=args)
        assert code == ScriptCode.KEY_REUSED, other
    assert engine.redis.hget(keys.wallet("alice"), "coins") == b"500"


def test_a_record_of_the_json_layout_written_before_packing_is_replayed_and_guards_its_key(
    engine,
):
    _, first = grant_call(engine, "g1", {"coins": 500})
    key = keys.idempotency("alice", "grant", "g1")
    engine.redis.set(key, first, keepttl=True)  # the layout before: the answer as it is

    assert grant_call(engine, "g1", {"coins": 500}) == [ScriptCode.REPLAYED, first]
    assert grant_call(engine, "g1", {"coins": 7})[0] == ScriptCode.KEY_REUSED
    assert idempotency.load(engine.redis.get(key)) == json.loads(first)
    assert engine.redis.get(key) == first  # left as it was, to expire with its TTL
    assert engine.redis.hget(keys.wallet("alice"), "coins") == b"500"


def test_every_member_name_of_a_purchase_with_progress_is_packed(engine):
    grants.grant(engine, "alice", {"coins": 500}, "gift", "g1")
    purchases.purchase(engine, "alice", "logs", 2, "p1")  # the day's bonus, a mission, XP

    stored = record(engine, "purchase", "p1")
    names = set(re.findall(rb'"([a-z_]+)":', stored))
    resources = {name.encode() for name in engine.rules.resources}
    unpacked = idempotency.load(stored)

    assert {"progress", "tx", "deltas"} <= unpacked.keys() and unpacked["progress"]["xp"]
    assert names <= resources  # what is left as text: the rules' own names
    assert len(stored) < len(idempotency.unpacked(stored)) * 2 // 3


def test_the_record_names_are_the_same_in_lua_and_python():
    source = REPLAY_LUA.read_text()
    body = source[source.index("local function record_bytes()") :]
    body = body[: body.index("\nend")]
    pairs = re.findall(r"(\w+) = '\\(\d+)'", body)

    assert [name for name, _ in pairs] == list(idempotency.RECORD_NAMES)
    assert [int(byte) for _, byte in pairs] == list(range(1, len(pairs) + 1))
    assert len(pairs) <= 31  # the bytes 1 to 31: control characters no JSON holds
    assert all(re.fullmatch(r"[a-z][a-z_]*", name) for name in idempotency.RECORD_NAMES)


def test_a_purchase_record_is_small_in_redis(real_redis, rules, clock):
    engine = Engine(redis=real_redis, rules=rules, clock=clock)
    grants.grant(engine, "alice", {"coins": 500}, "gift", "g1")
    purchases.purchase(engine, "alice", "logs", 2, "p1")

    stored = record(engine, "purchase", "p1")
    real_redis.set("as-json", idempotency.unpacked(stored))  # the layout before packing
    size = real_redis.memory_usage(keys.idempotency("alice", "purchase", "p1"), samples=0)
    as_json = real_redis.memory_usage("as-json", samples=0)
    # A purchase that claims the day's bonus, completes a mission and gains XP: 344 bytes
    # packed, 568 as JSON (both with the first 32 characters of the fingerprint and no
    # empty lists; 728 with the whole fingerprint and empty lists).
    assert size <= 360 and as_json - size >= 192, stored


def test_the_address_slots_probe_knows_a_replay_from_a_record_of_either_layout(engine):
    grants.grant(engine, "alice", {"coins": 500}, "gift", "g1")
    purchases.purchase(engine, "alice", "logs", 2, "p1")
    same = IdempotentRequest.of(
        "purchase", "p1", {"item": "logs", "quantity": 2, "expected_price": None}
    )
    other = IdempotentRequest.of(
        "purchase", "p1", {"item": "logs", "quantity": 3, "expected_price": None}
    )
    stored = record(engine, "purchase", "p1")

    for layout in (stored, idempotency.unpacked(stored)):
        assert activity._changes_nothing(same, 0, 0, layout)
        assert not activity._changes_nothing(other, 0, 0, layout)
    assert stored[:1] == idempotency.BINARY_FP


def test_every_hex_digit_of_a_fingerprint_is_kept_in_its_bytes(engine):
    request = IdempotentRequest.of("grant", "g1", {"resources": {"coins": 5}, "reason": "gift"})
    script_keys, args = transactions.script_call(
        engine, "alice", "grant", {"coins": 5}, "gift", request
    )
    for n, digits in enumerate(("f" * 64, "0" * 64, "0123456789abcdef" * 4, "80" * 32)):
        script_keys[3] = keys.idempotency("alice", "grant", f"g{n}")
        args[4] = digits
        _, first = engine.scripts.apply_transaction(keys=script_keys, args=args)
        stored = engine.redis.get(script_keys[3])
        assert stored[:17] == b"#" + bytes.fromhex(digits[:32]), digits
        again = engine.scripts.apply_transaction(keys=script_keys, args=args)
        assert again == [ScriptCode.REPLAYED, first]
