"""Which primary serves each slot of a Redis Cluster, and the keys of slots that moved.

A walk of the whole keyspace on a cluster SCANs each primary in turn
(engine.connection.scan_keys). A slot a reshard moves during the walk, from a primary
not walked yet to one walked already, would be seen on neither; so the walk compares
the slots' owners before and after, and lists the keys of every slot that moved on its
new owner (CLUSTER GETKEYSINSLOT), until the owners stand still.
"""

from __future__ import annotations

from collections.abc import Iterator
from fnmatch import fnmatchcase
from typing import Any

Owners = list[tuple[int, int, str, int]]  # (first slot, last slot, host, port), sorted


def owners(client: Any) -> Owners:
    """Each range of slots and the address of the primary serving it: CLUSTER SLOTS, as
    redis-py's RedisCluster parses it ((first, last) -> {"primary": (host, port), ...})."""
    ranges = client.execute_command("CLUSTER SLOTS")
    return sorted(
        (first, last, served["primary"][0], int(served["primary"][1]))
        for (first, last), served in ranges.items()
    )


def moved(before: Owners, after: Owners) -> dict[int, tuple[str, int]]:
    """slot -> its owner now, for every slot whose owner is not the one it had."""
    had = _by_slot(before)
    return {slot: owner for slot, owner in _by_slot(after).items() if had.get(slot) != owner}


def keys_in(client: Any, slots: dict[int, tuple[str, int]], pattern: str) -> Iterator[list[bytes]]:
    """The keys matching `pattern` (a glob) in each of `slots`, asked of its owner."""
    for slot, (host, port) in sorted(slots.items()):
        node = client.get_node(host=host, port=port)
        if node is None:  # a node this client has not met: read the cluster's map again
            client.nodes_manager.initialize()
            node = client.get_node(host=host, port=port)
        primary = client.get_redis_connection(node)
        count = primary.execute_command("CLUSTER COUNTKEYSINSLOT", slot)
        if not count:
            continue
        # redis-py's reply callback decodes these names; SCAN's are bytes, as here
        found = [
            key if isinstance(key, bytes) else key.encode()
            for key in primary.execute_command("CLUSTER GETKEYSINSLOT", slot, count)
        ]
        matching = [key for key in found if fnmatchcase(key.decode("latin-1"), pattern)]
        if matching:
            yield matching


def _by_slot(ranges: Owners) -> dict[int, tuple[str, int]]:
    return {
        slot: (host, port) for first, last, host, port in ranges for slot in range(first, last + 1)
    }
