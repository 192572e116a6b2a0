"""Game rules: resources, catalog, limits. Data, not code.

The rules come from a TOML file that is validated once at start-up. Every mistake
raises `RulesError` naming the field at fault (``catalog.steel.price.coins``), so a
bad file stops the service before it serves a request.

The package also holds `progression` (login bonus, ads, missions, battle pass rules),
`seasons` (the season calendar) and `fields` (the validating reader).

Depends on: nothing.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from engine.rules.board_prizes import BoardPrizes, parse_board_prizes
from engine.rules.fields import Field, RulesError
from engine.rules.leagues import LeagueRules, parse_leagues
from engine.rules.progression import (
    FREEZE_RESOURCE,
    Ads,
    BattlePass,
    LoginBonus,
    Mission,
    StreakFreeze,
    StreakRepair,
    parse_battle_pass,
    parse_missions,
    parse_streak_freeze,
    parse_streak_repair,
)


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
    snapshot_size: int
    snapshot_fresh_minutes: int
    keep_weeks: int
    keep_months: int
    keep_years: int
    prizes: BoardPrizes = field(default_factory=BoardPrizes)  # [leaderboards.prizes]

    def keep(self, period_type: str) -> int:
        """How many periods of this type stay queryable after they end."""
        return {"weekly": self.keep_weeks, "monthly": self.keep_months}.get(
            period_type, self.keep_years
        )


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
    leagues: LeagueRules
    streak_freeze: StreakFreeze | None = None  # None: the rules sell no freezes
    streak_repair: StreakRepair | None = None  # None: a broken streak is not bought back

    @property
    def wallet_resources(self) -> tuple[str, ...]:
        """What a wallet may hold: the resources, and streak freezes when sold."""
        if self.streak_freeze is None or FREEZE_RESOURCE in self.resources:
            return self.resources
        return (*self.resources, FREEZE_RESOURCE)


def parse_rules(document: dict[str, Any]) -> Rules:
    root = Field(document, "")
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
        "leagues",
        "streak_freeze",
        "streak_repair",
    )

    names = root.child("resources")
    if not isinstance(names.value, list) or not names.value:
        raise names.fail("must be a non-empty list of resource names")
    resources = tuple(Field(v, f"resources[{i}]").name() for i, v in enumerate(names.value))
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

    streak_freeze = parse_streak_freeze(root.child("streak_freeze", None))
    # A freeze is held in the wallet like a resource, shown once a player holds one.
    sold = (*resources, FREEZE_RESOURCE) if streak_freeze else resources  # wallet_resources
    catalog = {}
    catalog_field = root.child("catalog")
    for item_id in catalog_field.table():
        item = catalog_field.child(item_id)
        Field(item_id, item.path).name()
        item.only("title", "price", "gives", "max_quantity")
        max_quantity = item.child("max_quantity").integer(1, 1_000_000)
        price = item.child("price").amounts(resources, limits.max_balance)
        gives = item.child("gives").amounts(sold, limits.max_balance)
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
    missions = parse_missions(missions_field.child("pool"), resources, reward_limit)
    per_day = missions_field.child("per_day").integer(1, len(missions))
    tools = root.child("tools")
    tools.only("names")
    tool_names = tools.child("names")
    if not isinstance(tool_names.value, list) or not tool_names.value:
        raise tool_names.fail("must be a non-empty list of tool names")
    names = tuple(Field(v, f"tools.names[{i}]").name() for i, v in enumerate(tool_names.value))
    if len(set(names)) != len(names):
        raise tool_names.fail("lists a tool twice")

    return Rules(
        resources=resources,
        catalog=MappingProxyType(catalog),
        limits=limits,
        leaderboards=_leaderboards(root.child("leaderboards"), resources, reward_limit),
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
        battle_pass=parse_battle_pass(root.child("battle_pass"), resources, reward_limit),
        tools=names,
        security=_security(root.child("security"), resources, reward_limit),
        leagues=parse_leagues(root.child("leagues", None), resources, reward_limit),
        streak_freeze=streak_freeze,
        streak_repair=parse_streak_repair(
            root.child("streak_repair", None), resources, limits.max_balance
        ),
    )


EARNING_KINDS = ("login_bonus", "mission_reward", "level_reward", "ad_reward")


def _security(field: Field, resources: tuple[str, ...], reward_limit: int) -> Security:
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
        Field(group, entry.path).name()
        entry.only("player", "address")
        values = {}
        for scope in ("player", "address"):
            value = entry.child(scope, None)
            if value.value is not None and (
                not isinstance(value.value, str) or not RATE_LIMIT.fullmatch(value.value)
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


def _leaderboards(field: Field, resources: tuple[str, ...], reward_limit: int) -> LeaderboardRules:
    bounds = {
        "max_exam_score": (1, 1_000_000),
        "max_questions": (1, 100_000),
        "snapshot_size": (1, 1_000),
        "snapshot_fresh_minutes": (1, 7 * 24 * 60),
        "keep_weeks": (1, 520),
        "keep_months": (1, 120),
        "keep_years": (1, 20),
    }
    field.only(*bounds, "prizes")
    return LeaderboardRules(
        **{name: field.child(name).integer(*limits) for name, limits in bounds.items()},
        prizes=parse_board_prizes(field.child("prizes", None), resources, reward_limit),
    )


def load_rules(path: Path | str) -> Rules:
    """Read and validate a rules file; raises `RulesError` naming the file and field."""
    path = Path(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RulesError(f"{path}: rules file not found") from None
    except OSError as error:  # a folder, a file it may not read
        raise RulesError(f"{path}: cannot read the rules file: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise RulesError(f"{path}: not valid TOML: not UTF-8 ({error.reason})") from None
    except tomllib.TOMLDecodeError as error:
        raise RulesError(f"{path}: not valid TOML: {error}") from None
    try:
        return parse_rules(document)
    except RulesError as error:
        raise RulesError(f"{path}: {error}") from None
