"""The player shard count a Redis was written with, recorded there and checked at start-up.

Every player key carries its shard's tag (engine.keys), and the shard comes from the
count: a process started with another count than the data's would look for every
player in the wrong keys and quietly answer empty wallets. So the first process to
start on an empty Redis records its count in `qb:{meta}:player-shards`, and every
later one compares and refuses to start on a difference, in one line.

A Redis that holds player data but no record was written before the count became a
setting, with 16 shards: it has all of `qb:{p00}:outbox`..`qb:{p15}:outbox` and none
beyond (the persist job of those versions created the 16 outboxes on its first run).
"""

from __future__ import annotations

from typing import Any

from engine import keys

LEGACY_PLAYER_SHARDS = 16
MIGRATING = "migrating"


class PlayerShardsMismatchError(RuntimeError):
    """Redis holds player data written with another shard count (or a change under way)."""


class ShardChangeRefusedError(RuntimeError):
    """`questboard shards migrate` cannot start or go on (no recorded count, the same
    count, entries still waiting); engine.ops.reshard raises it."""


def recorded(client: Any) -> str | None:
    """The record as stored: "16", "migrating:16:256", or None on a Redis without one."""
    raw = client.get(keys.player_shards_record())
    return raw.decode() if raw is not None else None


def _outboxes_exist(client: Any, shards: range) -> list[int]:
    pipe = client.pipeline(transaction=False)
    for shard in shards:
        pipe.exists(f"{keys.PREFIX}:{{p{shard:02d}}}:outbox")
    return pipe.execute()


def _written_before_the_record(client: Any, count: int) -> bool:
    """All of the 16 legacy outboxes and none beyond. The 16 are asked first, the rest
    only when all 16 exist: on an empty Redis (every new deployment, every test's app)
    16 commands, not `count`."""
    if not all(_outboxes_exist(client, range(LEGACY_PLAYER_SHARDS))):
        return False
    return not any(_outboxes_exist(client, range(LEGACY_PLAYER_SHARDS, count)))


def verify(client: Any, count: int) -> None:
    """Record `count` in a Redis without a record; refuse a Redis written with another.

    Raises:
        PlayerShardsMismatchError: the data's count differs from `count`, or
            `questboard shards migrate` is moving the keys.
    """
    stored = recorded(client)
    if stored is None:
        if count != LEGACY_PLAYER_SHARDS and _written_before_the_record(client, count):
            raise _mismatch(LEGACY_PLAYER_SHARDS, count)
        client.set(keys.player_shards_record(), count, nx=True)
        stored = recorded(client)  # another process may have recorded first
    if stored is not None and stored.startswith(MIGRATING):
        _, source, target = stored.split(":")
        raise PlayerShardsMismatchError(
            f"a change of the player shard count from {source} to {target} is under way "
            f"(`questboard shards migrate --to {target}`): start once it has finished, "
            f"with PLAYER_SHARDS={target}"
        )
    if stored != str(count):
        raise _mismatch(int(stored or count), count)


def _mismatch(stored: int, count: int) -> PlayerShardsMismatchError:
    return PlayerShardsMismatchError(
        f"Redis holds player data written with PLAYER_SHARDS={stored}, and PLAYER_SHARDS is "
        f"{count}: start with PLAYER_SHARDS={stored}, or change the count with "
        f"`questboard shards migrate --to {count}` (docs/redis-keys.md)"
    )
