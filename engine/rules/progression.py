"""The rules of player progression: login bonus, ads, missions, the battle pass.

Parsed from the rules file's `[login_bonus]`, `[ads]`, `[missions]` and
`[battle_pass]` tables (see engine.rules, which loads the whole file).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property
from itertools import pairwise
from types import MappingProxyType

from engine.rules.fields import Field
from engine.rules.seasons import (
    Season,
    SeasonCalendar,
    SeasonCycle,
    check_dated_id,
    parse_cycle,
)

SEASON_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

MISSION_EVENTS = (
    "solve_questions",
    "complete_exam",
    "perfect_exam",
    "login",
    "watch_ad",
    "purchase",
)

log = logging.getLogger(__name__)

GAP_WARNING_DAYS = 90  # start-up warns of days without a season this far ahead


@dataclass(frozen=True)
class LoginBonus:
    reward: MappingProxyType
    milestone_every: int
    milestone_reward: MappingProxyType

    def reward_for(self, streak: int) -> MappingProxyType:
        return self.milestone_reward if streak % self.milestone_every == 0 else self.reward


FREEZE_RESOURCE = "streak_freeze"  # the wallet resource a streak freeze is held as


@dataclass(frozen=True)
class StreakFreeze:
    """`[streak_freeze]`: the most freezes a wallet holds (the catalog sells up to it)
    and the most missed game days one gap may bridge."""

    max_held: int = 2
    max_gap_days: int = 2


def parse_streak_freeze(field: Field) -> StreakFreeze | None:
    """None when the rules have no `[streak_freeze]` table: no freezes at all."""
    if field.value is None:
        return None
    field.only("max_held", "max_gap_days")
    defaults = StreakFreeze()
    return StreakFreeze(
        max_held=field.child("max_held", defaults.max_held).integer(1, 365),
        max_gap_days=field.child("max_gap_days", defaults.max_gap_days).integer(1, 30),
    )


@dataclass(frozen=True)
class StreakRepair:
    """`[streak_repair]` when enabled: a streak broken is bought back within
    `window_hours` of the moment it was lost (the end of the last game day that could
    still have continued it), once per break, for `base` + `per_day` x the lost
    length of `resource`, at most `max_price`."""

    resource: str
    base: int
    per_day: int
    max_price: int
    window_hours: int = 24

    def price(self, lost: int) -> int:
        return min(self.max_price, self.base + self.per_day * lost)


def parse_streak_repair(
    field: Field, resources: tuple[str, ...], max_balance: int
) -> StreakRepair | None:
    """None when the rules have no `[streak_repair]` table or it is not enabled."""
    if field.value is None:
        return None
    field.only("enabled", "resource", "base", "per_day", "max_price", "window_hours")
    enabled = field.child("enabled", False)
    if not isinstance(enabled.value, bool):
        raise enabled.fail("must be true or false")
    if not enabled.value:
        return None
    resource = field.child("resource")
    if resource.value not in resources:
        raise resource.fail(f"must be one of {', '.join(resources)}")
    base = field.child("base").integer(0, max_balance)
    per_day = field.child("per_day").integer(0, max_balance)
    if base + per_day == 0:
        raise field.child("per_day").fail("must be at least 1 when base is 0 (a repair is paid)")
    max_price = field.child("max_price").integer(max(base, 1), max_balance)
    return StreakRepair(
        resource=resource.value,
        base=base,
        per_day=per_day,
        max_price=max_price,
        # at most a day: a streak lost before yesterday's start is then always past it
        window_hours=field.child("window_hours", 24).integer(1, 24),
    )


@dataclass(frozen=True)
class Ads:
    reward: MappingProxyType
    daily_cap: int


@dataclass(frozen=True)
class Mission:
    mission_id: str
    title: str
    event: str
    target: int
    xp: int
    reward: MappingProxyType


@dataclass(frozen=True)
class BattlePass:
    xp_per_level: int
    xp_per_correct_answer: int
    xp_per_exam: int
    level_rewards: MappingProxyType  # level -> resources
    cycle: SeasonCycle | None  # the recurring seasons (engine.rules.seasons)
    dated_seasons: tuple[Season, ...]  # overrides: sorted by start, never overlapping

    @cached_property
    def calendar(self) -> SeasonCalendar:
        return SeasonCalendar(self.cycle, self.dated_seasons)

    def season_on(self, day: date) -> Season | None:
        """The season of a game day; always one when the rules have a cycle."""
        return self.calendar.season_on(day)

    def season(self, season_id: str) -> Season | None:
        return self.calendar.season(season_id)

    def gaps(self, first_day: date, end: date) -> list[tuple[date, date]]:
        """The spans [from, to) of [first_day, end) without a season."""
        return self.calendar.gaps(first_day, end)


def warn_of_season_gaps(battle_pass: BattlePass, today: date) -> list[tuple[date, date]]:
    """Log a warning for each span of the next 90 game days that no season covers.

    Rules with a season cycle never leave one; rules with dated seasons only run out,
    and then the battle pass stops: a running service should hear of it in advance.
    """
    gaps = battle_pass.gaps(today, today + timedelta(days=GAP_WARNING_DAYS))
    for first_day, end in gaps:
        log.warning(
            "No battle-pass season covers the game days from %s to %s (within the next "
            "%d days): add a season_cycle or dated seasons to the rules.",
            first_day.isoformat(),
            (end - timedelta(days=1)).isoformat(),
            GAP_WARNING_DAYS,
        )
    return gaps


def parse_missions(
    pool: Field, resources: tuple[str, ...], reward_limit: int
) -> tuple[Mission, ...]:
    if not isinstance(pool.value, list) or not pool.value:
        raise pool.fail("must list at least one mission")
    missions = []
    for index, raw in enumerate(pool.value):
        mission = Field(raw, f"missions.pool[{index}]")
        mission.only("id", "title", "event", "target", "xp", "reward")
        event = mission.child("event")
        if event.value not in MISSION_EVENTS:
            raise event.fail(f"must be one of {', '.join(MISSION_EVENTS)}")
        missions.append(
            Mission(
                mission_id=mission.child("id").name(),
                title=mission.child("title").text(),
                event=event.value,
                target=mission.child("target").integer(1, 1_000_000),
                xp=mission.child("xp").integer(0, 1_000_000),
                reward=mission.child("reward").amounts(resources, reward_limit),
            )
        )
    ids = [m.mission_id for m in missions]
    if len(set(ids)) != len(ids):
        raise pool.fail("has two missions with the same id")
    return tuple(missions)


def parse_battle_pass(field: Field, resources: tuple[str, ...], reward_limit: int) -> BattlePass:
    field.only(
        "xp_per_level",
        "xp_per_correct_answer",
        "xp_per_exam",
        "level_rewards",
        "season_cycle",
        "seasons",
    )
    rewards_field = field.child("level_rewards", {})
    level_rewards = {}
    for level in rewards_field.table():
        entry = rewards_field.child(level)
        if not level.isdigit() or not 2 <= int(level) <= 10_000:
            raise entry.fail("must be a level number from 2 to 10000")
        level_rewards[int(level)] = entry.amounts(resources, reward_limit)
    cycle = parse_cycle(field.child("season_cycle", None))
    seasons_field = field.child("seasons", [])
    if not isinstance(seasons_field.value, list):
        raise seasons_field.fail("must be a list of seasons")
    if cycle is None and not seasons_field.value:
        raise field.fail("needs a season_cycle or at least one dated season")
    seasons = []
    for index, raw in enumerate(seasons_field.value):
        season = Field(raw, f"battle_pass.seasons[{index}]")
        season.only("id", "start", "end")
        start, end = season.child("start"), season.child("end")
        for bound in (start, end):
            if not isinstance(bound.value, date) or isinstance(bound.value, datetime):
                raise bound.fail("must be a date (YYYY-MM-DD)")
        if end.value <= start.value:
            raise end.fail("must be after start")
        season_id = season.child("id")
        if not isinstance(season_id.value, str) or not SEASON_ID.fullmatch(season_id.value):
            raise season_id.fail("must be 1-64 of A-Za-z0-9_.- (it is part of Redis keys)")
        seasons.append(Season(season_id.value, start.value, end.value))
        check_dated_id(season_id, seasons[-1])
    seasons.sort(key=lambda s: s.start)
    for earlier, later in pairwise(seasons):
        if later.start < earlier.end:
            raise seasons_field.fail(f"{earlier.season_id} and {later.season_id} overlap")
    if len({s.season_id for s in seasons}) != len(seasons):
        raise seasons_field.fail("has two seasons with the same id")
    return BattlePass(
        xp_per_level=field.child("xp_per_level").integer(1, 10_000_000),
        xp_per_correct_answer=field.child("xp_per_correct_answer").integer(0, 100_000),
        xp_per_exam=field.child("xp_per_exam").integer(0, 100_000),
        level_rewards=MappingProxyType(dict(sorted(level_rewards.items()))),
        cycle=cycle,
        dated_seasons=tuple(seasons),
    )
