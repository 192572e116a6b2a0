"""Everything a Redis database holds, read back for exact comparisons in the script tests.

A direct script test states the keys a call writes (and that a refusal writes none) by
comparing what the database holds before and after. The hash the Lua coverage tool
keeps (scripts/lua_coverage.py) is left out, so the tests read the same under it.
"""

from __future__ import annotations

import math
from typing import Any

from scripts.lua_coverage import COVERAGE_KEY


def _text(value: bytes) -> str:
    return value.decode()


def value_of(redis, key: str) -> Any:
    """A key's value as plain Python: str, dict, set, list of (member, score), list
    of items or entries."""
    kind = _text(redis.type(key))
    if kind == "string":
        return _text(redis.get(key))
    if kind == "hash":
        return {_text(k): _text(v) for k, v in redis.hgetall(key).items()}
    if kind == "set":
        return {_text(member) for member in redis.smembers(key)}
    if kind == "list":
        return [_text(item) for item in redis.lrange(key, 0, -1)]
    if kind == "zset":
        return [(_text(m), score) for m, score in redis.zrange(key, 0, -1, withscores=True)]
    if kind == "stream":
        return [
            (_text(entry_id), {_text(k): _text(v) for k, v in fields.items()})
            for entry_id, fields in redis.xrange(key)
        ]
    raise AssertionError(f"{key} holds a {kind}, which the script tests do not read")


def state(redis) -> dict[str, Any]:
    """Every key of the database (but the coverage hash) and its value."""
    return {
        _text(key): value_of(redis, key) for key in redis.keys("*") if _text(key) != COVERAGE_KEY
    }


def written(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The keys a call created or changed, with their new values (None: deleted)."""
    changed = {key: value for key, value in after.items() if before.get(key) != value}
    changed.update({key: None for key in before if key not in after})
    return changed


def expires_in(redis, key: str) -> int:
    """The seconds a key has left, its PTTL rounded up: the expiry the script set, read
    back exactly while less than a second has passed since (TTL rounds to the nearest)."""
    return math.ceil(redis.pttl(key) / 1000)
