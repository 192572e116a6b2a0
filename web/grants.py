"""`POST /v1/admin/players/{player_id}/grants` → engine.economy.grants.grant →
engine.economy.transactions.apply → lua/apply_transaction.lua (+ includes replay,
wallet): admins add or remove resources, exactly once per Idempotency-Key.
"""

from __future__ import annotations

import marshmallow as ma

from engine.economy import grants
from engine.rules import Rules
from web.api import Blueprint
from web.bans import REASON
from web.extensions import get_engine
from web.purchases import replay_headers
from web.schemas import IdempotencyHeaderSchema, StrictSchema, TransactionSchema, amounts_field

blp = Blueprint("grants", __name__, url_prefix="/v1/admin/players", description="Admin grants.")


def grant_bounds(rules: Rules) -> tuple[int, int]:
    return -rules.limits.max_grant_amount, rules.limits.max_grant_amount


class GrantRequestSchema(StrictSchema):
    resources = amounts_field(
        required=True,
        fewest=1,
        nonzero=True,
        spec_bounds=grant_bounds,
        metadata={
            "example": {"coins": 100},
            "description": "Negative amounts remove resources; each within max_grant_amount.",
        },
    )
    reason = ma.fields.String(required=True, validate=REASON)


@blp.route("/<player:player_id>/grants", methods=["POST"])
@blp.arguments(IdempotencyHeaderSchema(), location="headers", as_kwargs=True)
@blp.arguments(GrantRequestSchema())
@blp.response(201, TransactionSchema())
@blp.alt_response(409, description="insufficient_funds")
@blp.alt_response(422, description="idempotency_key_reused")
def create_grant(body: dict, player_id: str, idempotency_key: str):
    transaction = grants.grant(
        get_engine(),
        player_id,
        resources=body["resources"],
        reason=body["reason"],
        idempotency_key=idempotency_key,
    )
    return transaction, 201, replay_headers(transaction.replayed)
