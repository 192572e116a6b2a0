"""lua/trim_ledgers.lua called directly, on fakeredis and Redis: the persist job's trim
of its players' ledger lists once their entries are committed (their outbox entries
deleted)."""

from __future__ import annotations

import json

from engine import keys
from engine.outcomes import ScriptCode
from engine.scripts import Scripts
from tests.script_state import state, written


def add_entries(redis, player: str, count: int) -> list[str]:
    """`count` ledger entries of `player`, as include/wallet.lua writes them: an outbox
    entry whose ID is the transaction id, the JSON array pushed at the list's head."""
    made = []
    for n in range(count):
        tx = redis.xadd(keys.player_outbox(player), {"player": player, "kind": "grant"}).decode()
        entry = json.dumps([tx, "grant", {"coins": 1}, {"coins": n + 1}, "gift", 1_000 + n])
        redis.lpush(keys.ledger(player), entry)
        made.append(tx)
    return made


def persist(redis, player: str, ids: list[str]) -> None:
    """What the persist job does to committed entries before the trim: delete them."""
    redis.xdel(keys.player_outbox(player), *ids)


def trim(redis, *players: str, keep: int = 0) -> list:
    outbox = keys.player_outbox(players[0])
    ledgers = [keys.ledger(player) for player in players]
    return Scripts(redis).trim_ledgers(keys=[outbox, *ledgers], args=[keep])


def kept(redis, player: str) -> list[str]:
    return [json.loads(entry)[0] for entry in redis.lrange(keys.ledger(player), 0, -1)]


def one_shard_players() -> tuple[str, str]:
    """alice and another player of alice's shard: one script call takes both."""
    first = "alice"
    other = next(f"p{n}" for n in range(10_000) if keys.shard_of(f"p{n}") == keys.shard_of(first))
    return first, other


def test_persisted_entries_are_dropped_down_to_keep_zero_and_the_key_goes(any_redis):
    alice, _ = one_shard_players()
    made = add_entries(any_redis, alice, 6)
    persist(any_redis, alice, made)
    before = state(any_redis)

    assert trim(any_redis, alice) == [ScriptCode.APPLIED, 6]
    assert written(before, state(any_redis)) == {keys.ledger(alice): None}  # no empty list


def test_entries_not_yet_persisted_stop_the_trim(any_redis):
    alice, _ = one_shard_players()
    made = add_entries(any_redis, alice, 8)
    persist(any_redis, alice, made[:5])  # the three newest still wait in the outbox
    before = state(any_redis)
    waiting = before[keys.ledger(alice)][:3]  # newest first

    assert trim(any_redis, alice) == [ScriptCode.APPLIED, 5]
    assert written(before, state(any_redis)) == {keys.ledger(alice): waiting}
    assert kept(any_redis, alice) == made[5:][::-1]


def test_an_unpersisted_entry_older_than_persisted_ones_keeps_them_too(any_redis):
    """The trim goes from the oldest end and stops at the first entry still waiting:
    never past it, as include/wallet.lua's trim."""
    alice, _ = one_shard_players()
    made = add_entries(any_redis, alice, 4)
    persist(any_redis, alice, made[1:])  # the oldest still in the outbox
    before = state(any_redis)

    assert trim(any_redis, alice) == [ScriptCode.APPLIED, 0]
    assert written(before, state(any_redis)) == {}


def test_keep_leaves_the_newest_persisted_entries(any_redis):
    alice, bob = one_shard_players()
    alices, bobs = add_entries(any_redis, alice, 7), add_entries(any_redis, bob, 2)
    persist(any_redis, alice, alices)
    persist(any_redis, bob, bobs)

    assert trim(any_redis, alice, bob, keep=3) == [ScriptCode.APPLIED, 4]
    assert kept(any_redis, alice) == alices[4:][::-1]
    assert kept(any_redis, bob) == bobs[::-1]  # fewer than keep: untouched


def test_a_player_without_a_ledger_key_is_nothing_to_trim(any_redis):
    alice, bob = one_shard_players()
    made = add_entries(any_redis, alice, 2)
    persist(any_redis, alice, made)
    before = state(any_redis)

    assert trim(any_redis, bob) == [ScriptCode.APPLIED, 0]
    assert written(before, state(any_redis)) == {}
