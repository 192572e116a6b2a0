"""A league period's final standings, as its close ranks them (engine.leagues.close).

Every cohort of every tier of the period is read from Redis (READ_COHORTS cohorts a
read_cohort.lua call, READ_CALLS calls a round trip) and ranked once, as
engine.leagues.standings ranks a cohort: each member's `league_results` row (in
engine.leagues.close.COLUMNS order), next tier and prize. Reading marks each tier's
rosters `closing` first, so no join (lua/join_league.lua) or removal
(lua/remove_cohort_member.lua) changes the cohorts, their count, or the players removed
from them, between this read and a later run of the same close.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from engine import keys
from engine.calendar import Period
from engine.leagues import payouts
from engine.leagues.cohorts import expires_at, ranked, slot_keys
from engine.rules.leagues import LeagueRules
from engine.runtime import Engine

READ_COHORTS = 100  # cohorts one read_cohort.lua call returns
READ_CALLS = 20  # read_cohort.lua calls a round trip (about 60,000 members)
CLOSING = "closing"  # the rosters' field that says the close has begun
REMOVED = "removed"  # the rosters' field of the players removed (lua/remove_cohort_member.lua)


@dataclass
class FinalStandings:
    """What a close takes from the period's final standings, computed in one pass."""

    rows: list[tuple]  # league_results rows, in COLUMNS order
    next_tiers: dict[int, tuple[list[str], list[str]]]  # shard -> (league records, tiers)
    prizes: list[payouts.Prize]
    cohorts: int = 0
    players: int = 0  # the members ranked (the rows but those of members skipped)


def final_standings(
    engine: Engine, period: Period, closed_ms: int, banned: frozenset[str] = frozenset()
) -> FinalStandings:
    """Every cohort of the period, tier by tier, read READ_COHORTS a read_cohort.lua
    call, ranked as engine.leagues.cohorts ranks a cohort: each member's result row,
    next tier and prize. A `banned` member is ranked as if removed (no prize, the
    others move up; a row marked skipped at their place) and keeps their tier; a player
    removed from the tier's cohorts before the close keeps theirs too (_add_removed)."""
    rules = engine.rules.leagues
    outcomes = _Outcomes(rules)
    final = FinalStandings([], {}, [])
    # Every tier the rules list, and any other the index names (a tier the rules dropped
    # during the period): a tier with no cohorts costs a few commands, and an index lost
    # alone hides no tier the rules list.
    index = engine.redis.smembers(keys.league_tiers(period.period_type, period.name))
    listed = {tier.decode() for tier in index} | set(rules.tiers)
    tiers = sorted(listed, key=_tier_order(rules.tiers))
    # The close has begun: each tier is marked closing before its cohorts are counted,
    # so a join (lua/join_league.lua) or a removal (lua/remove_cohort_member.lua) that
    # lands from then on writes nothing, and the cohorts, their count and the players
    # removed from them stay as this run and every later one reads them. A tier with no
    # cohorts gets its rosters with the mark alone, expiring with the period (NX: an
    # existing key keeps the expiry its first join gave it).
    ttl = int(expires_at(engine, period).timestamp() - engine.clock.now().timestamp())
    pipe = engine.redis.pipeline(transaction=False)
    for tier in tiers:
        rosters = keys.league_rosters(period.period_type, period.name, tier)
        pipe.hset(rosters, CLOSING, 1)
        pipe.expire(rosters, max(ttl, 1), nx=True)
        pipe.hget(rosters, "last")
        pipe.hget(rosters, REMOVED)
    replies = pipe.execute()
    lasts = replies[2::4]
    removed = dict(zip(tiers, replies[3::4], strict=True))
    a_round_trip = READ_COHORTS * READ_CALLS
    for tier, last in zip(tiers, lasts, strict=True):
        last_number = int(last.partition(b"|")[0]) if last else 0
        slot = slot_keys(period.period_type, period.name, tier)
        for start in range(1, last_number + 1, a_round_trip):
            batch = engine.scripts.batch()
            end = min(start + a_round_trip, last_number + 1)
            for first in range(start, end, READ_COHORTS):
                numbers = range(first, min(first + READ_COHORTS, end))
                batch.call("read_cohort", slot, ["cohorts", *numbers])
            for reply in batch.execute():
                _add_cohorts(outcomes, period, tier, reply, closed_ms, final, banned)
    _add_removed(period, removed, closed_ms, final)
    return final


def _add_removed(
    period: Period, removed: dict[str, bytes | None], closed_ms: int, final: FinalStandings
) -> None:
    """The players taken out of a cohort of the period (tier -> its rosters' `removed`)
    who did not join one again: neither ranked nor paid, they keep the tier they played
    the period in, as a player who played it (the live path reads their league record
    so: engine.leagues.cohorts.tiers_for finds them in no cohort and keeps their tier).
    Each gets a result row of no cohort (cohort, position and rank 0, score 0, marked
    skipped, their tier as the next), which no cohort's page reads and from which a
    rebuild gives them the same tier back, and that tier as their record's next."""
    ranked_ = {row[2] for row in final.rows}
    for tier, players in removed.items():
        for player in dict.fromkeys((players or b"").decode().split()):
            if player in ranked_:  # joined again after their removal: ranked as any
                continue
            ranked_.add(player)
            row = _row(period, player, tier, 0, 0, 0, 0)
            final.rows.append((*row, tier, None, closed_ms, True))
            records, next_tiers = final.next_tiers.setdefault(keys.shard_of(player), ([], []))
            records.append(keys.player_league(player))
            next_tiers.append(tier)


def _add_cohorts(
    outcomes: _Outcomes,
    period: Period,
    tier: str,
    reply: list,
    closed_ms: int,
    final: FinalStandings,
    banned: frozenset[str] = frozenset(),
) -> None:
    """Add the cohorts of one read_cohort.lua "cohorts" reply to `final`."""
    at = 0
    while at < len(reply):
        number, count = int(reply[at]), int(reply[at + 1])
        flat = reply[at + 2 : at + 2 + 2 * count]
        at += 2 + 2 * count
        rows = [
            (player.decode(), int(float(composite)))
            for player, composite in zip(flat[0::2], flat[1::2], strict=True)
        ]
        if banned and any(player in banned for player, _ in rows):
            for player, position, rank, score in ranked(rows):
                if player in banned:  # stays in `tier`: neither promoted nor relegated
                    row = _row(period, player, tier, number, position, rank, score)
                    final.rows.append((*row, tier, None, closed_ms, True))
                    records, next_tiers = final.next_tiers.setdefault(
                        keys.shard_of(player), ([], [])
                    )
                    records.append(keys.player_league(player))
                    next_tiers.append(tier)
            rows = [row for row in rows if row[0] not in banned]
            count = len(rows)
        for player, position, rank, score in ranked(rows):
            next_tier = outcomes.next_tier(tier, position, count, rank, score)
            amounts, prize = outcomes.prize(tier, rank, score)
            final.rows.append(
                (
                    *_row(period, player, tier, number, position, rank, score),
                    next_tier,
                    prize,
                    closed_ms,
                    False,
                )
            )
            final.players += 1
            records, next_tiers = final.next_tiers.setdefault(keys.shard_of(player), ([], []))
            records.append(keys.player_league(player))
            next_tiers.append(next_tier)
            if amounts:
                reason = f"league {period.period_type} {period.name} {tier}-{number} rank {rank}"
                final.prizes.append(payouts.Prize(player, amounts, reason))
        final.cohorts += 1


def _row(
    period: Period, player: str, tier: str, number: int, position: int, rank: int, score: int
) -> tuple:
    """A results row's columns up to `score`, in COLUMNS order."""
    return (period.period_type, period.name, player, tier, number, position, rank, score)


class _Outcomes:
    """The rules' next tiers and prizes, each worked out once per cohort size, place,
    rank and score (the rules look only at whether a rank is first and a score is 0)."""

    def __init__(self, rules: LeagueRules) -> None:
        self.rules = rules
        self._next: dict[tuple[str, int, int, bool, bool], str] = {}
        self._prizes: dict[tuple[str, int, bool], tuple[dict[str, int], str | None]] = {}

    def next_tier(self, tier: str, position: int, members: int, rank: int, score: int) -> str:
        """The next tier of the `position`-th of a cohort of `members` (LeagueRules.zone)."""
        first, scored = rank == 1, score > 0
        found = self._next.get((tier, members, position, first, scored))
        if found is None:
            found = self.rules.next_tier(
                tier, position, members, rank=1 if first else 2, score=int(scored)
            )
            self._next[tier, members, position, first, scored] = found
        return found

    def prize(self, tier: str, rank: int, score: int) -> tuple[dict[str, int], str | None]:
        """The prize of `rank` in `tier` for `score`, and its JSON for the results row
        (None: none; a member who scored nothing has none)."""
        scored = score > 0
        found = self._prizes.get((tier, rank, scored))
        if found is None:
            amounts = self.rules.prize_for(tier, rank, int(scored))
            found = (amounts, json.dumps(amounts) if amounts else None)
            self._prizes[tier, rank, scored] = found
        return found


def _tier_order(tiers: tuple[str, ...]) -> Callable[[str], int]:
    return lambda tier: tiers.index(tier) if tier in tiers else len(tiers)
