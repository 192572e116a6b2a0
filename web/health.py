"""`GET /healthz` → PING to the engine's Redis, and the engine's clock (engine.clock):
liveness for load balancers, and the engine's current time.
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
@blp.alt_response(503, schema=HealthSchema(), description="Redis is unreachable.")
def healthz():
    engine = get_engine()
    try:
        engine.redis.ping()
        redis_state, status = "ok", 200
    except RedisError as error:
        redis_state, status = f"unreachable: {type(error).__name__}", 503
    body = {
        "status": "ok" if status == 200 else "degraded",
        "redis": redis_state,
        "now": engine.clock.now(),
    }
    return body, status
