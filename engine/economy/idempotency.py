"""Idempotency keys: a client's promise that a repeated request is the same request.

A request is identified by (player, route, key). Its fingerprint is a hash of the
route and the request's parsed payload, so a replay with the same content matches
however its JSON was spaced, and a reuse of the key with other content does not.
The outcome itself is recorded by the Lua script that applies the change, with the
fingerprint's first `KEPT` characters (lua/include/replay.lua): a record lives a day
for every request with a key, and 128 bits of the SHA-256 tell two requests of one key
apart as surely as 256. The record keeps those 32 hex digits as 16 bytes and its
member names packed, one byte each (RECORD_NAMES): `load` reads a record of either
layout, packed or JSON, as the outcome's JSON.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from engine import keys
from engine.errors import IdempotencyKeyReusedError
from engine.runtime import Engine

KEPT = 32  # characters of the fingerprint a record keeps (lua/include/replay.lua)

# The member names a record keeps as one byte each, the name's place here (1 to 31):
# include/replay.lua's record_bytes, in the same order; a name is only ever added at the
# end. The bytes are control characters, which no outcome's JSON holds.
RECORD_NAMES = (
    *("fp", "code", "tx", "at", "deltas", "balances", "progress", "streak", "daily_bonus"),
    *("reward", "transaction_id", "missions", "id", "target", "completed", "xp", "season"),
    *("gained", "total", "level", "levels_gained", "level_rewards", "violations"),
    *("ads_watched", "claim_ends", "resource", "required", "available", "limit", "balance"),
    "used",
)
_NAMES = {bytes([byte]): f'"{name}":'.encode() for byte, name in enumerate(RECORD_NAMES, 1)}
_BYTES = {name[1:-2]: byte for byte, name in _NAMES.items()}
_PACKED_NAME = re.compile(rb"[\x01-\x1f]")
_MEMBER_NAME = re.compile(rb'"([a-z][a-z_]*)":')  # replay.lua's '"(%l[%l_]*)":'
_HEX_FP = re.compile(rb'\{"fp":"([0-9a-f]{32})"')  # kept as 16 bytes behind BINARY_FP
BINARY_FP = b"#"


@dataclass(frozen=True)
class IdempotentRequest:
    route: str
    key: str
    fingerprint: str

    @classmethod
    def of(cls, route: str, key: str, payload: dict[str, Any]) -> IdempotentRequest:
        return cls(route=route, key=key, fingerprint=fingerprint(route, payload))

    def redis_key(self, player_id: str) -> str:
        return keys.idempotency(player_id, self.route, self.key)

    @property
    def reference(self) -> str:
        return f"{self.route}/{self.key}"


def fingerprint(route: str, payload: dict[str, Any]) -> str:
    canonical = json.dumps([route, payload], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def is_same_request(recorded: dict, fingerprint: str) -> bool:
    """Whether a recorded outcome is this request's: its "fp" is the fingerprint's first
    KEPT characters, or (written by an earlier version) the whole fingerprint."""
    return recorded.get("fp") in (fingerprint[:KEPT], fingerprint)


def packed(outcome: bytes) -> bytes:
    """The record of an outcome's JSON, as include/replay.lua's packed_record writes it:
    "#" and the fingerprint's 16 bytes in place of {"fp":"<its 32 hex digits>" (another
    fingerprint stays text), and each name of RECORD_NAMES as its byte."""
    hex_fp = _HEX_FP.match(outcome)
    rest = outcome[hex_fp.end() :] if hex_fp else outcome
    names = _MEMBER_NAME.sub(lambda name: _BYTES.get(name[1], name[0]), rest)
    return BINARY_FP + bytes.fromhex(hex_fp[1].decode()) + names if hex_fp else names


def unpacked(record: bytes) -> bytes:
    """The outcome's JSON, as first answered, from its record (packed, or of the JSON
    layout written before, which holds no packed name and is returned as it is)."""
    if record[:1] == BINARY_FP:
        names = _PACKED_NAME.sub(lambda name: _NAMES[name[0]], record[17:])
        return b'{"fp":"' + record[1:17].hex().encode() + b'"' + names
    if record[1:2] != b"\x01":  # the packed layout of a text fingerprint: {<fp's byte>
        return record
    return _PACKED_NAME.sub(lambda name: _NAMES[name[0]], record)


def load(record: bytes) -> dict:
    """The recorded outcome, from its record of either layout."""
    return json.loads(unpacked(record))


def recorded_outcome(engine: Engine, player_id: str, request: IdempotentRequest) -> dict | None:
    """The outcome recorded for this request, or None if its key is unused.

    Raises:
        IdempotencyKeyReusedError: the key was used for a request with other content.
    """
    raw = engine.redis.get(request.redis_key(player_id))
    if raw is None:
        return None
    outcome = load(raw)
    if not is_same_request(outcome, request.fingerprint):
        raise IdempotencyKeyReusedError(
            "This Idempotency-Key was already used with a different request.",
            {"idempotency_key": request.key},
        )
    return outcome
