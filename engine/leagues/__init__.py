"""Leagues: each period, small cohorts of players of one tier, promotion and relegation.

`cohorts` places players (on their first scored exam of the period, from the exam path)
and reads a cohort's standings (ranked and zoned by `standings`); `close` ends a period
(next tiers, prizes, SQL) from the final standings `final` ranks; `payouts` pays a
closed period's prizes exactly once, for any caller; `results` reads a closed cohort
back from the close's SQL rows once Redis no longer holds it. The rules are `engine.rules.leagues`.

Depends on: core, rules, security, economy.
"""

from engine.leagues.cohorts import (
    Cohort,
    CohortMember,
    Joining,
    PlayerLeague,
    cohort,
    join,
    player_league,
)

__all__ = [
    "Cohort",
    "CohortMember",
    "Joining",
    "PlayerLeague",
    "cohort",
    "join",
    "player_league",
]
