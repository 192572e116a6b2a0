"""Daily missions: which of the pool are active on a game day.

The set is a pure function of the day (a shuffle seeded with the date), so every
process agrees on it without reading Redis, and it is defined even if the daily
rotation job did not run. The job writes it to Redis for readers outside the engine.
"""

from __future__ import annotations

import json
import random
from datetime import date

from engine import keys
from engine.rules import Rules
from engine.rules.progression import Mission
from engine.runtime import Engine


def for_day(rules: Rules, day: date) -> list[Mission]:
    pool = list(rules.missions)
    chosen = random.Random(f"missions:{day.isoformat()}").sample(pool, rules.missions_per_day)
    order = {mission.mission_id: n for n, mission in enumerate(pool)}
    return sorted(chosen, key=lambda mission: order[mission.mission_id])


def publish(engine: Engine, day: date, ttl_seconds: int) -> list[str]:
    """Write the day's mission ids to Redis (idempotent); returns them."""
    ids = [mission.mission_id for mission in for_day(engine.rules, day)]
    engine.redis.set(keys.missions_of_day(day.isoformat()), json.dumps(ids), ex=ttl_seconds)
    return ids
