"""Readers of the API's JSON fields, checked: the building blocks of every decoder.

Each reader returns a field of a parsed body as the type the client expects (a text,
an integer that is not a bool, a list of such integers, amounts, an ISO date or time,
a list decoded item by item). A body without the field, or with another type, raises
`UnexpectedAnswer`: the server and this client disagree, which retrying does not fix.
`decode` and `decode_boards` read with these, as `f.text(body, "player_id")`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

from questboard_client.errors import QuestboardError

T = TypeVar("T")
Json = dict[str, Any]


class UnexpectedAnswer(QuestboardError):
    """A success whose body does not have the shape this client knows."""

    code = "unexpected_answer"


def field(body: Json, name: str, kind: type[T]) -> T:
    value = body.get(name) if isinstance(body, dict) else None
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise UnexpectedAnswer(f"The answer's {name!r} is not a {kind.__name__}: {value!r}.")
    return value


def optional(body: Json, name: str, kind: type[T]) -> T | None:
    present = isinstance(body, dict) and body.get(name) is not None
    return field(body, name, kind) if present else None


def text(body: Json, name: str) -> str:
    return field(body, name, str)


def integer(body: Json, name: str) -> int:
    return field(body, name, int)


def amounts(body: Json, name: str) -> dict[str, int]:
    found = field(body, name, dict)
    for resource, amount in found.items():
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise UnexpectedAnswer(
                f"The answer's {name}[{resource!r}] is not an amount: {amount!r}."
            )
    return dict(found)


def integers(body: Json, name: str) -> tuple[int, ...]:
    found = field(body, name, list)
    for value in found:
        if not isinstance(value, int) or isinstance(value, bool):
            raise UnexpectedAnswer(f"The answer's {name!r} holds {value!r}, not an integer.")
    return tuple(found)


def parsed(name: str, value: str, parse: Callable[[str], T]) -> T:
    try:
        return parse(value)
    except ValueError:
        raise UnexpectedAnswer(f"The answer's {name!r} is not a date or time: {value!r}.") from None


def time(body: Json, name: str) -> datetime:
    return parsed(name, text(body, name), datetime.fromisoformat)


def optional_time(body: Json, name: str) -> datetime | None:
    value = optional(body, name, str)
    return None if value is None else parsed(name, value, datetime.fromisoformat)


def day(body: Json, name: str) -> date:
    return parsed(name, text(body, name), date.fromisoformat)


def many(body: Json, name: str, decode: Callable[[Json], T]) -> tuple[T, ...]:
    return tuple(decode(item) for item in field(body, name, list))
