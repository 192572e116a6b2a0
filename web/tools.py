"""`GET /v1/tool-of-the-day` → engine.progression.tools.tool_of_the_day;
`PUT /v1/admin/tool-of-the-day` → engine.progression.tools.set_tool → one Redis string
per game day: the tool of the day for everyone, and an admin's override of today's.
"""

from __future__ import annotations

import marshmallow as ma

from engine.progression import tools
from web.api import Blueprint
from web.extensions import get_engine
from web.schemas import RulesChoice, StrictSchema

blp = Blueprint("tools", __name__, url_prefix="/v1", description="Tool of the day.")


class ToolSchema(ma.Schema):
    tool = ma.fields.String(required=True, metadata={"example": "brickwork"})
    game_day = ma.fields.Date(required=True)
    next_reset_at = ma.fields.DateTime(required=True)


class ToolRequestSchema(StrictSchema):
    tool = ma.fields.String(
        required=True,
        validate=RulesChoice(lambda rules: rules.tools),
        metadata={"description": "A tool of the rules, not yesterday's.", "example": "brickwork"},
    )


def _today() -> dict:
    engine = get_engine()
    now = engine.clock.now()
    day = engine.calendar.game_day(now)
    return {
        "tool": tools.tool_of_the_day(engine, day),
        "game_day": day,
        "next_reset_at": engine.calendar.next_reset(now),
    }


@blp.route("/tool-of-the-day")
@blp.response(200, ToolSchema())
def get_tool():
    return _today()


@blp.route("/admin/tool-of-the-day", methods=["PUT"])
@blp.arguments(ToolRequestSchema())
@blp.response(200, ToolSchema())
def put_tool(body: dict):
    """Override today's tool (it may not be yesterday's)."""
    engine = get_engine()
    day = engine.calendar.game_day(engine.clock.now())
    tools.set_tool(engine, day, body["tool"], ttl_seconds=3 * 86_400)
    return _today()
