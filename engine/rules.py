"""Game rules: resources, catalog, limits. Data, not code.

The rules come from a TOML file that is validated once at start-up. Every mistake
raises `RulesError` naming the field at fault (``catalog.steel.price.coins``), so a
bad file stops the service before it serves a request.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from itertools import pairwise
from pathlib import Path
from types import MappingProxyType
from typing import Any

NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


class RulesError(ValueError):
    """The rules file is missing, unreadable or wrong; the message names the field."""


@dataclass(frozen=True)
class CatalogItem:
    item_id: str
    title: str
    price: MappingProxyType  # resource -> amount per unit
    gives: MappingProxyType  # resource -> amount per unit
    max_quantity: int

    def cost(self, quantity: int) -> dict[str, int]:
        return {resource: amount * quantity for resource, amount in self.price.items()}

    def deltas(self, quantity: int) -> dict[str, int]:
        """What buying `quantity` units does to a wallet, per resource."""
        changes: dict[str, int] = {}
        for resource, amount in self.price.items():
            changes[resource] = changes.get(resource, 0) - amount * quantity
        for resource, amount in self.gives.items():
            changes[resource] = changes.get(resource, 0) + amount * quantity
        return {resource: delta for resource, delta in changes.items() if delta}


@dataclass(frozen=True)
class Limits:
    max_balance: int
    max_grant_amount: int


@dataclass(frozen=True)
class LeaderboardRules:
    max_exam_score: int
    max_questions: int
    exam_replay_days: int
    snapshot_size: int
    snapshot_fresh_minutes: int
    keep_weeks: int
    keep_months: int
    keep_years: int

    def keep(self, period_type: str) -> int:
        """How many periods of this type stay queryable after they end."""
        return {"weekly": self.keep_weeks, "monthly": self.keep_months}.get(
            period_type, self.keep_years
        )


MISSION_EVENTS = (
    "solve_questions",
    "complete_exam",
    "perfect_exam",
    "login",
    "watch_ad",
    "purchase",
)


@dataclass(frozen=True)
class LoginBonus:
    reward: MappingProxyType
    milestone_every: int
    milestone_reward: MappingProxyType

    def reward_for(self, streak: int) -> MappingProxyType:
        return self.milestone_reward if streak % self.milestone_every == 0 else self.reward


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
class Season:
    season_id: str
    start: date  # first game day
    end: date  # first game day after the season


@dataclass(frozen=True)
class BattlePass:
    xp_per_level: int
    xp_per_correct_answer: int
    xp_per_exam: int
    level_rewards: MappingProxyType  # level -> resources
    seasons: tuple[Season, ...]

    def season_on(self, day: date) -> Season | None:
        return next((s for s in self.seasons if s.start <= day < s.end), None)

    def season(self, season_id: str) -> Season | None:
        return next((s for s in self.seasons if s.season_id == season_id), None)


RATE_LIMIT = re.compile(r"^[1-9][0-9]{0,6}/(second|minute|hour|day)$")


@dataclass(frozen=True)
class RouteLimits:
    player: str | None
    address: str | None


@dataclass(frozen=True)
class Security:
    rate_limits: MappingProxyType  # route group -> RouteLimits ("default" always present)
    max_changes_per_second: int
    daily_earning_caps: MappingProxyType  # ledger kind -> resource -> amount
    violation_window_minutes: int
    block_after_violations: int
    block_minutes: int
    alert_violations_per_minute: int
    event_retention_days: int

    def limits_for(self, group: str) -> RouteLimits:
        return self.rate_limits.get(group) or self.rate_limits["default"]


@dataclass(frozen=True)
class Rules:
    resources: tuple[str, ...]
    catalog: MappingProxyType  # item id -> CatalogItem
    limits: Limits
    leaderboards: LeaderboardRules
    daily_grace_minutes: int
    login_bonus: LoginBonus
    ads: Ads
    missions_per_day: int
    missions: tuple[Mission, ...]
    battle_pass: BattlePass
    tools: tuple[str, ...]
    security: Security


class _Field:
    """A value in the TOML document together with its dotted path, for error messages."""

    def __init__(self, value: Any, path: str) -> None:
        self.value = value
        self.path = path

    def fail(self, problem: str) -> RulesError:
        return RulesError(f"{self.path or 'rules'}: {problem}")

    def child(self, key: str, default: Any = ...) -> _Field:
        table = self.table()
        path = f"{self.path}.{key}" if self.path else key
        if key not in table:
            if default is ...:
                raise RulesError(f"{path}: is required")
            return _Field(default, path)
        return _Field(table[key], path)

    def table(self) -> dict[str, Any]:
        if not isinstance(self.value, dict):
            raise self.fail("must be a table")
        return self.value

    def only(self, *allowed: str) -> None:
        unknown = sorted(set(self.table()) - set(allowed))
        if unknown:
            path = f"{self.path}.{unknown[0]}" if self.path else unknown[0]
            raise RulesError(f"{path}: unknown field")

    def integer(self, low: int, high: int) -> int:
        if not isinstance(self.value, int) or isinstance(self.value, bool):
            raise self.fail("must be an integer")
        if not low <= self.value <= high:
            raise self.fail(f"must be between {low} and {high}")
        return self.value

    def text(self, max_length: int = 200) -> str:
        if not isinstance(self.value, str) or not 1 <= len(self.value) <= max_length:
            raise self.fail(f"must be a string of 1 to {max_length} characters")
        return self.value

    def name(self) -> str:
        if not isinstance(self.value, str) or not NAME.match(self.value):
            raise self.fail("must be a lowercase name (a-z, 0-9, _; up to 32 characters)")
        return self.value

    def amounts(self, resources: tuple[str, ...], high: int) -> MappingProxyType:
        result = {}
        for resource in self.table():
            amount = self.child(resource)
            if resource not in resources:
                raise amount.fail("is not a resource listed in `resources`")
            result[resource] = amount.integer(1, high)
        if not result:
            raise self.fail("must name at least one resource")
        return MappingProxyType(result)


def parse_rules(document: dict[str, Any]) -> Rules:
    root = _Field(document, "")
    root.only(
        "resources",
        "limits",
        "catalog",
        "leaderboards",
        "daily",
        "login_bonus",
        "ads",
        "missions",
        "battle_pass",
        "tools",
        "security",
    )

    names = root.child("resources")
    if not isinstance(names.value, list) or not names.value:
        raise names.fail("must be a non-empty list of resource names")
    resources = tuple(_Field(v, f"resources[{i}]").name() for i, v in enumerate(names.value))
    if len(set(resources)) != len(resources):
        raise names.fail("lists a resource twice")

    limits_field = root.child("limits")
    limits_field.only("max_balance", "max_grant_amount")
    # 10**14 keeps every amount exact through Lua's doubles and its JSON encoder.
    max_balance = limits_field.child("max_balance").integer(1, 10**14)
    limits = Limits(
        max_balance=max_balance,
        max_grant_amount=limits_field.child("max_grant_amount").integer(1, max_balance),
    )

    catalog = {}
    catalog_field = root.child("catalog")
    for item_id in catalog_field.table():
        item = catalog_field.child(item_id)
        _Field(item_id, item.path).name()
        item.only("title", "price", "gives", "max_quantity")
        max_quantity = item.child("max_quantity").integer(1, 1_000_000)
        price = item.child("price").amounts(resources, limits.max_balance)
        gives = item.child("gives").amounts(resources, limits.max_balance)
        if set(price) & set(gives):
            raise item.child("gives").fail("must not name a resource the price is paid in")
        if max(price.values()) * max_quantity > limits.max_balance:
            raise item.child("max_quantity").fail("times the price exceeds limits.max_balance")
        catalog[item_id] = CatalogItem(
            item_id=item_id,
            title=item.child("title").text(),
            price=price,
            gives=gives,
            max_quantity=max_quantity,
        )
    if not catalog:
        raise catalog_field.fail("must list at least one item")

    reward_limit = limits.max_grant_amount
    daily = root.child("daily")
    daily.only("grace_minutes")
    bonus = root.child("login_bonus")
    bonus.only("reward", "milestone_every", "milestone_reward")
    ads = root.child("ads")
    ads.only("reward", "daily_cap")
    missions_field = root.child("missions")
    missions_field.only("per_day", "pool")
    missions = _missions(missions_field.child("pool"), resources, reward_limit)
    per_day = missions_field.child("per_day").integer(1, len(missions))
    tools = root.child("tools")
    tools.only("names")
    tool_names = tools.child("names")
    if not isinstance(tool_names.value, list) or not tool_names.value:
        raise tool_names.fail("must be a non-empty list of tool names")
    names = tuple(_Field(v, f"tools.names[{i}]").name() for i, v in enumerate(tool_names.value))
    if len(set(names)) != len(names):
        raise tool_names.fail("lists a tool twice")

    return Rules(
        resources=resources,
        catalog=MappingProxyType(catalog),
        limits=limits,
        leaderboards=_leaderboards(root.child("leaderboards")),
        daily_grace_minutes=daily.child("grace_minutes").integer(0, 24 * 60),
        login_bonus=LoginBonus(
            reward=bonus.child("reward").amounts(resources, reward_limit),
            milestone_every=bonus.child("milestone_every").integer(1, 365),
            milestone_reward=bonus.child("milestone_reward").amounts(resources, reward_limit),
        ),
        ads=Ads(
            reward=ads.child("reward").amounts(resources, reward_limit),
            daily_cap=ads.child("daily_cap").integer(1, 1000),
        ),
        missions_per_day=per_day,
        missions=missions,
        battle_pass=_battle_pass(root.child("battle_pass"), resources, reward_limit),
        tools=names,
        security=_security(root.child("security"), resources, reward_limit),
    )


EARNING_KINDS = ("login_bonus", "mission_reward", "level_reward", "ad_reward")


def _security(field: _Field, resources: tuple[str, ...], reward_limit: int) -> Security:
    field.only(
        "rate_limits",
        "max_changes_per_second",
        "daily_earning_caps",
        "violation_window_minutes",
        "block_after_violations",
        "block_minutes",
        "alert_violations_per_minute",
        "event_retention_days",
    )
    limits_field = field.child("rate_limits")
    rate_limits = {}
    for group in limits_field.table():
        entry = limits_field.child(group)
        _Field(group, entry.path).name()
        entry.only("player", "address")
        values = {}
        for scope in ("player", "address"):
            value = entry.child(scope, None)
            if value.value is not None and (
                not isinstance(value.value, str) or not RATE_LIMIT.match(value.value)
            ):
                raise value.fail('must look like "10/minute" (second, minute, hour or day)')
            values[scope] = value.value
        rate_limits[group] = RouteLimits(**values)
    if "default" not in rate_limits:
        raise limits_field.fail("must have a `default` entry")
    caps_field = field.child("daily_earning_caps", {})
    caps = {}
    for kind in caps_field.table():
        entry = caps_field.child(kind)
        if kind not in EARNING_KINDS:
            raise entry.fail(f"must be one of {', '.join(EARNING_KINDS)}")
        caps[kind] = entry.amounts(resources, reward_limit * 1000)
    return Security(
        rate_limits=MappingProxyType(rate_limits),
        max_changes_per_second=field.child("max_changes_per_second").integer(1, 10_000),
        daily_earning_caps=MappingProxyType(caps),
        violation_window_minutes=field.child("violation_window_minutes").integer(1, 7 * 24 * 60),
        block_after_violations=field.child("block_after_violations").integer(1, 10_000),
        block_minutes=field.child("block_minutes").integer(1, 365 * 24 * 60),
        alert_violations_per_minute=field.child("alert_violations_per_minute").integer(1, 10**6),
        event_retention_days=field.child("event_retention_days").integer(1, 3650),
    )


def _missions(pool: _Field, resources: tuple[str, ...], reward_limit: int) -> tuple[Mission, ...]:
    if not isinstance(pool.value, list) or not pool.value:
        raise pool.fail("must list at least one mission")
    missions = []
    for index, raw in enumerate(pool.value):
        mission = _Field(raw, f"missions.pool[{index}]")
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


def _battle_pass(field: _Field, resources: tuple[str, ...], reward_limit: int) -> BattlePass:
    field.only("xp_per_level", "xp_per_correct_answer", "xp_per_exam", "level_rewards", "seasons")
    rewards_field = field.child("level_rewards", {})
    level_rewards = {}
    for level in rewards_field.table():
        entry = rewards_field.child(level)
        if not level.isdigit() or not 2 <= int(level) <= 10_000:
            raise entry.fail("must be a level number from 2 to 10000")
        level_rewards[int(level)] = entry.amounts(resources, reward_limit)
    seasons_field = field.child("seasons")
    if not isinstance(seasons_field.value, list) or not seasons_field.value:
        raise seasons_field.fail("must list at least one season")
    seasons = []
    for index, raw in enumerate(seasons_field.value):
        season = _Field(raw, f"battle_pass.seasons[{index}]")
        season.only("id", "start", "end")
        start, end = season.child("start"), season.child("end")
        for bound in (start, end):
            if not isinstance(bound.value, date) or isinstance(bound.value, datetime):
                raise bound.fail("must be a date (YYYY-MM-DD)")
        if end.value <= start.value:
            raise end.fail("must be after start")
        seasons.append(Season(season.child("id").text(64), start.value, end.value))
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
        seasons=tuple(seasons),
    )


def _leaderboards(field: _Field) -> LeaderboardRules:
    bounds = {
        "max_exam_score": (1, 1_000_000),
        "max_questions": (1, 100_000),
        "exam_replay_days": (1, 400),
        "snapshot_size": (1, 1_000),
        "snapshot_fresh_minutes": (1, 7 * 24 * 60),
        "keep_weeks": (1, 520),
        "keep_months": (1, 120),
        "keep_years": (1, 20),
    }
    field.only(*bounds)
    return LeaderboardRules(
        **{name: field.child(name).integer(*limits) for name, limits in bounds.items()}
    )


def load_rules(path: Path | str) -> Rules:
    """Read and validate a rules file; raises `RulesError` naming the file and field."""
    path = Path(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RulesError(f"{path}: rules file not found") from None
    except tomllib.TOMLDecodeError as error:
        raise RulesError(f"{path}: not valid TOML: {error}") from None
    try:
        return parse_rules(document)
    except RulesError as error:
        raise RulesError(f"{path}: {error}") from None
