"""Wallets: a player's balance of every resource."""

from __future__ import annotations

from engine import keys
from engine.economy.transactions import with_every_resource
from engine.runtime import Engine


def balances(engine: Engine, player_id: str) -> dict[str, int]:
    """Every resource of the rules, zero for a player who has none yet."""
    raw = engine.redis.hgetall(keys.wallet(player_id))
    return with_every_resource(engine, {name.decode(): int(value) for name, value in raw.items()})
