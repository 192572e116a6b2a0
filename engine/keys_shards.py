"""Player shards: the hash tag of each player's keys, and the player a key names.

All keys of one player sit in the hash slot of the player's shard (``{p07}``), with the
shard's outbox stream (engine.keys says why). The shard count is the process's, set once
at start-up (`set_player_shards`); the key functions read it through `shard_tag` and
`shard_of`. `player_of` reads the player back from a player key's name, for
`questboard shards migrate` (engine.ops.reshard).
"""

from __future__ import annotations

import zlib
from functools import lru_cache

PREFIX = "qb"
DEFAULT_PLAYER_SHARDS = 256
MAX_PLAYER_SHARDS = 16_384  # Redis Cluster's hash slots: more shards could not spread further


def _tags(count: int) -> tuple[str, ...]:
    return tuple(f"{{p{shard:02d}}}" for shard in range(count))


_shards = DEFAULT_PLAYER_SHARDS
_TAGS = _tags(_shards)


def set_player_shards(count: int) -> None:
    """Make `count` the process's number of player shards (once, at start-up)."""
    global _shards, _TAGS
    if not 1 <= count <= MAX_PLAYER_SHARDS:
        raise ValueError(f"the player shard count must be between 1 and {MAX_PLAYER_SHARDS}")
    if count != _shards:
        _shards, _TAGS = count, _tags(count)
        shard_of.cache_clear()


def player_shards() -> int:
    return _shards


@lru_cache(maxsize=65_536)
def shard_of(player_id: str) -> int:
    return zlib.crc32(player_id.encode()) % _shards


def shard_tag(shard: int) -> str:
    return _TAGS[shard]


def player_shards_record() -> str:
    """String: the player shard count the data in Redis was written with ("256"), or
    "migrating:<from>:<to>" while `questboard shards migrate` moves the keys."""
    return f"{PREFIX}:{{meta}}:player-shards"


# Where `player_of` finds the player in what follows a player key's kind: its kinds
# and the key functions below agree (a test builds every key and reads its player).
_PLAYER_AFTER_KIND = {
    "wallet": lambda rest: rest,
    "ledger": lambda rest: rest,
    "tx": lambda rest: rest,
    "streak": lambda rest: rest,
    "idem": lambda rest: rest.split(":", 1)[1].split("/", 1)[0],  # <route>:<player>/<key>
    "exam": lambda rest: rest.split("/", 1)[0],  # <player>/<exam id>
    "lbstats": lambda rest: rest.split(":", 2)[2],  # <type>:<period>:<player>
    "stats": lambda rest: rest,
    "daily": lambda rest: rest.split(":", 1)[1],  # <day>:<player>
    "bp": lambda rest: rest.split(":", 1)[1],  # <season>:<player>
    "pace": lambda rest: rest.rsplit(":", 1)[0],  # <player>:<second>
    "rate": lambda rest: rest.split(":", 1)[1],  # <group>:<player>
    "league": lambda rest: rest,
    "settings": lambda rest: rest,
}


def player_of(key: str) -> str | None:
    """The player a player key belongs to; None for a shard's own key (its outbox).

    Raises:
        ValueError: not a player key, or a kind this module does not build.
    """
    prefix, tag, kind, *rest = key.split(":", 3)
    if prefix != PREFIX or not (tag.startswith("{p") and tag.endswith("}")):
        raise ValueError(f"{key!r} is not a player key")
    if kind == "outbox" and not rest:
        return None
    if kind not in _PLAYER_AFTER_KIND or not rest:
        raise ValueError(f"{key!r}: no player key of kind {kind!r}")
    return _PLAYER_AFTER_KIND[kind](rest[0])


def _player(kind: str, player_id: str) -> str:
    return f"{PREFIX}:{_TAGS[shard_of(player_id)]}:{kind}:{player_id}"
