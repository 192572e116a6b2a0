"""The end of a league period: final standings, next tiers, prizes, the SQL record.

`close` closes one period once; the `league_close` job (daily after the reset) runs it,
through `close_ended`, for each of the last few ended periods not closed yet. It reads
every cohort of every tier of the period from Redis, then, in steps that are each safe
to repeat:

1. writes every member's result to SQL (`league_results`, inserted by its key);
2. records each member's next tier in their league record, as "<period>|<tier>" (a
   join of the next period reads it only if it names the period the record holds, so
   a write that lands after the player joined the next period changes nothing);
3. pays the prizes through engine.leagues.payouts (exactly once per player and period);
4. marks the period closed.

A run killed anywhere is completed by the next run, which repeats the steps: nothing
is written twice and no prize is paid twice. The cohorts stay in Redis as long as the
period's weekly boards (rules [leaderboards]), queryable through the API.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from engine import db, keys
from engine.calendar import Period, add_periods
from engine.clock import to_ms
from engine.leagues import payouts
from engine.leagues.cohorts import Cohort, expires_at, slot_keys, standings
from engine.runtime import Engine

READ_CHUNK = 100_000  # scores read a command
WRITE_CHUNK = 10_000  # rows a SQL statement, records a round trip
RECORDS_A_CALL = 500  # league records one record_league_tiers.lua call writes


@dataclass(frozen=True)
class CloseReport:
    period: str
    closed: bool  # False: it was closed before (nothing done) or has not ended
    players: int = 0
    cohorts: int = 0
    prizes: int = 0


CATCH_UP = 4  # ended periods the job looks back over: a job down for weeks still closes them


def period_to_close(engine: Engine, now: datetime) -> Period:
    """The league period that ended last before `now`."""
    rules = engine.rules.leagues
    return add_periods(engine.calendar.period_of(rules.period, now), -1)


def close_ended(engine: Engine, keep_going: Callable[[], bool] = lambda: True) -> list[CloseReport]:
    """The job: close every period of the last CATCH_UP that ended and is not closed,
    oldest first (a player's next tier in one feeds the next's standings)."""
    now = engine.clock.now()
    last = period_to_close(engine, now)
    reports = []
    for back in range(CATCH_UP - 1, -1, -1):
        if not keep_going():
            break
        reports.append(close(engine, add_periods(last, -back).name, keep_going, now))
    return reports


def close(
    engine: Engine,
    period_name: str | None = None,
    keep_going: Callable[[], bool] = lambda: True,
    now: datetime | None = None,
) -> CloseReport:
    """Close `period_name` (default: the last ended period) once; see the module."""
    rules = engine.rules.leagues
    now = now or engine.clock.now()
    if period_name is None:
        period = period_to_close(engine, now)
    else:
        period = engine.calendar.parse(rules.period, period_name)
    if engine.calendar.end(period) > now:
        return CloseReport(period.name, closed=False)
    done_key = keys.league_closed(period.period_type, period.name)
    if engine.redis.exists(done_key):
        return CloseReport(period.name, closed=False)

    cohorts = list(read_cohorts(engine, period))
    players = sum(len(cohort.members) for cohort in cohorts)
    write_results(engine, period, cohorts, to_ms(now))
    record_next_tiers(engine, period, cohorts)
    prizes = [
        payouts.Prize(
            member.player_id,
            prize,
            f"league {period.period_type} {period.name} {cohort.cohort_id} rank {member.rank}",
        )
        for cohort in cohorts
        for member in cohort.members
        if (prize := rules.prize_for(cohort.tier, member.rank))
    ]
    payout = f"league:{period.period_type}:{period.name}"
    paid = payouts.pay(engine, payout, prizes, keep_going)
    if len(paid) < len(prizes):  # stopped: the next run pays the rest, then marks it
        return CloseReport(period.name, closed=False, players=players, cohorts=len(cohorts))
    expiry = int(expires_at(engine, period).timestamp()) - int(now.timestamp())
    engine.redis.set(done_key, json.dumps({"closed_ms": to_ms(now), "players": players}), ex=expiry)
    return CloseReport(period.name, True, players, len(cohorts), len(prizes))


def read_cohorts(engine: Engine, period: Period) -> Iterator[Cohort]:
    """Every cohort of the period, tier by tier, with its final standings."""
    rules = engine.rules.leagues
    tiers = engine.redis.smembers(keys.league_tiers(period.period_type, period.name))
    for tier in sorted((t.decode() for t in tiers), key=_tier_order(rules.tiers)):
        _, rosters_key, scores_key = slot_keys(period.period_type, period.name, tier)
        composites: dict[bytes, int] = {}
        start = 0
        while True:
            part = engine.redis.zrange(
                scores_key, start, start + READ_CHUNK - 1, withscores=True, score_cast_func=int
            )
            composites.update(part)
            if len(part) < READ_CHUNK:
                break
            start += READ_CHUNK
        for number, roster in engine.redis.hscan_iter(rosters_key, count=10_000):
            if number == b"last":
                continue
            rows = [(p.decode(), composites.get(p, 0)) for p in roster.split()]
            yield standings(rules, period, tier, int(number), rows)


def _tier_order(tiers: tuple[str, ...]) -> Callable[[str], int]:
    return lambda tier: tiers.index(tier) if tier in tiers else len(tiers)


COLUMNS = [column.name for column in db.league_results.columns]
SQLITE_INSERT = (
    f"INSERT OR IGNORE INTO league_results ({', '.join(COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(COLUMNS))})"
)


def write_results(engine: Engine, period: Period, cohorts: list[Cohort], closed_ms: int) -> None:
    """Step 1: every member's result into `league_results`, by its key."""
    rules = engine.rules.leagues
    rows = (
        (
            period.period_type,
            period.name,
            member.player_id,
            cohort.tier,
            int(cohort.cohort_id.rsplit("-", 1)[1]),
            member.position,
            member.rank,
            member.score,
            rules.tier_after(cohort.tier, member.zone),
            json.dumps(prize) if (prize := rules.prize_for(cohort.tier, member.rank)) else None,
            closed_ms,
        )
        for cohort in cohorts
        for member in cohort.members
    )
    for chunk in _chunks(rows, WRITE_CHUNK):
        with engine.sql.begin() as conn:
            if conn.dialect.name == "sqlite":  # the driver's executemany: a third the time
                conn.exec_driver_sql(SQLITE_INSERT, chunk)
            else:
                rows_ = [dict(zip(COLUMNS, row, strict=True)) for row in chunk]
                db.insert_ignore(conn, db.league_results, rows_)


def record_next_tiers(engine: Engine, period: Period, cohorts: list[Cohort]) -> None:
    """Step 2: each member's next tier, "<period>|<tier>", in their league record: one
    record_league_tiers.lua call per player shard and RECORDS_A_CALL players, sent
    WRITE_CHUNK players a round trip."""
    rules = engine.rules.leagues
    by_shard: dict[int, list[tuple[str, str]]] = {}
    for cohort in cohorts:
        for member in cohort.members:
            tier = rules.tier_after(cohort.tier, member.zone)
            by_shard.setdefault(keys.shard_of(member.player_id), []).append(
                (keys.player_league(member.player_id), tier)
            )
    calls = [
        entries[start : start + RECORDS_A_CALL]
        for entries in by_shard.values()
        for start in range(0, len(entries), RECORDS_A_CALL)
    ]
    for chunk in _chunks(calls, max(1, WRITE_CHUNK // RECORDS_A_CALL)):
        batch = engine.scripts.batch()
        for entries in chunk:
            batch.call(
                "record_league_tiers",
                [record for record, _ in entries],
                [period.name, *(tier for _, tier in entries)],
            )
        batch.execute()


def _chunks(items, size: int) -> Iterator[list]:
    chunk: list = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
