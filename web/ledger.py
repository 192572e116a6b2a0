"""`GET /v1/players/{player_id}/ledger` → engine.economy.ledger.history → LRANGE of the
player's Redis ledger tail, which the balance writers push to (lua/include/wallet.lua),
merged with the older pages in SQL: the player's balance changes, newest first.
"""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from engine.economy import ledger
from web.api import Blueprint
from web.extensions import get_engine
from web.schemas import Pattern, QueryInteger, StrictSchema, amounts_field
from web.security import read_group

blp = Blueprint("ledger", __name__, url_prefix="/v1/players", description="Ledger.")


class LedgerQuerySchema(StrictSchema):
    limit = QueryInteger(load_default=50, validate=validate.Range(1, 200))
    before = ma.fields.String(
        validate=Pattern(r"^[0-9]{1,19}-[0-9]{1,19}$"),  # both parts below 2**64
        metadata={
            "description": "Only entries older than this transaction id.",
            "example": "1795606945607-0",
        },
    )


class LedgerEntrySchema(ma.Schema):
    transaction_id = ma.fields.String(required=True)
    kind = ma.fields.String(required=True)
    deltas = amounts_field(required=True)
    balances_after = amounts_field(required=True)
    reason = ma.fields.String(required=True)
    at = ma.fields.DateTime(required=True)


class LedgerSchema(ma.Schema):
    player_id = ma.fields.String(required=True)
    entries = ma.fields.List(ma.fields.Nested(LedgerEntrySchema), required=True)


@blp.route("/<player:player_id>/ledger")
@blp.arguments(LedgerQuerySchema(), location="query", as_kwargs=True)
@blp.response(200, LedgerSchema())
def get_ledger(player_id: str, limit: int, before: str | None = None):
    entries = ledger.history(
        get_engine(), player_id, limit=limit, before=before, group=read_group()
    )
    return {"player_id": player_id, "entries": entries}
