"""The player bans among many players at once, for the batch routes.

A batch (exams or wallets of many players) is refused item by item: a banned player's
item answers `banned`, the others go on. The bans come from the process's copy
(engine.security.ban_cache), as for a single request, so a batch reads nothing from
the `{sec}` slot; only a ban in force costs the one read of its record, kept with the
copy afterwards.
"""

from __future__ import annotations

from collections.abc import Iterable

from engine.clock import to_ms
from engine.errors import BannedError
from engine.runtime import Engine
from engine.security import ban_cache, bans


def banned_players(engine: Engine, player_ids: Iterable[str]) -> dict[str, BannedError]:
    """player id -> the refusal of its ban in force, from the process's copy of the bans."""
    now_ms = to_ms(engine.clock.now())
    refusals: dict[str, BannedError] = {}
    for player_id in dict.fromkeys(player_ids):
        ban = ban_cache.ban_for(engine, player_id, None, now_ms)
        if ban is not None:
            refusals[player_id] = refusal(ban)
    return refusals


def refusal(ban: bans.Ban) -> BannedError:
    """The `banned` error of a ban, with the details a single route's 403 carries."""
    return BannedError(
        "This player or address is banned.",
        {
            "reason": ban.reason,
            "ban_id": ban.ban_id,
            "kind": ban.kind,
            "expires_at": ban.expires_at.isoformat() if ban.expires_at else None,
        },
    )
