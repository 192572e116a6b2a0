"""A walk of a Redis Cluster's keyspace (engine.connection.scan_keys) sees every key
present throughout, even when a reshard moves a slot during the walk: from a primary
not walked yet to one walked already, the slot's keys would be seen on neither."""

from __future__ import annotations

from engine import connection
from tests.test_cluster import move_slot

PATTERN = "walk:{*}:key"


def keys_on(client, primary, count: int) -> list[str]:
    """`count` keys of PATTERN whose slots the primary serves."""
    found = []
    n = 0
    while len(found) < count:
        key = f"walk:{{{n}}}:key"
        if client.get_node_from_key(key).name == primary.name:
            found.append(key)
        n += 1
    return found


def walked(client) -> set[str]:
    return {key.decode() for chunk in connection.scan_keys(client, PATTERN, 10) for key in chunk}


def test_a_slot_moved_during_the_walk_is_not_missed(cluster_redis, monkeypatch):
    first, *_, last = cluster_redis.get_primaries()
    written = {key for primary in (first, last) for key in keys_on(cluster_redis, primary, 5)}
    for key in written:
        cluster_redis.set(key, 1)
    late = keys_on(cluster_redis, last, 1)[0]
    slot = cluster_redis.keyslot(late)
    own_primaries = connection.primaries

    class MovesASlotOnceWalked:
        """The first primary's client: when its walk ends, a slot of the last primary
        moves to it, as a reshard running beside the walk would."""

        def __init__(self, server):
            self.server = server

        def scan(self, cursor, **options):
            cursor, found = self.server.scan(cursor, **options)
            if cursor == 0:
                move_slot(cluster_redis, slot, last, first)
            return cursor, found

    def walked_first_then_moved(client):
        head, *rest = own_primaries(client)
        assert head.connection_pool.connection_kwargs["port"] == first.port
        return [MovesASlotOnceWalked(head), *rest]

    monkeypatch.setattr(connection, "primaries", walked_first_then_moved)
    try:
        assert walked(cluster_redis) == written
    finally:
        move_slot(cluster_redis, slot, first, last)  # the cluster as the other tests know it


def test_a_walk_with_no_move_asks_for_no_slot_again(cluster_redis, monkeypatch):
    written = {f"walk:{{{n}}}:key" for n in range(20)}
    for key in written:
        cluster_redis.set(key, 1)
    asked = []
    monkeypatch.setattr(
        connection.cluster_slots, "keys_in", lambda *args: asked.append(args) or iter(())
    )
    assert walked(cluster_redis) == written
    assert asked == []


def test_one_server_is_walked_once(real_redis):
    real_redis.set("walk:{1}:key", 1)
    assert walked(real_redis) == {"walk:{1}:key"}
