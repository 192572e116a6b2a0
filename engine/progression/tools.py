"""The tool of the day: rotated at the daily reset, never the same tool two days running.

Without an override, day d gets tools[d % n] (d the date's ordinal), which changes
every day when there is more than one tool. An admin may override a day's tool; the
next day then skips ahead if the rotation would repeat it, to a tool that is not the
next day's by rotation either (with three tools or more), so the rotation goes on from
the day after as if there had been no override. A day's tool depends only on the
stored tools of the day and the two before it (an override, or what the daily reset
fixed): the same whether the reset ran, ran late or not at all.
"""

from __future__ import annotations

from datetime import date, timedelta

from engine import keys
from engine import overrides as settings
from engine.errors import InvalidInputError
from engine.runtime import Engine


def _rotation(engine: Engine, day: date) -> str:
    tools = engine.rules.tools
    return tools[day.toordinal() % len(tools)]


def _after(engine: Engine, day: date, yesterday: str) -> str:
    """Day's tool by rotation, or, when that is `yesterday`'s, the next one that is
    neither yesterday's nor tomorrow's by rotation (any other with two tools)."""
    tools = engine.rules.tools
    tool = _rotation(engine, day)
    if tool != yesterday or len(tools) == 1:
        return tool
    tomorrow = _rotation(engine, day + timedelta(days=1))
    later = [tools[(tools.index(tool) + step) % len(tools)] for step in range(1, len(tools))]
    return next((t for t in later if t not in (yesterday, tomorrow)), later[0])


def tool_of_the_day(engine: Engine, day: date) -> str:
    """The stored tool of `day`, else its rotation after yesterday's tool, itself the
    stored one or its rotation after the day before's (one round trip): a day whose
    tool the daily reset did not fix is worked out as the reset would have fixed it."""
    pipe = engine.redis.pipeline(transaction=False)
    for back in (0, 1, 2):
        pipe.get(keys.tool_of_day((day - timedelta(days=back)).isoformat()))
    stored, yesterday, before = (v.decode() if v is not None else None for v in pipe.execute())
    if stored is not None:
        return stored
    if yesterday is None:
        two_days_ago = before if before is not None else _rotation(engine, day - timedelta(days=2))
        yesterday = _after(engine, day - timedelta(days=1), two_days_ago)
    return _after(engine, day, yesterday)


def set_tool(engine: Engine, day: date, tool: str, ttl_seconds: int) -> str:
    """Override (or, from daily_reset, fix) a day's tool.

    Raises:
        InvalidInputError: not a tool of the rules, or the previous day's tool.
    """
    tools = engine.rules.tools
    if tool not in tools:
        raise InvalidInputError(
            f"{tool!r} is not a tool.", {"tool": [f"Must be one of {', '.join(tools)}."]}
        )
    if len(tools) > 1 and tool == tool_of_the_day(engine, day - timedelta(days=1)):
        raise InvalidInputError(
            f"{tool} was yesterday's tool.", {"tool": ["Must differ from yesterday's tool."]}
        )
    engine.redis.set(keys.tool_of_day(day.isoformat()), tool, ex=ttl_seconds)
    settings.put(engine, f"tool:{day.isoformat()}", tool)
    return tool
