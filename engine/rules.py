"""Game rules: resources, catalog, limits. Data, not code.

The rules come from a TOML file that is validated once at start-up. Every mistake
raises `RulesError` naming the field at fault (``catalog.steel.price.coins``), so a
bad file stops the service before it serves a request.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Rules:
    resources: tuple[str, ...]
    catalog: MappingProxyType  # item id -> CatalogItem
    limits: Limits
    leaderboards: LeaderboardRules


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
    root.only("resources", "limits", "catalog", "leaderboards")

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

    return Rules(
        resources=resources,
        catalog=MappingProxyType(catalog),
        limits=limits,
        leaderboards=_leaderboards(root.child("leaderboards")),
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
