"""`GET /v1/admin/security/events` → engine.security.events (the security event stream);
`GET /v1/admin/players/{player_id}/flags` → engine.security.flags (violation counts and
block); `DELETE /v1/admin/players/{player_id}/leaderboards` →
engine.boards.moderation.remove_player (Redis first, then SQL, then
lua/remove_cohort_member.lua on each tier of the unclosed league periods): taking a
player off every kept board and out of their league cohort.
"""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from engine import security
from engine.boards import moderation
from web.api import Blueprint
from web.bans import BanSchema
from web.extensions import get_engine
from web.schemas import PLAYER_ID, Pattern, QueryInteger, StrictSchema

blp = Blueprint(
    "security_admin", __name__, url_prefix="/v1/admin", description="Security events (admin)."
)


class EventsQuerySchema(StrictSchema):
    player_id = ma.fields.String(validate=Pattern(PLAYER_ID.pattern))
    rule = ma.fields.String(validate=validate.Length(1, 64))
    limit = QueryInteger(load_default=50, validate=validate.Range(1, 500))


class EventSchema(ma.Schema):
    id = ma.fields.String(required=True, attribute="event_id")
    at = ma.fields.DateTime(required=True)
    player_id = ma.fields.String(required=True)
    address = ma.fields.String(required=True, allow_none=True)
    rule = ma.fields.String(required=True)
    details = ma.fields.Dict(required=True)
    action = ma.fields.String(required=True)


class EventListSchema(ma.Schema):
    events = ma.fields.List(ma.fields.Nested(EventSchema()), required=True)


class FlagsSchema(ma.Schema):
    player_id = ma.fields.String(required=True)
    violations = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(), required=True)
    in_window = ma.fields.Integer(required=True)
    window_minutes = ma.fields.Integer(required=True)
    blocked = ma.fields.Nested(BanSchema(), required=True, allow_none=True)


class RemovedBoardSchema(ma.Schema):
    board = ma.fields.String(required=True, attribute="period_type")
    category = ma.fields.String(required=True, allow_none=True)
    period = ma.fields.Function(
        lambda board: board.period.name, required=True, metadata={"type": "string"}
    )


class LeftCohortSchema(ma.Schema):
    period = ma.fields.String(required=True, metadata={"example": "2026-W48"})
    cohort_id = ma.fields.String(required=True, metadata={"example": "bronze-12"})


class LeaderboardRemovalSchema(ma.Schema):
    player_id = ma.fields.String(required=True)
    removed = ma.fields.List(ma.fields.Nested(RemovedBoardSchema()), required=True)
    cohorts = ma.fields.List(
        ma.fields.Nested(LeftCohortSchema()),
        required=True,
        metadata={
            "description": "The league cohorts the player left: those of periods not"
            " closed yet (a closed period's cohorts and prizes stay as its close left them)."
        },
    )


@blp.route("/security/events")
@blp.arguments(EventsQuerySchema(), location="query", as_kwargs=True)
@blp.response(200, EventListSchema())
def list_events(limit: int, player_id: str | None = None, rule: str | None = None):
    return {"events": security.events(get_engine(), player_id=player_id, rule=rule, limit=limit)}


@blp.route("/players/<player:player_id>/flags")
@blp.response(200, FlagsSchema())
def player_flags(player_id: str):
    return security.flags(get_engine(), player_id)


@blp.route("/players/<player:player_id>/leaderboards", methods=["DELETE"])
@blp.response(200, LeaderboardRemovalSchema())
def remove_from_leaderboards(player_id: str):
    """Take the player off every board still kept, with the aggregates behind them.

    For a cheater: ban the player first. Their next exam starts from zero. They also
    leave their league cohort of every period whose close has not begun, so it neither
    pays nor promotes them. Repeating the call removes nothing more.
    """
    removal = moderation.remove_player(get_engine(), player_id)
    return {"player_id": player_id, "removed": removal.boards, "cohorts": removal.cohorts}
