"""Leaderboard jobs: thin calls into engine.snapshots."""

from __future__ import annotations

from config import Settings
from engine import snapshots
from engine.runtime import build_engine


def leaderboard_snapshot() -> dict:
    """Snapshot every current board (scheduled every 2 hours)."""
    report = snapshots.take_snapshots(build_engine(Settings.from_env()))
    return {"boards": report.boards, "players": report.players}
