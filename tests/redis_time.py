"""Time passing for the engine and for Redis together: the tests move the engine's
FixedClock, while Redis counts its TTLs in real time."""

from __future__ import annotations

from datetime import datetime


def advance_to(engine, moment: datetime) -> None:
    """Move the engine's clock, and Redis's with it: a key whose expiry falls in the
    hours passed is gone, the others have that much less left."""
    passed = int((moment - engine.clock.now()).total_seconds())
    for key in engine.redis.scan_iter(match="*"):
        left = engine.redis.ttl(key)
        if 0 <= left <= passed:
            engine.redis.delete(key)
        elif left > passed:
            engine.redis.expire(key, left - passed)
    engine.clock.set(moment)
