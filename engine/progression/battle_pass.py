"""The battle pass: a player's XP and level in a season, and the rewards it paid.

A season's XP lives in Redis (the player's season hash) until the season_rollover job
(engine.ops.maintenance) archives an ended season into SQL (user_battle_pass_archive)
and removes its hashes; a past season is then read from that archive.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from engine import db, keys
from engine.errors import NotFoundError
from engine.rules.progression import Season
from engine.runtime import Engine
from engine.security import rate_limits

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BattlePassState:
    season: Season
    xp: int
    level: int
    xp_to_next_level: int
    rewards_granted: list[dict]  # [{"level", "reward"}] for levels reached that pay


def level_for(xp: int, xp_per_level: int) -> int:
    return xp // xp_per_level + 1


def state(
    engine: Engine, player_id: str, season_id: str | None = None, group: str | None = None
) -> BattlePassState:
    """The current season's state, or `season_id`'s (a past season stays readable).
    With `group`, the read counts in the player's rate limit of that group in the same
    call.

    Raises:
        NotFoundError: no such season, or no season is running now.
        RateLimitedError: the player's window of `group` is full.
    """
    rules = engine.rules.battle_pass
    if season_id is None:
        today: date = engine.calendar.game_day(engine.clock.now())
        season = rules.season_on(today)
        if season is None:
            raise NotFoundError("No battle-pass season is running.", {"season": None})
    else:
        season = rules.season(season_id)
        if season is None:
            raise NotFoundError(f"There is no season {season_id!r}.", {"season": season_id})
    (raw,) = rate_limits.read_player(
        engine, player_id, group, [keys.battle_pass(player_id, season.season_id)]
    )
    stored = dict(zip(raw[::2], raw[1::2], strict=True))
    if not stored and season_id is not None:  # an ended season's hash may be archived
        stored = _archived(engine, player_id, season)
    xp = int(stored.get(b"xp") or 0)
    rewarded = int(stored.get(b"rewarded_level") or 1)
    level = level_for(xp, rules.xp_per_level)
    return BattlePassState(
        season=season,
        xp=xp,
        level=level,
        xp_to_next_level=level * rules.xp_per_level - xp,
        rewards_granted=[
            {"level": lvl, "reward": dict(reward)}
            for lvl, reward in rules.level_rewards.items()
            if lvl <= rewarded
        ],
    )


def _archived(engine: Engine, player_id: str, season: Season) -> dict[bytes, bytes]:
    """The player's season as season_rollover archived it, in the hash's shape ({} when
    the season has not ended, there is no SQL, or the player has no row): its Redis
    hash is removed once the archive is committed, and a past season must read as it
    ended, not as zero."""
    today = engine.calendar.game_day(engine.clock.now())
    if season.end > today or not engine.database_url:
        return {}
    table = db.user_battle_pass_archive
    query = select(table.c.xp, table.c.rewarded_level).where(
        table.c.player_id == player_id, table.c.season_id == season.season_id
    )
    with engine.sql.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        return {}
    return {b"xp": str(row.xp).encode(), b"rewarded_level": str(row.rewarded_level).encode()}
