"""`GET /healthz` → PING to the engine's Redis, and the engine's clock (engine.clock):
liveness for load balancers, and the engine's current time.

While Redis is unreachable the answer is 503 with this same body ("degraded"), also on
the QA clock (engine.clock.RedisOffsetClock), whose offset is kept in Redis: its base
time is answered then, the offset being unreadable.
"""

from __future__ import annotations

import marshmallow as ma
from redis.exceptions import RedisError

from web.api import Blueprint
from web.extensions import get_engine

blp = Blueprint("health", __name__, description="Service health (no key needed).")


class HealthSchema(ma.Schema):
    status = ma.fields.String(required=True, metadata={"example": "ok"})
    redis = ma.fields.String(required=True, metadata={"example": "ok"})
    now = ma.fields.DateTime(required=True, metadata={"description": "The engine's clock."})


@blp.route("/healthz")
@blp.doc(security=[])
@blp.response(200, HealthSchema())
@blp.alt_response(
    503,
    schema=HealthSchema(),
    description="Redis is unreachable.",
    example={
        "status": "degraded",
        "redis": "unreachable: ConnectionError",
        "now": "2026-11-25T12:00:00+00:00",
    },
)
def healthz():
    engine = get_engine()
    try:
        engine.redis.ping()
        redis_state, status = "ok", 200
    except RedisError as error:
        redis_state, status = f"unreachable: {type(error).__name__}", 503
    try:
        now = engine.clock.now()
    except RedisError:  # the QA clock's offset is in the unreachable Redis
        now = engine.clock.base.now()
    body = {
        "status": "ok" if status == 200 else "degraded",
        "redis": redis_state,
        "now": now,
    }
    return body, status
