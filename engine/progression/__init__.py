"""What a player's event earns beyond itself: the daily login bonus, mission progress,
battle-pass XP and level rewards. The work happens in Lua (include/progress.lua);
this module builds the context the scripts need and reads back what happened.

The context depends only on the rules and the game day, so it is built once per day
per process and passed to the scripts as one JSON argument.

The package also holds `daily`, `missions`, `battle_pass`, `tools` (tool of the day)
and `rotation` (the daily job).

Depends on: core, rules, security.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from engine import keys
from engine.clock import to_ms
from engine.progression import missions
from engine.runtime import Engine
from engine.security import rate_limits

NO_SEASON = "none"


@dataclass(frozen=True)
class DayContext:
    day: date
    starts_at: datetime
    ends_at: datetime
    season_id: str | None
    daily_expires_at: datetime
    context: str  # what every call needs (include/context.lua's parse_context)
    rewards_json: str  # what rewards pay, decoded only when something is paid

    def player_keys(self, player_id: str, now: datetime, group: str) -> list[str]:
        """The daily, streak, battle-pass, pace and rate-limit keys the scripts take, in
        that order; `group` is the rules' rate-limit group of the event's route."""
        return [
            keys.daily(player_id, self.day.isoformat()),
            keys.streak(player_id),
            keys.battle_pass(player_id, self.season_id or NO_SEASON),
            keys.pace(player_id, int(now.timestamp())),
            keys.player_rate_window(player_id, group),
        ]


# The engine.memo entries derived from the rules, by name (a tuple key by its first
# item): what fresh_memo drops. The others (the ban cache, the board indexes' memo, the
# webhook secret box) do not depend on the rules and are kept.
RULES_MEMO = frozenset({"day_context", "activity_call_day", "zone_part", "exam_periods"})


def fresh_memo(engine: Engine) -> dict:
    """engine.memo, its entries derived from the rules (RULES_MEMO) dropped first when
    engine.rules is not the rules they were built from: the day's context (missions,
    rewards, XP, caps), the zones' and the exams' periods, so an engine given new rules
    mid-day (a test, a process that reloads them) pays by the new ones from its next
    call, not the next day."""
    memo = engine.memo
    if memo.get("rules") is not engine.rules:
        derived = [k for k in memo if (k[0] if isinstance(k, tuple) else k) in RULES_MEMO]
        for key in derived:
            del memo[key]
        memo["rules"] = engine.rules
    return memo


def day_context(engine: Engine, now: datetime) -> DayContext:
    """The context of the game day `now` falls in, built once per day per process."""
    current = fresh_memo(engine).get("day_context")
    if current is not None and current.starts_at <= now < current.ends_at:
        return current  # the common case: two comparisons, no calendar arithmetic
    day = engine.calendar.game_day(now)
    cached = engine.memo.get(("day_context", day))
    if cached is None:
        cached = engine.memo[("day_context", day)] = _build_context(engine, day)
        if len(engine.memo) > 64:
            engine.memo.clear()
            engine.memo["rules"] = engine.rules
    engine.memo["day_context"] = cached
    return cached


def _build_context(engine: Engine, day: date) -> DayContext:
    rules = engine.rules
    expires = engine.calendar.day_start(day + timedelta(days=1)) + timedelta(
        minutes=rules.daily_grace_minutes
    )
    season = rules.battle_pass.season_on(day)
    bonus = rules.login_bonus
    todays = missions.for_day(rules, day)
    freeze = rules.streak_freeze
    # The game days a freeze may stand for, yesterday first: a gap is named by its days.
    bridgeable = range(1, freeze.max_gap_days + 1) if freeze else ()
    # What every event needs, as one short line the scripts read with string patterns
    # (see include/context.lua's parse_context): cheaper than decoding JSON each call.
    context = "|".join(
        [
            str(day.toordinal()),
            day.isoformat(),
            str(int(expires.timestamp())),
            str(rules.security.max_changes_per_second),
            season.season_id if season else "",
            str(rules.battle_pass.xp_per_level) if season else "",
            ";".join(f"{m.mission_id}:{m.event}:{m.target}" for m in todays),
            rate_limits.player_limits_context(rules.security),
            str(freeze.max_held) if freeze else "0",
            ",".join((day - timedelta(days=back)).isoformat() for back in bridgeable),
            _repair_deadlines(engine, day),
        ]
    )
    # What paying needs: decoded only by the calls that pay something.
    rewards = {
        "bonus": {
            "normal": dict(bonus.reward),
            "milestone": dict(bonus.milestone_reward),
            "every": bonus.milestone_every,
        },
        "missions": {m.mission_id: {"xp": m.xp, "reward": dict(m.reward)} for m in todays},
        "levels": {str(level): dict(r) for level, r in rules.battle_pass.level_rewards.items()},
        "caps": {kind: dict(caps) for kind, caps in rules.security.daily_earning_caps.items()},
    }
    return DayContext(
        day=day,
        starts_at=engine.calendar.day_start(day),
        ends_at=engine.calendar.day_start(day + timedelta(days=1)),
        season_id=season.season_id if season else None,
        daily_expires_at=expires,
        context=context,
        rewards_json=json.dumps(rewards, separators=(",", ":")),
    )


def _repair_deadlines(engine: Engine, day: date) -> str:
    """The repair deadline (ms) of a streak lost at the start of yesterday, then of today,
    then the window (ms) (include/progress.lua): one lost earlier is past its window,
    which is at most a day and starts when the last game day that could have continued
    the streak ends (a player's own day, for a player with a time zone); "" when the
    rules have no streak repair."""
    repair = engine.rules.streak_repair
    if repair is None:
        return ""
    window = timedelta(hours=repair.window_hours)
    starts = (engine.calendar.day_start(day - timedelta(days=1)), engine.calendar.day_start(day))
    deadlines = [str(to_ms(start + window)) for start in starts]
    return ",".join([*deadlines, str(int(window.total_seconds() * 1000))])


@dataclass(frozen=True)
class Progress:
    """What one event earned, as include/progress.lua reported it."""

    daily_bonus: dict | None = None
    missions: list[dict] = field(default_factory=list)
    xp: dict | None = None
    level_rewards: list[dict] = field(default_factory=list)
    streak: int = 0
    ads_watched: int | None = None
    ads_limit: int | None = None  # the daily ad cap this ad reward counted against
    violations: list[dict] = field(default_factory=list)
    freezes_used: int = 0  # streak freezes this event used to bridge missed game days
    # for a player with a time zone, or one who left it before that day ended: when the
    # day of their last claim ends there (unix s)
    claim_ends: int | None = None

    @classmethod
    def from_script(cls, raw: dict | None) -> Progress | None:
        if raw is None:
            return None
        if not raw:
            return EMPTY
        if len(raw) == 1 and "streak" in raw:  # nothing happened beyond the event itself
            return cls(streak=int(raw["streak"]))
        xp = raw.get("xp")
        if xp is not None:
            xp = dict(xp, levels_gained=list(xp.get("levels_gained") or []))
        bonus = raw.get("daily_bonus")
        if bonus is not None and not bonus.get("reward"):  # nothing paid: {} or [] in cjson
            bonus = dict(bonus, reward={})
        return cls(
            daily_bonus=bonus,
            missions=_paid(raw.get("missions")),
            xp=xp,
            level_rewards=_paid(raw.get("level_rewards")),
            streak=int(raw.get("streak") or 0),
            ads_watched=raw.get("ads_watched"),
            ads_limit=raw.get("ads_limit"),
            violations=list(raw.get("violations") or []),
            freezes_used=int(raw.get("freezes_used") or 0),
            claim_ends=raw.get("claim_ends"),
        )


def _paid(entries: list[dict] | dict | None) -> list[dict]:
    """Missions or level rewards as reported (cjson writes an empty list as {}), a reward
    that paid nothing as {} (cjson writes an empty table {} or [])."""
    return [
        dict(entry, reward={}) if "reward" in entry and not entry["reward"] else entry
        for entry in (entries or [])
    ]


EMPTY = Progress()
