"""`GET /v1/players/{player_id}/wallet` → engine.economy.wallet.balances → HGETALL of the
wallet hash that the balance writers keep (engine.economy.transactions): a player's
balances. The answer is built directly (web.responses); BalancesSchema documents it.
"""

from __future__ import annotations

from engine.economy import wallet
from engine.runtime import Engine
from web.api import Blueprint
from web.extensions import get_engine
from web.responses import json_response
from web.schemas import BalancesSchema
from web.security import read_group

blp = Blueprint("wallets", __name__, url_prefix="/v1/players", description="Wallets.")


def wallet_answer(engine: Engine, player_id: str, group: str | None) -> dict:
    """The route's answer (also web.hot_routes'): `group` is the read's rate-limit group."""
    return {"player_id": player_id, "balances": wallet.balances(engine, player_id, group)}


@blp.route("/<player:player_id>/wallet")
@blp.response(200, BalancesSchema())
def get_wallet(player_id: str):
    return json_response(wallet_answer(get_engine(), player_id, read_group()))
