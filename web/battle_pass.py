"""`GET /v1/players/{player_id}/battle-pass` → engine.progression.battle_pass.state → Redis
reads of the player's season hash: XP, level and rewards in a season. The XP, and what
each level credited, is written by lua/record_activity.lua and lua/record_exams.lua
(lua/include/progress.lua); an archived season, or a hash without what its levels
credited, reads SQL.
"""

from __future__ import annotations

import marshmallow as ma

from engine.progression import battle_pass
from engine.rules.progression import SEASON_ID
from web.api import Blueprint
from web.extensions import get_engine
from web.schemas import Pattern, StrictSchema, amounts_field
from web.security import read_group

blp = Blueprint("battle_pass", __name__, url_prefix="/v1/players", description="Battle pass.")


class SeasonQuerySchema(StrictSchema):
    season = ma.fields.String(
        validate=Pattern(SEASON_ID.pattern),
        metadata={"description": "Omit for the current season.", "example": "2026-autumn"},
    )


class GrantedSchema(ma.Schema):
    level = ma.fields.Integer(required=True)
    reward = amounts_field(
        required=True,
        metadata={
            "description": "What reaching the level credited, as the `level_rewards` of the"
            " answer that reached it and its ledger entry (kind level_reward) say: the"
            " rules' reward, less what a daily earning cap or the balance limit cut ({}"
            " when they cut it all)."
        },
    )


class BattlePassSchema(ma.Schema):
    player_id = ma.fields.String(required=True)
    season = ma.fields.String(required=True, attribute="state.season.season_id")
    season_start = ma.fields.Date(required=True, attribute="state.season.start")
    season_end = ma.fields.Date(
        required=True, attribute="state.season.end", metadata={"description": "Exclusive."}
    )
    xp = ma.fields.Integer(required=True, attribute="state.xp")
    level = ma.fields.Integer(required=True, attribute="state.level")
    xp_to_next_level = ma.fields.Integer(required=True, attribute="state.xp_to_next_level")
    rewards_granted = ma.fields.List(
        ma.fields.Nested(GrantedSchema()),
        required=True,
        attribute="state.rewards_granted",
        metadata={
            "description": "The levels reached this season that the rules reward, each"
            " with what reaching it credited."
        },
    )


@blp.route("/<player:player_id>/battle-pass")
@blp.arguments(SeasonQuerySchema(), location="query", as_kwargs=True)
@blp.response(200, BattlePassSchema())
@blp.alt_response(404, description="not_found: no such season, or none running")
def get_battle_pass(player_id: str, season: str | None = None):
    state = battle_pass.state(get_engine(), player_id, season, read_group())
    return {"player_id": player_id, "state": state}
