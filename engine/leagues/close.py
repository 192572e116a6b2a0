"""The end of a league period: final standings, next tiers, prizes, the SQL record.

`close` closes one period once; the `league_close` job (daily after the reset) runs it,
through `close_ended`, for every ended period not closed yet and still kept, however
many a stopped job left (a period past the rules' [leaderboards] retention has lost its
cohorts). It reads every cohort of every tier of the period from Redis and ranks each
once (engine.leagues.final), then, in steps that are each safe to repeat:

1. records each member's next tier in their league record, as "<period>|<tier>" (a
   join of the next period reads it only if it names the period the record holds, so
   a write that lands after the player joined the next period changes nothing);
2. pays the prizes through engine.leagues.payouts (exactly once per player and period);
3. once every prize is paid or refused, writes every member's result to SQL
   (`league_results`, inserted by its key, in transactions that each end with a
   cohort, so a cohort's page shows all its rows or none), a prize the wallet refused
   (a balance at the rules' maximum: nothing credited, not tried again) marked on its
   row (`prize_refused`) in the same insert; then marks the refusals again on rows an
   earlier run may have written without them (an UPDATE, rare and repeatable);
4. marks the period closed, once 1-3 have all finished.

The rows are what a closed cohort's page reads its prizes from (engine.leagues.results),
so they are written only once the payouts are known: a row written beside the payments
would show a prize as paid before it was, or one the wallet refused as paid until the
refusal was marked. A run stopped before every prize is paid (its lock lost) writes no
row; the next run pays the rest and writes them all.

Steps 1 and 2 touch nothing of each other's, so they run at the same time (1 in a thread
of its own): the Python that packs commands and the Redis server each work while the
other waits (docs/benchmarks.md has the close of a million players). A run
killed anywhere is completed by the next run, which repeats the steps: nothing is
written twice and no prize is paid twice. A player banned when the close first runs
(engine.leagues.payouts.banned_at_close: the same players for every run of it) is
ranked as if removed: no prize, and the others move up; they keep their tier, neither
promoted nor relegated (a ban withholds what the period would give; it does not judge
the play), and start the next period there. Their result rows are marked `skipped`
and keep their place in the full standings (position, rank), with their own tier as
the next: a cohort read back from SQL lists them where Redis did, and a rebuild gives
them back the tier the close left them. A player taken out of their cohort before the
close (engine.boards.moderation, banned or not) is neither ranked nor paid, and keeps
the tier they played the period in, as a player who played it: a row of no cohort
(cohort, position and rank 0), marked `skipped`, which no cohort's page reads and from
which a rebuild gives them that tier back. The cohorts stay in Redis as long as the
period's weekly boards (rules [leaderboards]), queryable through the API.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter

from sqlalchemy import update

from engine import db, keys
from engine.calendar import Period, add_periods
from engine.clock import to_ms
from engine.leagues import payouts
from engine.leagues.cohorts import expires_at
from engine.leagues.final import (  # noqa: F401  (CLOSING re-exported: the rosters' mark)
    CLOSING,
    final_standings,
)
from engine.runtime import Engine

WRITE_CHUNK = 50_000  # rows a SQL transaction, about: each ends with a cohort
RECORDS_A_CALL = 500  # league records one record_league_tiers.lua call writes
RECORD_CALLS = 40  # record_league_tiers.lua calls a round trip (20,000 records)
REFUSALS_A_STATEMENT = 1_000  # players one UPDATE of refused prizes names


@dataclass(frozen=True)
class CloseReport:
    period: str
    closed: bool  # False: it was closed before (nothing done) or has not ended
    players: int = 0
    cohorts: int = 0
    prizes: int = 0


def period_to_close(engine: Engine, now: datetime) -> Period:
    """The league period that ended last before `now`."""
    rules = engine.rules.leagues
    return add_periods(engine.calendar.period_of(rules.period, now), -1)


def kept_ended(engine: Engine, now: datetime) -> list[Period]:
    """Every league period that has ended by `now` and is still kept (its cohorts live
    as long as its boards, rules [leaderboards]), oldest first: at most the retention
    plus one."""
    periods = []
    period = period_to_close(engine, now)
    while expires_at(engine, period) > now:
        periods.append(period)
        period = add_periods(period, -1)
    return periods[::-1]


def periods_to_close(engine: Engine, now: datetime) -> list[Period]:
    """The periods of `kept_ended` whose close has not finished (no closed mark; the
    mark lives as long as the period is kept), oldest first: one round trip."""
    periods = kept_ended(engine, now)
    pipe = engine.redis.pipeline(transaction=False)
    for period in periods:
        pipe.exists(keys.league_closed(period.period_type, period.name))
    done = pipe.execute() if periods else []
    return [period for period, closed in zip(periods, done, strict=True) if not closed]


def close_ended(engine: Engine, keep_going: Callable[[], bool] = lambda: True) -> list[CloseReport]:
    """The job: close every period that ended and is not closed yet, however long the
    job was stopped (an outage, a stopped scheduler), back to the oldest still kept,
    oldest first (a player's next tier in one feeds the next's standings). Returns a
    report for each period it tried (none when everything ended is closed)."""
    now = engine.clock.now()
    reports = []
    for period in periods_to_close(engine, now):
        if not keep_going():
            break
        reports.append(close(engine, period.name, keep_going, now))
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
    if engine.calendar.end(period) > now or expires_at(engine, period) <= now:
        # not ended, or expired with its boards (rules [leaderboards] keep fewer periods
        # than the job looks back over): its cohorts and closed mark are gone
        return CloseReport(period.name, closed=False)
    done_key = keys.league_closed(period.period_type, period.name)
    if engine.redis.exists(done_key):
        return CloseReport(period.name, closed=False)

    payout = payouts.league_payout(period.period_type, period.name)
    banned = payouts.banned_at_close(engine, payout, to_ms(now))
    final = final_standings(engine, period, to_ms(now), banned)
    with ThreadPoolExecutor(max_workers=1) as beside:  # steps 1 and 2 at once; see the module
        tiers = beside.submit(record_next_tiers, engine, period, final.next_tiers)
        paid = payouts.pay(engine, payout, final.prizes, keep_going)
        tiers.result()
    players = final.players
    if len(paid) < len(final.prizes):  # stopped: the next run pays the rest, then writes
        return CloseReport(period.name, closed=False, players=players, cohorts=final.cohorts)
    refused = payouts.refusals(paid)
    write_results(engine, final.rows, refused)
    record_refusals(engine, period, refused)
    expiry = int(expires_at(engine, period).timestamp()) - int(now.timestamp())
    engine.redis.set(done_key, json.dumps({"closed_ms": to_ms(now), "players": players}), ex=expiry)
    return CloseReport(period.name, True, players, final.cohorts, len(final.prizes))


# The columns of the standings' rows: all but prize_refused, known once the prizes are paid.
COLUMNS = [column.name for column in db.league_results.columns if column.name != "prize_refused"]
WRITTEN = [*COLUMNS, "prize_refused"]  # what step 3 inserts
_cohort_of = itemgetter(COLUMNS.index("tier"), COLUMNS.index("cohort"))  # a row's cohort
SQLITE_INSERT = (
    f"INSERT OR IGNORE INTO league_results ({', '.join(WRITTEN)}) "
    f"VALUES ({', '.join('?' * len(WRITTEN))})"
)


def write_results(engine: Engine, rows: list[tuple], refused: dict[str, str]) -> None:
    """Step 3: every member's result into `league_results`, by its key, in transactions
    of about WRITE_CHUNK rows that each end with a cohort (`_cohort_ends`), each row
    with the code of its prize's refusal (`refused`: player -> code) or NULL. A closed
    cohort's page reads its rows from SQL: a cohort split over two transactions would
    show, between them, its members still to come as ones the close skipped (no zone)."""
    start = 0
    for end in _cohort_ends(rows, WRITE_CHUNK):
        chunk = [(*row, refused.get(row[2])) for row in rows[start:end]]
        start = end
        with engine.sql.begin() as conn:
            if conn.dialect.name == "sqlite":  # the driver's executemany: a third the time
                conn.exec_driver_sql(SQLITE_INSERT, chunk)
            else:
                rows_ = [dict(zip(WRITTEN, row, strict=True)) for row in chunk]
                db.insert_ignore(conn, db.league_results, rows_)


def _cohort_ends(rows: list[tuple], size: int) -> list[int]:
    """Where each transaction of `rows` (cohort by cohort, as final_standings lists
    them) ends: at the first cohort's end at or past `size` rows since the last end."""
    ends = []
    last = 0
    while last < len(rows):
        end = min(last + size, len(rows))
        cohort = _cohort_of(rows[end - 1])
        while end < len(rows) and _cohort_of(rows[end]) == cohort:
            end += 1
        ends.append(end)
        last = end
    return ends


def record_refusals(engine: Engine, period: Period, refused: dict[str, str]) -> None:
    """Step 3's second half: each prize the wallet refused (player -> the refusal's code)
    on its member's result row, `prize_refused`, for a row an earlier run wrote without
    it (the insert keeps a row it finds); the row keeps the prize the rules gave. Rare (a
    wallet at its limit): one UPDATE a code and REFUSALS_A_STATEMENT players; a rerun
    writes the same."""
    table = db.league_results
    by_code: dict[str, list[str]] = {}
    for player, code in refused.items():
        by_code.setdefault(code, []).append(player)
    if not by_code:
        return
    with engine.sql.begin() as conn:
        for code, players in by_code.items():
            for start in range(0, len(players), REFUSALS_A_STATEMENT):
                conn.execute(
                    update(table)
                    .where(
                        table.c.period_type == period.period_type,
                        table.c.period == period.name,
                        table.c.player_id.in_(players[start : start + REFUSALS_A_STATEMENT]),
                    )
                    .values(prize_refused=code)
                )


def record_next_tiers(
    engine: Engine, period: Period, next_tiers: dict[int, tuple[list[str], list[str]]]
) -> None:
    """Step 1: each member's next tier, "<period>|<tier>", in their league record: one
    record_league_tiers.lua call per player shard and RECORDS_A_CALL players,
    RECORD_CALLS calls a round trip."""
    calls = [
        (records[start : start + RECORDS_A_CALL], tiers[start : start + RECORDS_A_CALL])
        for records, tiers in next_tiers.values()
        for start in range(0, len(records), RECORDS_A_CALL)
    ]
    for start in range(0, len(calls), RECORD_CALLS):
        batch = engine.scripts.batch()
        for records, tiers in calls[start : start + RECORD_CALLS]:
            batch.call("record_league_tiers", records, [period.name, *tiers])
        batch.execute()
