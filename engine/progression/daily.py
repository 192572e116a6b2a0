"""A player's game day at a glance: the login bonus, ads watched, mission progress.

Nothing here is ever reset by a job: each day's counters are their own key, which
expires after the day (plus the rules' grace).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

from engine import keys
from engine.clock import to_ms
from engine.progression import missions, timezones
from engine.progression.streaks import StreakRepairOffer, repair_offer
from engine.rules.progression import FREEZE_RESOURCE
from engine.runtime import Engine
from engine.security import rate_limits


@dataclass(frozen=True)
class MissionState:
    mission_id: str
    title: str
    event: str
    progress: int
    target: int
    completed: bool
    xp: int
    reward: dict[str, int]  # what the rules pay for it
    # what completing it credited (a cap or the balance limit may cut the reward, to
    # {}); None until completed
    credited: dict[str, int] | None = None


@dataclass(frozen=True)
class DailyState:
    game_day: date
    next_reset_at: datetime
    login_claimed: bool
    streak: int
    ads_watched: int
    ads_limit: int
    missions: list[MissionState]
    streak_repair: StreakRepairOffer | None = None  # a broken streak it may buy back


def missions_state(engine: Engine, day: date, counters: dict[str, str]) -> list[MissionState]:
    """The day's missions as the player's daily hash counts them. A completed mission's
    `credited` is its `mission:<id>:paid` (include/progress.lua's advance); a hash
    without it (written before the field was kept) says the rules' reward."""
    states = []
    for mission in missions.for_day(engine.rules, day):
        field = f"mission:{mission.mission_id}"
        completed = f"{field}:done" in counters
        paid = counters.get(f"{field}:paid")
        credited = None
        if completed:
            credited = json.loads(paid) if paid is not None else dict(mission.reward)
        states.append(
            MissionState(
                mission_id=mission.mission_id,
                title=mission.title,
                event=mission.event,
                progress=min(int(counters.get(field, 0)), mission.target),
                target=mission.target,
                completed=completed,
                xp=mission.xp,
                reward=dict(mission.reward),
                credited=credited,
            )
        )
    return states


def state(engine: Engine, player_id: str, group: str | None = None) -> DailyState:
    """The player's game day; with `group`, the read counts in the player's rate limit
    of that group in the same call (raises RateLimitedError when it is full)."""
    now = engine.clock.now()
    day = engine.calendar.game_day(now)
    freeze = engine.rules.streak_freeze
    read_keys = [keys.daily(player_id, day.isoformat()), keys.streak(player_id)]
    if freeze is not None:
        read_keys.append(keys.wallet(player_id))  # the freezes held, in the same call
    zone = timezones.zone_part(engine, now)  # a player with a time zone: their own day
    read_keys += [keys.settings(player_id), *zone.daily_keys(player_id, day)]
    *replies, settings_fields, other, another = rate_limits.read_player(
        engine, player_id, group, read_keys, now_ms=to_ms(now)
    )
    raw, streak_fields, *wallet_fields = replies
    own = timezones.own_day(engine, now, zone, settings_fields)
    if own is not None:  # their local day: its counters, missions, claim and reset
        day, raw = own.day, (raw, other, another)[own.index]
    counters = {raw[i].decode(): raw[i + 1].decode() for i in range(0, len(raw), 2)}
    streak_hash = dict(zip(streak_fields[::2], streak_fields[1::2], strict=True))
    last_day, streak = streak_hash.get(b"last_day"), streak_hash.get(b"streak")
    # A streak is alive if its last claimed day is today or yesterday, or if the streak
    # freezes held will bridge the days missed since (include/claim.lua's rule).
    missed = day.toordinal() - 1 - int(last_day) if last_day is not None else None
    alive = missed is not None and missed <= 0
    if missed is not None and missed > 0 and freeze is not None and wallet_fields:
        held = dict(zip(wallet_fields[0][::2], wallet_fields[0][1::2], strict=True))
        alive = (
            missed <= freeze.max_gap_days and int(held.get(FREEZE_RESOURCE.encode(), 0)) >= missed
        )
    if timezones.OwnDay.streak_kept(engine, streak_hash, now):
        alive = True  # a move east, a zone left: the day after the last claim has not ended there
    return DailyState(
        game_day=day,
        next_reset_at=own.ends_at if own else engine.calendar.next_reset(now),
        login_claimed=own.claimed(engine, streak_hash, now)
        if own
        else _claimed(day, counters, streak_hash, now),
        streak=int(streak) if alive and streak else 0,
        ads_watched=int(counters.get("ads", 0)),
        ads_limit=engine.rules.ads.daily_cap,
        missions=missions_state(engine, day, counters),
        streak_repair=repair_offer(engine.rules.streak_repair, streak_hash, now),
    )


def _claimed(
    day: date, counters: dict[str, str], streak_hash: dict[bytes, bytes], now: datetime
) -> bool:
    """Whether a player on the game calendar may not claim `day` now: its bonus is
    claimed, or their last claim, made in a zone they have left since, is of this date
    or later, or of an earlier one whose day has not ended in that zone yet (claim_ends:
    include/claim.lua's claim_bonus and claim_waits)."""
    if "bonus" in counters:
        return True
    last_day = streak_hash.get(b"last_day")
    if last_day is not None and int(last_day) >= day.toordinal():
        return True
    ends = streak_hash.get(b"claim_ends")
    return ends is not None and now.timestamp() < int(ends)
