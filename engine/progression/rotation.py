"""The daily reset: publish the new game day's missions and fix its tool of the day.

Nothing else needs resetting (daily counters expire by TTL), and both values are
already defined by the day itself, so a missed or repeated run changes nothing a
player sees; it makes the day's set visible in Redis for other services.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from engine import keys
from engine.progression import missions, tools
from engine.runtime import Engine

KEEP_SECONDS = 3 * 86_400


@dataclass(frozen=True)
class Rotation:
    game_day: date
    tool: str
    missions: list[str]


def rotate(engine: Engine) -> Rotation:
    day = engine.calendar.game_day(engine.clock.now())
    mission_ids = missions.publish(engine, day, KEEP_SECONDS)
    tool = tools.tool_of_the_day(engine, day)
    engine.redis.set(keys.tool_of_day(day.isoformat()), tool, ex=KEEP_SECONDS, nx=True)
    return Rotation(game_day=day, tool=tools.tool_of_the_day(engine, day), missions=mission_ids)
