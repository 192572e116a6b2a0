"""Questboard's domain: economy, leaderboards, progression. Talks to Redis only.

The top level is the shared core (runtime, connection, replication, clock, calendar,
keys and its keys_* modules, shards, scripts, outcomes, errors, metrics, metrics_folder,
alerts, addresses, db and its db_* tables, index_memo, migrate, overrides); each domain
is a sub-package: rules, economy, boards, progression, security, ops, leagues, webhooks.

Depends on: rules.
"""

from engine.runtime import Engine

__all__ = ["Engine"]
