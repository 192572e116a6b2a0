"""A closed league period's cohorts as its close wrote them to SQL (`league_results`).

Redis keeps a period's cohorts as long as its weekly boards; a cohort read that finds
nothing there (Redis lost and rebuilt from SQL, which restores no cohort) reads the
close's rows instead: each member's score and the tier the close gave them, from which
their zone follows, in the order of the standings Redis held. A period not closed has
no rows.

`cohort_with_prizes` is what a cohort's page shows: its standings and, once its period
is closed, what the close gave each member (the close's SQL rows, written once every
prize is paid or refused, before it marks the period closed; none while it is paying):
the prize paid and the zone, from the tier given. A prize the wallet refused (a balance
at the rules' maximum; the close writes the refusal with the row) was not paid: the
member is shown with no prize paid and the prize refused, with the refusal's code, as
the ledger has no entry for it. Redis
would still put a member in the zone of their final place, but the close skips a
player banned at the close (no promotion, no relegation, no prize: a row marked
`skipped`, at their place in the standings) and ranks the others without them; such a
member is still listed, as a ban leaves the standings, with no zone (None), whether
the cohort is read from Redis or from SQL.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

from sqlalchemy import select

from engine import db
from engine.calendar import Period
from engine.leagues.cohorts import Cohort, CohortMember, cohort, cohort_id, parse_cohort_id
from engine.runtime import Engine


@dataclass(frozen=True)
class PrizeRefused:
    """A prize the close did not pay: the wallet refused it."""

    prize: dict[str, int]  # what the rules gave the member's rank
    code: str  # the wallet's refusal, e.g. balance_limit_exceeded


@dataclass(frozen=True)
class MemberPrize:
    """What a closed period's close gave one member."""

    paid: dict[str, int] | None = None  # credited to the wallet; None: none, or refused
    refused: PrizeRefused | None = None


Prizes = dict[str, MemberPrize]  # player -> their prize; a member the close skipped has none


def cohort_with_prizes(
    engine: Engine, period_name: str, cohort_text: str
) -> tuple[Cohort, Prizes | None]:
    """Cohort `cohort_text` of a period (engine.leagues.cohort) and, once the period's
    close has written its results, each member's prize; None before. After the close,
    each member's zone is the close's (None for a member it skipped).

    Raises:
        NotFoundError: no such cohort in a period that is kept.
        PeriodExpiredError: the period is no longer kept (with its boards).
        InvalidInputError: a bad period or cohort id, or a period not started yet.
    """
    found = cohort(engine, period_name, cohort_text)
    period = engine.calendar.parse(found.period_type, found.period)
    if engine.calendar.end(period) > engine.clock.now():
        return found, None
    if not engine.database_url:
        return found, None
    tier, number = parse_cohort_id(engine.rules.leagues, cohort_text)
    table = db.league_results
    query = select(
        table.c.player_id, table.c.prize, table.c.prize_refused, table.c.next_tier, table.c.skipped
    ).where(
        table.c.period_type == period.period_type,
        table.c.period == period.name,
        table.c.tier == tier,
        table.c.cohort == number,
    )
    with engine.sql.connect() as conn:
        rows = conn.execute(query).all()
    if not rows:
        return found, None
    tiers = engine.rules.leagues.tiers
    zones = {row.player_id: _zone(tiers, tier, row.next_tier) for row in rows if not row.skipped}
    members = [
        dataclasses.replace(member, zone=zones.get(member.player_id)) for member in found.members
    ]
    prizes = {row.player_id: _prize_of(row.prize, row.prize_refused) for row in rows}
    return dataclasses.replace(found, members=members), prizes


def _prize_of(prize: str | None, refused: str | None) -> MemberPrize:
    """A results row's prize (JSON amounts, or None) as what the member was paid."""
    amounts = json.loads(prize) if prize else None
    if amounts is None:
        return MemberPrize()
    if refused:
        return MemberPrize(refused=PrizeRefused(amounts, refused))
    return MemberPrize(paid=amounts)


def closed_cohort(engine: Engine, period: Period, tier: str, number: int) -> Cohort | None:
    """Cohort `number` of the tier as the period's close recorded it; None if SQL has
    no such cohort (or no SQL is configured)."""
    if not engine.database_url:
        return None
    table = db.league_results
    query = (
        select(
            table.c.player_id,
            table.c.position,
            table.c.score,
            table.c.next_tier,
            table.c.skipped,
        )
        .where(
            table.c.period_type == period.period_type,
            table.c.period == period.name,
            table.c.tier == tier,
            table.c.cohort == number,
        )
        .order_by(table.c.position)
    )
    with engine.sql.connect() as conn:
        rows = conn.execute(query).all()
    if not rows:
        return None
    rules = engine.rules.leagues
    members = []
    rank, last_score = 0, None
    for position, row in enumerate(_full_order(rows), start=1):
        if row.score != last_score:
            rank, last_score = position, row.score
        zone = None if row.skipped else _zone(rules.tiers, tier, row.next_tier)
        members.append(CohortMember(row.player_id, rank, position, row.score, zone))
    return Cohort(
        cohort_id(tier, number), period.period_type, period.name, tier, rules.cohort_size, members
    )


def _full_order(rows: list) -> list:
    """The rows (by position) in the cohort's full standings, as Redis held them: a
    skipped member's row keeps its place in them, the others', numbered by the close
    without the skipped, fill the places left in their order. Ranks follow from the
    scores in that order, as engine.leagues.cohorts.ranked gives them."""
    skipped = {row.position: row for row in rows if row.skipped}
    ranked = iter(row for row in rows if not row.skipped)
    return [
        skipped[place] if place in skipped else next(ranked) for place in range(1, len(rows) + 1)
    ]


def _zone(tiers: tuple[str, ...], tier: str, next_tier: str) -> str:
    """The zone the close put a member in, from the tier it gave them."""
    if tier not in tiers or next_tier not in tiers:
        return "stay"
    step = tiers.index(next_tier) - tiers.index(tier)
    return "promotion" if step > 0 else "relegation" if step < 0 else "stay"
