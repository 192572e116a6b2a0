"""The daily reset job: thin call into engine.rotation."""

from __future__ import annotations

from config import Settings
from engine import rotation
from engine.runtime import build_engine


def daily_reset() -> dict:
    """Rotate the tool of the day and the missions (scheduled at DAY_RESET_HOUR)."""
    done = rotation.rotate(build_engine(Settings.from_env()))
    return {"game_day": done.game_day.isoformat(), "tool": done.tool, "missions": done.missions}
