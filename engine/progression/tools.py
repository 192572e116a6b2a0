"""The tool of the day: rotated at the daily reset, never the same tool two days running.

Without an override, day d gets tools[d % n] (d the date's ordinal), which changes
every day when there is more than one tool. An admin may override a day's tool; the
next day then skips ahead if the rotation would repeat it.
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


def tool_of_the_day(engine: Engine, day: date) -> str:
    override = engine.redis.get(keys.tool_of_day(day.isoformat()))
    if override is not None:
        return override.decode()
    tools = engine.rules.tools
    yesterday = engine.redis.get(keys.tool_of_day((day - timedelta(days=1)).isoformat()))
    tool = _rotation(engine, day)
    if yesterday is not None and yesterday.decode() == tool and len(tools) > 1:
        tool = tools[(tools.index(tool) + 1) % len(tools)]
    return tool


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
