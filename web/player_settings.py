"""`GET /v1/players/{player_id}/settings` → engine.progression.timezones.get_settings
(lua/read_player.lua); `PUT /v1/players/{player_id}/settings` →
engine.progression.timezones.set_timezone (counted in the player's window, as a read is:
lua/read_player.lua; then the zone's `settings` row in SQL, the daily hashes of the
dates still to come kept to their ends in the new calendar, and one HSET, or DEL for
`null`, last, so the zone takes effect with its dates' counts in place):
a player's own time zone, which their daily counters, streak and login bonus then
follow (lua/include/zone.lua).
"""

from __future__ import annotations

import marshmallow as ma

from engine.progression import timezones
from web.api import Blueprint
from web.extensions import get_engine
from web.schemas import StrictSchema
from web.security import read_group

blp = Blueprint("settings", __name__, url_prefix="/v1/players", description="Player settings.")

TIMEZONE_FIELD = {
    "description": "An IANA time zone name; null: the game calendar.",
    "example": "Asia/Tokyo",
}


class SettingsRequestSchema(StrictSchema):
    timezone = ma.fields.String(
        required=True,
        allow_none=True,
        validate=ma.validate.Length(min=1, max=64),
        metadata=TIMEZONE_FIELD,
    )


class SettingsSchema(ma.Schema):
    player_id = ma.fields.String(required=True)
    timezone = ma.fields.String(required=True, allow_none=True, metadata=TIMEZONE_FIELD)


@blp.route("/<player:player_id>/settings")
@blp.response(200, SettingsSchema())
def get_settings(player_id: str):
    settings = timezones.get_settings(get_engine(), player_id, read_group())
    return {"player_id": player_id, "timezone": settings.timezone}


@blp.route("/<player:player_id>/settings", methods=["PUT"])
@blp.arguments(SettingsRequestSchema())
@blp.response(200, SettingsSchema())
@blp.alt_response(422, description="unknown_timezone: no IANA time zone of that name")
def put_settings(body: dict, player_id: str):
    """Set the player's time zone: their daily counters, streak and login bonus follow
    their local day from the reset hour; boards keep the game calendar. Idempotent."""
    settings = timezones.set_timezone(get_engine(), player_id, body["timezone"], read_group())
    return {"player_id": player_id, "timezone": settings.timezone}
