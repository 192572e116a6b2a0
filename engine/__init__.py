"""Questboard's domain: economy, leaderboards, progression. Talks to Redis only.

The top level is the shared core (runtime, clock, calendar, keys, scripts, errors,
metrics, alerts, addresses, db, migrate, overrides); each domain is a sub-package:
rules, economy, boards, progression, security, ops.

Depends on: rules.
"""

from engine.runtime import Engine

__all__ = ["Engine"]
