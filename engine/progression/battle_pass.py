"""The battle pass: a player's XP and level in a season, and the rewards it paid.

A season's XP lives in Redis (the player's season hash) until the season_rollover job
(engine.ops.maintenance) archives an ended season into SQL (user_battle_pass_archive)
and removes its hashes; a past season is then read from that archive.

What each level reached credited (a daily earning cap or the balance limit may cut a
level's reward, to nothing) is kept in the season hash (`paid:<level>`,
lua/include/progress.lua's add_xp) and is its `level_reward` ledger entry: a hash
without it (an archived season, one `questboard rebuild` wrote back from SQL, or one
kept before the field was) reads it from SQL's ledger.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, union_all

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
    # [{"level", "reward"}]: the levels reached that the rules reward, each with what
    # reaching it credited ({} when a cap or the balance limit cut it all)
    rewards_granted: list[dict]


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
        rewards_granted=_granted(engine, player_id, season, stored, rewarded),
    )


def _granted(
    engine: Engine, player_id: str, season: Season, stored: dict[bytes, bytes], rewarded: int
) -> list[dict]:
    """Each level reached that the rules reward (or whose reward was paid: the rules may
    have dropped it since), with what it credited: the hash's paid:<level>; for a level
    the rules reward that the hash does not say (see the module docstring), its ledger
    entry in SQL ({} without one: nothing fit, or the rules gave it no reward then), or
    without SQL the rules' reward."""
    credited = {
        int(name[len(PAID) :]): json.loads(value)
        for name, value in stored.items()
        if name.startswith(PAID)
    }
    unsaid = [
        lvl
        for lvl in engine.rules.battle_pass.level_rewards
        if lvl <= rewarded and lvl not in credited
    ]
    if unsaid:
        ledger = _ledger_rewards(engine, player_id, season.season_id)
        rules = engine.rules.battle_pass.level_rewards
        for lvl in unsaid:
            credited[lvl] = ledger.get(lvl, {}) if ledger is not None else dict(rules[lvl])
    return [{"level": lvl, "reward": credited[lvl]} for lvl in sorted(credited)]


PAID = b"paid:"  # the season hash's field of what a level credited: paid:<level>


def _ledger_rewards(engine: Engine, player_id: str, season_id: str) -> dict[int, dict] | None:
    """Level -> what its `level_reward` ledger entry credited in the season, from SQL's
    ledger and its archive (references "level/<season>/<level>"); None without SQL."""
    if not engine.database_url:
        return None
    prefix = f"level/{season_id}/"
    parts = [
        select(table.c.ref, table.c.deltas).where(
            table.c.player_id == player_id,
            table.c.kind == "level_reward",
            table.c.ref.startswith(prefix, autoescape=True),
        )
        for table in (db.user_resource_logs, db.user_resource_logs_archive)
    ]
    with engine.sql.connect() as conn:
        rows = conn.execute(union_all(*parts)).all()
    return {int(ref[len(prefix) :]): json.loads(deltas) for ref, deltas in rows}


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
