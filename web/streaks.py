"""`POST /v1/players/{player_id}/streak/repair` → engine.economy.streak_repair.repair →
lua/repair_streak.lua (+ includes codes, replay, wallet): buy back a broken streak within
its window, once per break, exactly once per Idempotency-Key; the price is debited with
its ledger entry in the same call. The day's state shows the repair on offer
(web/daily.py). A repair is bought: it counts in the player's `purchases` rate-limit
window inside the script, after its replay check, and with `X-Player-IP` in the
address's, taken first in the engine (engine.security.rate_limits.take_address_slot →
lua/take_rate_slot.lua): a replay is never counted or refused.
"""

from __future__ import annotations

import marshmallow as ma

from engine.economy import streak_repair
from web.api import Blueprint
from web.extensions import get_engine
from web.fastschema import FastSchema
from web.purchases import replay_headers
from web.schemas import DailyBonusSchema, IdempotencyHeaderSchema, StrictSchema, amounts_field
from web.security import player_address

blp = Blueprint("streaks", __name__, url_prefix="/v1/players", description="Streak repair.")


class StreakRepairRequestSchema(StrictSchema):
    """No fields: the break and its price come from the player's streak and the rules."""


class StreakRepairSchema(FastSchema):
    transaction_id = ma.fields.String(required=True, attribute="transaction.transaction_id")
    streak = ma.fields.Integer(
        required=True, metadata={"description": "The streak restored.", "example": 11}
    )
    lost = ma.fields.Integer(
        required=True, metadata={"description": "The length that was lost.", "example": 10}
    )
    best = ma.fields.Integer(required=True, metadata={"example": 11})
    price = amounts_field(required=True, metadata={"example": {"coins": 150}})
    balances = amounts_field(required=True, attribute="transaction.balances")
    milestone_bonuses = ma.fields.List(
        ma.fields.Nested(DailyBonusSchema()),
        required=True,
        metadata={
            "description": "The login bonus milestones the restored streak reached on days"
            " its claims paid as ordinary days (lost 6, restarted at 1 today: day 7), each"
            " paid now what a milestone pays beyond an ordinary day, in a `login_bonus`"
            " ledger entry of its own. `reward` is what was credited: the balance limit"
            " may cut it (to {}, with no `transaction_id`). Usually [] or one.",
            "example": [{"streak": 7, "reward": {"steel": 10}, "transaction_id": "1-0"}],
        },
    )


@blp.route("/<player:player_id>/streak/repair", methods=["POST"])
@blp.arguments(IdempotencyHeaderSchema(), location="headers", as_kwargs=True)
@blp.arguments(StreakRepairRequestSchema(), required=False)
@blp.response(201, StreakRepairSchema())
@blp.alt_response(
    409,
    description="streak_not_repairable (reason none, repaired, expired or disabled) or"
    " insufficient_funds: nothing changed",
)
@blp.alt_response(422, description="idempotency_key_reused")
def repair_streak(body: dict, player_id: str, idempotency_key: str):
    """Buy back the streak a claim found broken, within its window (see the day's state).

    A repair is bought: it counts in the player's `purchases` rate-limit window with
    their purchases, and with `X-Player-IP` in the address's. Over either limit it is
    429 `rate_limited` (`details.scope` player or address) with Retry-After, and nothing
    changed. A refused repair (409) is an attempt and counts, but for reason `disabled`
    (the rules offer no repair: nothing is attempted or counted); a replay of a recorded
    answer is never counted or refused.
    """
    repaired = streak_repair.repair(
        get_engine(), player_id, idempotency_key, address=player_address()
    )
    return repaired, 201, replay_headers(repaired.transaction.replayed)
