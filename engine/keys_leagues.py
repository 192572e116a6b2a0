"""League keys: one slot per tier and period for its members, rosters and scores; the
period's tiers and closed marker; the prizes paid at a close; each player's league record.
"""

from __future__ import annotations

from engine.keys_shards import PREFIX, _player

# One slot per tier and period, e.g. {lg:weekly:2026-W48:bronze}: the join places a
# player and writes their score in one script on it.


def _league(period_type: str, period: str, tier: str, part: str) -> str:
    return f"{PREFIX}:{{lg:{period_type}:{period}:{tier}}}:{part}"


def league_members(period_type: str, period: str, tier: str) -> str:
    """Hash: player -> their cohort's number in the tier (1, 2, ...)."""
    return _league(period_type, period, tier, "members")


def league_rosters(period_type: str, period: str, tier: str) -> str:
    """Hash: cohort number -> its members, space-separated in arrival order;
    `scores:<number>` -> their composite scores in the same order (a copy of the scores');
    `last` -> "<number of the last cohort>|<its member count>"; `closing`, set once
    the period's close has begun (no removal changes the cohorts after it); and
    `removed`, the players removed from the tier this period, space-separated."""
    return _league(period_type, period, tier, "rosters")


def league_scores(period_type: str, period: str, tier: str) -> str:
    """Sorted set: player -> composite score (as a board's) of every cohort of the tier."""
    return _league(period_type, period, tier, "scores")


def league_tiers(period_type: str, period: str) -> str:
    """Set: the tiers that have cohorts in this period."""
    return f"{PREFIX}:{{lgindex}}:{period_type}:{period}"


def league_closed(period_type: str, period: str) -> str:
    """String: set when the period's league_close has finished (what it closed, when)."""
    return f"{PREFIX}:{{lgindex}}:{period_type}:{period}:closed"


def payouts_paid(payout: str) -> str:
    """Hash: player -> the transaction that paid their prize of one closed period
    (`payout` names it, e.g. "league:weekly:2026-W48"): engine.leagues.payouts."""
    return f"{PREFIX}:{{payout:{payout}}}:paid"


def payouts_standings(payout: str) -> str:
    """String: the JSON standings a board's prize close ranked at its first run, which
    every later run of it pays and records (engine.boards.prizes)."""
    return f"{PREFIX}:{{payout:{payout}}}:standings"


def payouts_banned(payout: str) -> str:
    """String: the JSON list of players banned when the close of `payout` first ran,
    whom every run of that close skips (engine.leagues.payouts.banned_at_close)."""
    return f"{PREFIX}:{{payout:{payout}}}:banned"


def player_league(player_id: str) -> str:
    """Hash: the player's league: period, tier (of that period), next (the tier the
    period's close gave them)."""
    return _player("league", player_id)
