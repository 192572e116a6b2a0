"""`POST /v1/players/{player_id}/purchases` → engine.economy.purchases.purchase →
engine.economy.activity.record → lua/record_activity.lua (+ includes replay, wallet, rate,
progress), which debits the price and credits the items in one atomic call, each change
with its ledger entry: buy catalog items, exactly once per Idempotency-Key. With
`X-Player-IP`, engine.security.rate_limits.take_address_slot → lua/take_rate_slot.lua
runs first.
"""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from engine.economy import purchases
from engine.rules import Rules
from web.api import Blueprint
from web.extensions import get_engine
from web.fastschema import FastSchema
from web.schemas import (
    IdempotencyHeaderSchema,
    ProgressSchema,
    RulesRange,
    StrictSchema,
    WholeNumber,
    amounts_field,
)
from web.security import player_address

blp = Blueprint("purchases", __name__, url_prefix="/v1/players", description="Purchases.")


def largest_quantity(rules: Rules) -> int:
    return max(item.max_quantity for item in rules.catalog.values())


class PurchaseRequestSchema(StrictSchema):
    item = ma.fields.String(
        required=True, validate=validate.Length(1, 64), metadata={"example": "steel"}
    )
    quantity = WholeNumber(
        required=True,
        validate=RulesRange(1, largest_quantity, 1_000_000),
        metadata={"example": 2, "description": "At most the item's max_quantity."},
    )
    expected_price = amounts_field(
        fewest=1,
        spec_bounds=lambda rules: (1, rules.limits.max_balance),
        metadata={
            "description": "The unit price the player saw, as in the catalog; another price"
            " is 409 price_changed.",
            "example": {"coins": 50},
        },
    )


class PurchaseSchema(FastSchema):
    transaction_id = ma.fields.String(required=True, attribute="transaction.transaction_id")
    item = ma.fields.String(required=True)
    quantity = ma.fields.Integer(required=True)
    cost = amounts_field(required=True)
    balances = amounts_field(required=True, attribute="transaction.balances")
    progress = ma.fields.Nested(ProgressSchema(), required=True, attribute="transaction.progress")


@blp.route("/<player:player_id>/purchases", methods=["POST"])
@blp.arguments(IdempotencyHeaderSchema(), location="headers", as_kwargs=True)
@blp.arguments(PurchaseRequestSchema())
@blp.response(201, PurchaseSchema())
@blp.alt_response(404, description="unknown_item")
@blp.alt_response(409, description="insufficient_funds or price_changed")
@blp.alt_response(422, description="idempotency_key_reused")
def create_purchase(body: dict, player_id: str, idempotency_key: str):
    result = purchases.purchase(
        get_engine(),
        player_id,
        item_id=body["item"],
        quantity=body["quantity"],
        idempotency_key=idempotency_key,
        expected_price=body.get("expected_price"),
        address=player_address(),
    )
    return result, 201, replay_headers(result.transaction.replayed)


def replay_headers(replayed: bool) -> dict[str, str]:
    return {"Idempotent-Replayed": "true"} if replayed else {}
