"""Questboard's domain: economy, leaderboards, progression. Talks to Redis only."""

from engine.runtime import Engine

__all__ = ["Engine"]
