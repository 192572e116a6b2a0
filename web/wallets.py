"""`GET /v1/players/{player_id}/wallet` → engine.economy.wallet.balances → HGETALL of the
wallet hash that the balance writers keep (engine.economy.transactions): a player's
balances. The answer is built directly (web.responses); BalancesSchema documents it.
"""

from __future__ import annotations

from engine.economy import wallet
from web.api import Blueprint
from web.extensions import get_engine
from web.responses import json_response
from web.schemas import BalancesSchema
from web.security import read_group

blp = Blueprint("wallets", __name__, url_prefix="/v1/players", description="Wallets.")


@blp.route("/<player:player_id>/wallet")
@blp.response(200, BalancesSchema())
def get_wallet(player_id: str):
    balances = wallet.balances(get_engine(), player_id, read_group())
    return json_response({"player_id": player_id, "balances": balances})
