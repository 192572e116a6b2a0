"""`PUT /v1/admin/clock`, `DELETE /v1/admin/clock` → engine.clock.RedisOffsetClock (its
`set` and `reset`) → one Redis string, the offset every process reads. QA only: set
the engine clock for every process (ALLOW_CLOCK_OVERRIDE=true).
"""

from __future__ import annotations

import marshmallow as ma

from engine.clock import RedisOffsetClock
from web.api import Blueprint
from web.errors import ApiError
from web.extensions import get_engine
from web.schemas import StrictSchema

blp = Blueprint("clock", __name__, url_prefix="/v1/admin", description="QA clock override.")


class ClockRequestSchema(StrictSchema):
    now = ma.fields.AwareDateTime(required=True, metadata={"example": "2026-11-26T02:59:00Z"})


class ClockSchema(ma.Schema):
    now = ma.fields.DateTime(required=True)
    overridden = ma.fields.Boolean(required=True)


def _clock() -> RedisOffsetClock:
    clock = get_engine().clock
    if not isinstance(clock, RedisOffsetClock):
        raise ApiError(
            403, "forbidden", "The clock override is off (set ALLOW_CLOCK_OVERRIDE=true)."
        )
    return clock


@blp.route("/clock", methods=["PUT"])
@blp.arguments(ClockRequestSchema())
@blp.response(200, ClockSchema())
def set_clock(body: dict):
    clock = _clock()
    clock.set(body["now"])
    return {"now": clock.now(), "overridden": True}


@blp.route("/clock", methods=["DELETE"])
@blp.response(200, ClockSchema())
def reset_clock():
    clock = _clock()
    clock.reset()
    return {"now": clock.now(), "overridden": False}
