"""Wallets: a player's balance of every resource."""

from __future__ import annotations

from collections.abc import Sequence

from engine import keys
from engine.economy.transactions import with_every_resource
from engine.errors import BannedError
from engine.runtime import Engine
from engine.security import player_bans, rate_limits


def balances(engine: Engine, player_id: str, group: str | None = None) -> dict[str, int]:
    """Every resource of the rules, zero for a player who has none yet.

    With `group`, the read counts in the player's rate limit of that group, in the same
    call (engine.security.rate_limits.read_player; raises RateLimitedError when full).
    """
    (raw,) = rate_limits.read_player(engine, player_id, group, [keys.wallet(player_id)])
    return with_every_resource(
        engine, {raw[i].decode(): int(raw[i + 1]) for i in range(0, len(raw), 2)}
    )


def balances_of_players(
    engine: Engine, player_ids: Sequence[str]
) -> dict[str, dict[str, int] | BannedError]:
    """Each player's balances, or the refusal of their ban, by player id.

    Every wallet is read in one pipeline: one round trip (one per node on a
    cluster); bans come from the process's copy (engine.security.ban_cache).
    """
    unique = list(dict.fromkeys(player_ids))
    refused = player_bans.banned_players(engine, unique)
    pipe = engine.redis.pipeline(transaction=False)
    for player_id in unique:
        pipe.hgetall(keys.wallet(player_id))
    wallets = pipe.execute()
    return {
        player_id: refused.get(player_id)
        or with_every_resource(engine, {name.decode(): int(value) for name, value in raw.items()})
        for player_id, raw in zip(unique, wallets, strict=True)
    }
