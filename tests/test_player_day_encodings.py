"""A player's day leaves small keys in Redis's compact encodings (OBJECT ENCODING on the
real server): a hash or sorted set past the `*-max-listpack-*` limits (128 or 512
entries, values of 64 bytes) becomes a hashtable or skiplist several times larger."""

from __future__ import annotations

from engine import keys
from engine.boards import exams
from engine.boards.exams import Exam
from engine.economy import activity, grants, purchases
from engine.runtime import Engine

COMPACT = {
    b"hash": {b"listpack"},
    b"zset": {b"listpack"},
    b"list": {b"listpack", b"quicklist"},  # Redis 7.0 names a one-node list quicklist
    b"string": {b"embstr", b"raw", b"int"},
}


def test_a_players_day_keeps_its_keys_in_compact_encodings(real_redis, rules, clock):
    engine = Engine(redis=real_redis, rules=rules, clock=clock)
    grants.grant(engine, "alice", {"coins": 1_000}, "funds", "g1")
    activity.login(engine, "alice")
    for n, category in enumerate(("math", "science", "history")):
        clock.advance(seconds=1)
        exams.record_exam(engine, "alice", Exam(f"e{n}", category, 70 + n, 10, 7))
    clock.advance(seconds=1)
    purchases.purchase(engine, "alice", "logs", 2, "p1")

    tag = keys.wallet("alice").split(":")[1]
    encodings = {}
    for key in real_redis.scan_iter(match=f"qb:{tag}:*"):
        kind = real_redis.type(key)
        if kind == b"stream":
            continue  # the shard's outbox
        encodings[key.decode()] = (kind, real_redis.object("encoding", key))

    assert keys.ledger("alice") in encodings and keys.streak("alice") in encodings
    assert keys.exam("alice", "e0") in encodings  # the exam's replay record
    loose = {key: found for key, found in encodings.items() if found[1] not in COMPACT[found[0]]}
    assert loose == {}
