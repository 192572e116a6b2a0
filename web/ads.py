"""`POST /v1/players/{player_id}/ad-rewards` → engine.economy.activity.ad_reward →
engine.economy.activity.record → lua/record_activity.lua (+ includes replay, wallet, rate,
progress): the reward for a watched ad, capped daily, paid in the call that records it.
With `X-Player-IP`, engine.security.rate_limits.take_address_slot → lua/take_rate_slot.lua
runs first.
"""

from __future__ import annotations

import marshmallow as ma

from engine.economy import activity
from web.api import Blueprint
from web.extensions import get_engine
from web.purchases import replay_headers
from web.schemas import IdempotencyHeaderSchema, ProgressSchema, StrictSchema, amounts_field
from web.security import player_address

blp = Blueprint("ads", __name__, url_prefix="/v1/players", description="Ad rewards.")


class AdRewardRequestSchema(StrictSchema):
    """No fields: the reward comes from the rules."""


class AdRewardSchema(ma.Schema):
    transaction_id = ma.fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "null when a daily earning cap cut the reward to nothing."},
    )
    reward = amounts_field(required=True, attribute="deltas")
    ads_watched = ma.fields.Integer(required=True, attribute="progress.ads_watched")
    ads_limit = ma.fields.Integer(required=True)
    balances = amounts_field(required=True)
    progress = ma.fields.Nested(ProgressSchema(), required=True)


@blp.route("/<player:player_id>/ad-rewards", methods=["POST"])
@blp.arguments(IdempotencyHeaderSchema(), location="headers", as_kwargs=True)
@blp.arguments(AdRewardRequestSchema(), required=False)
@blp.response(201, AdRewardSchema())
@blp.alt_response(409, description="daily_limit_reached or balance_limit_exceeded: nothing granted")
@blp.alt_response(422, description="idempotency_key_reused")
def create_ad_reward(body: dict, player_id: str, idempotency_key: str):
    engine = get_engine()
    transaction = activity.ad_reward(engine, player_id, idempotency_key, player_address())
    progress = transaction.progress
    body = {
        "transaction_id": transaction.transaction_id,
        "deltas": transaction.deltas,
        "progress": progress,
        # the cap the ad counted against (a record rebuilt from SQL keeps none: the rules')
        "ads_limit": (progress and progress.ads_limit) or engine.rules.ads.daily_cap,
        "balances": transaction.balances,
    }
    return body, 201, replay_headers(transaction.replayed)
