"""Validated access to a TOML document: every mistake names its field.

`Field` wraps a value with its dotted path (``catalog.steel.price.coins``), so a
check that fails raises `RulesError` saying exactly where. Used by the rules loaders.
"""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Any

NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


class RulesError(ValueError):
    """The rules file is missing, unreadable or wrong; the message names the field."""


class Field:
    """A value in the TOML document together with its dotted path, for error messages."""

    def __init__(self, value: Any, path: str) -> None:
        self.value = value
        self.path = path

    def fail(self, problem: str) -> RulesError:
        return RulesError(f"{self.path or 'rules'}: {problem}")

    def child(self, key: str, default: Any = ...) -> Field:
        table = self.table()
        path = f"{self.path}.{key}" if self.path else key
        if key not in table:
            if default is ...:
                raise RulesError(f"{path}: is required")
            return Field(default, path)
        return Field(table[key], path)

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
        if not isinstance(self.value, str) or not NAME.fullmatch(self.value):
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
