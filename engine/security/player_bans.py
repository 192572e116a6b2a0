"""The player bans among many players at once, for the batch routes.

A batch (exams or wallets of many players) is refused item by item: a banned player's
item answers `banned`, the others go on. One HMGET of the player-ban index reads every
player's entry, in the same round trip as the batch's reads where it has some; only a
player with an entry (banned, or banned once and expired) costs a further look-up,
through `bans.active_ban`, which decides whether the ban is still in force.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from engine import keys
from engine.errors import BannedError
from engine.runtime import Engine
from engine.security import bans


def read_entries(pipe: Any, player_ids: Sequence[str]) -> None:
    """Queue the HMGET of these players' ban entries on `pipe` (its reply goes to
    `banned_among`)."""
    pipe.hmget(keys.player_bans(), list(player_ids))


def banned_among(
    engine: Engine, player_ids: Sequence[str], entries: Sequence[bytes | None]
) -> dict[str, BannedError]:
    """player id -> the refusal of its ban in force, for the players with an entry."""
    refusals: dict[str, BannedError] = {}
    for player_id, entry in zip(player_ids, entries, strict=True):
        if entry is None:
            continue
        ban = bans.active_ban(engine, player_id, None)
        if ban is not None:
            refusals[player_id] = refusal(ban)
    return refusals


def banned_players(engine: Engine, player_ids: Iterable[str]) -> dict[str, BannedError]:
    """player id -> the refusal of its ban in force: one round trip when none is banned."""
    unique = list(dict.fromkeys(player_ids))
    if not unique:
        return {}
    pipe = engine.redis.pipeline(transaction=False)
    read_entries(pipe, unique)
    [entries] = pipe.execute()
    return banned_among(engine, unique, entries)


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
