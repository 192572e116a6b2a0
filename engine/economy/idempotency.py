"""Idempotency keys: a client's promise that a repeated request is the same request.

A request is identified by (player, route, key). Its fingerprint is a hash of the
route and the request's parsed payload, so a replay with the same content matches
however its JSON was spaced, and a reuse of the key with other content does not.
The outcome itself is recorded by the Lua script that applies the change, with the
fingerprint's first `KEPT` characters (lua/include/replay.lua): a record lives a day
for every request with a key, and 128 bits of the SHA-256 tell two requests of one key
apart as surely as 256.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from engine import keys
from engine.errors import IdempotencyKeyReusedError
from engine.runtime import Engine

KEPT = 32  # characters of the fingerprint a record keeps (lua/include/replay.lua)


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


def recorded_outcome(engine: Engine, player_id: str, request: IdempotentRequest) -> dict | None:
    """The outcome recorded for this request, or None if its key is unused.

    Raises:
        IdempotencyKeyReusedError: the key was used for a request with other content.
    """
    raw = engine.redis.get(request.redis_key(player_id))
    if raw is None:
        return None
    outcome = json.loads(raw)
    if not is_same_request(outcome, request.fingerprint):
        raise IdempotencyKeyReusedError(
            "This Idempotency-Key was already used with a different request.",
            {"idempotency_key": request.key},
        )
    return outcome
