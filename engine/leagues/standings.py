"""A league cohort's standings: its members in order, their ranks and zones.

The data types a cohort read returns, and how a cohort is ranked from its
(player, composite) rows: the boards' tie rule (higher totals first; equal totals share
a rank, and whoever reached the total first is listed first), the zones of the rules
(engine.rules.leagues) counted among the members the close would rank, a member it
would skip (banned) zoned None. engine.leagues.cohorts reads cohorts through it and
engine.leagues.close ranks the final standings with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.calendar import Period
from engine.rules.leagues import LeagueRules

# The composite multiplier of the boards (engine.boards.MULTIPLIER; a test checks they
# agree): a cohort's scores rank as a board's.
MULTIPLIER = 1 << 24


@dataclass(frozen=True)
class CohortMember:
    player_id: str
    rank: int  # competition rank by score (1, 2, 2, 4)
    position: int  # place in the standings' order (ties: who reached the score first)
    score: int
    zone: str | None  # "promotion", "relegation" or "stay"; None: skipped by the close


@dataclass(frozen=True)
class Cohort:
    cohort_id: str  # "<tier>-<number>"
    period_type: str
    period: str
    tier: str
    size: int  # the most members a cohort takes
    members: list[CohortMember]

    @property
    def promotion_zone(self) -> int:
        return sum(member.zone == "promotion" for member in self.members)

    @property
    def relegation_zone(self) -> int:
        return sum(member.zone == "relegation" for member in self.members)


def cohort_id(tier: str, number: int) -> str:
    return f"{tier}-{number}"


def cohort_of(
    rules: LeagueRules,
    period: Period,
    tier: str,
    reply: list,
    skipped: frozenset[str] = frozenset(),
) -> Cohort | None:
    """read_cohort.lua's reply as the cohort's standings; None for an empty reply."""
    if not reply:
        return None
    rows = [
        (player_id.decode(), int(float(composite)))
        for player_id, composite in zip(reply[1::2], reply[2::2], strict=True)
    ]
    return standings(rules, period, tier, int(reply[0]), rows, skipped)


def standings(
    rules: LeagueRules,
    period: Period,
    tier: str,
    number: int,
    rows: list[tuple[str, int]],
    skipped: frozenset[str] = frozenset(),
) -> Cohort:
    """A cohort's standings from its (player, composite) rows; the `skipped` members
    (whom the close would skip) keep their places with no zone, and the others are
    zoned as a cohort without them."""
    kept = [row for row in rows if row[0] not in skipped]
    zones = {  # by place and rank among the members not skipped, as the close ranks them
        player: rules.zone(tier, place, len(kept), rank=rank, score=score)
        for player, place, rank, score in ranked(kept)
    }
    members = [
        CohortMember(player, rank, position, score, zones.get(player))
        for player, position, rank, score in ranked(rows)
    ]
    return Cohort(
        cohort_id(tier, number), period.period_type, period.name, tier, rules.cohort_size, members
    )


def ranked(rows: list[tuple[str, int]]) -> list[tuple[str, int, int, int]]:
    """(player, position, rank, score) in the standings' order, from (player, composite)
    rows: higher composites first (equal totals: who reached it first), then by player
    id; equal scores share the rank of the first of them (1, 2, 2, 4)."""
    out: list[tuple[str, int, int, int]] = []
    rank, last_score = 0, None
    for position, (player, composite) in enumerate(
        sorted(rows, key=lambda row: (-row[1], row[0])), start=1
    ):
        score = composite // MULTIPLIER
        if score != last_score:
            rank, last_score = position, score
        out.append((player, position, rank, score))
    return out
