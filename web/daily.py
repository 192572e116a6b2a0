"""`GET /v1/players/{player_id}/daily`, `GET /v1/players/{player_id}/missions` →
engine.progression.daily.state (Redis reads); `POST /v1/players/{player_id}/login` →
engine.economy.activity.login → engine.economy.activity.record → lua/record_activity.lua
(+ includes replay, wallet, rate, progress, claim): a player's game day, its counters,
missions and login bonus.
"""

from __future__ import annotations

import marshmallow as ma

from engine.economy import activity
from engine.progression import daily
from web.api import Blueprint
from web.extensions import get_engine
from web.fastschema import FastSchema
from web.purchases import replay_headers
from web.schemas import (
    IdempotencyHeaderSchema,
    ProgressSchema,
    amounts_field,
    idempotency_key_field,
)
from web.security import player_address, read_group

blp = Blueprint("daily", __name__, url_prefix="/v1/players", description="Daily progress.")


class MissionStateSchema(ma.Schema):
    id = ma.fields.String(required=True, attribute="mission_id")
    title = ma.fields.String(required=True)
    event = ma.fields.String(required=True)
    progress = ma.fields.Integer(required=True)
    target = ma.fields.Integer(required=True)
    completed = ma.fields.Boolean(required=True)
    xp = ma.fields.Integer(required=True)
    reward = amounts_field(
        required=True,
        metadata={"description": "What the rules pay for completing it.", "example": {"coins": 5}},
    )
    credited = amounts_field(
        required=True,
        allow_none=True,
        metadata={
            "description": "null until completed; then what completing it credited, as the"
            " answer that completed it (`progress.missions`) and its ledger entry (kind"
            " mission_reward) say: the rules' reward, less what a daily earning cap or the"
            " balance limit cut ({} when they cut it all).",
            "example": {"coins": 5},
        },
    )


class MissionsSchema(ma.Schema):
    player_id = ma.fields.String(required=True)
    game_day = ma.fields.Date(required=True)
    next_reset_at = ma.fields.DateTime(required=True)
    missions = ma.fields.List(ma.fields.Nested(MissionStateSchema()), required=True)


class StreakRepairOfferSchema(ma.Schema):
    lost = ma.fields.Integer(required=True, metadata={"example": 10})
    streak = ma.fields.Integer(
        required=True, metadata={"description": "The streak once repaired.", "example": 11}
    )
    price = amounts_field(required=True, metadata={"example": {"coins": 150}})
    repair_by = ma.fields.DateTime(required=True)


class DailyLoginSchema(ma.Schema):
    claimed = ma.fields.Boolean(
        required=True, metadata={"description": "The day's login bonus is claimed."}
    )
    streak = ma.fields.Integer(required=True, metadata={"example": 3})


class DailyAdsSchema(ma.Schema):
    watched = ma.fields.Integer(required=True, metadata={"example": 2})
    limit = ma.fields.Integer(
        required=True, metadata={"description": "The day's cap of ad rewards.", "example": 5}
    )


class DailySchema(MissionsSchema):
    login = ma.fields.Nested(DailyLoginSchema(), required=True)
    ads = ma.fields.Nested(DailyAdsSchema(), required=True)
    streak_repair = ma.fields.Nested(
        StreakRepairOfferSchema(),
        required=True,
        allow_none=True,
        metadata={
            "description": "A broken streak the player may buy back now "
            "(POST .../streak/repair), or null."
        },
    )


class LoginSchema(FastSchema):
    claimed = ma.fields.Boolean(required=True)
    streak = ma.fields.Integer(required=True)
    reward = amounts_field(required=True)
    next_claim_at = ma.fields.DateTime(required=True)
    balances = amounts_field(required=True)
    progress = ma.fields.Nested(ProgressSchema(), required=True)


class LoginHeadersSchema(IdempotencyHeaderSchema):
    """A login's Idempotency-Key is optional: without one the day is its natural key."""

    idempotency_key = idempotency_key_field(
        "Makes a retry answer the first answer (the day's bonus it"
        " claimed included) with Idempotent-Replayed: true, for"
        " IDEMPOTENCY_TTL_SECONDS (24 h by default). Without one, a retry of a"
        " claimed day answers claimed: false.",
        example="session-81723",
        required=False,
    )


def _daily_body(player_id: str) -> dict:
    state = daily.state(get_engine(), player_id, read_group())
    return {
        "player_id": player_id,
        "game_day": state.game_day,
        "next_reset_at": state.next_reset_at,
        "login": {"claimed": state.login_claimed, "streak": state.streak},
        "ads": {"watched": state.ads_watched, "limit": state.ads_limit},
        "missions": state.missions,
        "streak_repair": state.streak_repair,
    }


@blp.route("/<player:player_id>/daily")
@blp.response(200, DailySchema())
def get_daily(player_id: str):
    return _daily_body(player_id)


@blp.route("/<player:player_id>/missions")
@blp.response(200, MissionsSchema())
def get_missions(player_id: str):
    return _daily_body(player_id)


@blp.route("/<player:player_id>/login", methods=["POST"])
@blp.arguments(LoginHeadersSchema(), location="headers", as_kwargs=True)
@blp.response(200, LoginSchema())
def login(player_id: str, idempotency_key: str | None = None):
    """Claim the day's login bonus; later calls that day answer claimed: false."""
    result = activity.login(get_engine(), player_id, player_address(), idempotency_key)
    return result, 200, replay_headers(result.replayed)
