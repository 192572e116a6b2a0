"""The rebuild part of the jobs benchmark: SQL holds many players, Redis is flushed,
rebuild.rebuild() restores it, and a few reads check what came back."""

from __future__ import annotations

import argparse
import time
from bisect import bisect_right
from collections.abc import Iterator

from bench.report import table
from engine import boards, db, keys
from engine.boards import Board, leaderboards
from engine.clock import to_ms
from engine.economy import ledger, wallet
from engine.ops import rebuild
from engine.runtime import Engine

SQL_BATCH = 10_000  # rows per multi-row INSERT
UNLOADED = {"id", "rank_current", "rank_previous"}  # columns the loaded rows leave out


def player(n: int) -> str:
    """Player n's id in the jobs benchmark."""
    return f"p{n:07d}"


def total_score(n: int) -> int:
    return (n * 7919) % 50_000


def generated_rows(engine: Engine, players: int, ledger_rows: int) -> dict[str, Iterator[tuple]]:
    """Per table, the rows (columns in table order, without UNLOADED) of `players` players."""
    now = engine.clock.now()
    now_ms, today = to_ms(now), engine.calendar.game_day(now)
    week = boards.current_period(engine, "weekly").name
    season = engine.rules.battle_pass.season_on(today)  # the season cycle always has one
    base_ms = now_ms - 3_600_000  # an hour ago: inside the idempotency window
    per_level = engine.rules.battle_pass.xp_per_level

    def resources() -> Iterator[tuple]:
        for n in range(players):
            yield player(n), "coins", 100 + n % 900, now_ms
            yield player(n), "logs", n % 7, now_ms

    def ledger() -> Iterator[tuple]:
        for r in range(ledger_rows):
            n, k = r % players, r // players  # the player's k-th entry, ids increasing
            after = f'{{"coins":{100 + n % 900},"logs":{n % 7}}}'
            yield (
                *(player(n), f"{base_ms + k}-0", "grant", '{"coins":100}', after, "bench"),
                *(f"grant/r{r}", f"{r:064x}", base_ms + k),
            )

    def aggregates() -> Iterator[tuple]:
        for n in range(players):
            yield player(n), "weekly", week, "global", total_score(n), 3, 30, 20, n % 3600, now_ms

    def passes() -> Iterator[tuple]:
        for n in range(players):
            xp = n % 9_000
            yield player(n), season.season_id, xp, xp // per_level + 1, 1, now_ms

    def streaks() -> Iterator[tuple]:
        for n in range(players):
            yield player(n), today.toordinal(), n % 30 + 1, 30, now_ms

    return {
        "user_resources": resources(),
        "user_resource_logs": ledger(),
        "quiz_leaderboard_aggregates": aggregates(),
        "user_battle_pass": passes(),
        "user_streaks": streaks(),
    }


def load_sql(engine: Engine, players: int, ledger_rows: int) -> list[list[object]]:
    """Multi-row INSERTs of SQL_BATCH rows into each (emptied) table; a report row each."""
    report = []
    for name, rows in generated_rows(engine, players, ledger_rows).items():
        table_ = db.metadata.tables[name]
        columns = [column.name for column in table_.columns if column.name not in UNLOADED]
        with engine.sql.begin() as conn:
            conn.execute(table_.delete())
        started, count, batch = time.perf_counter(), 0, []
        for row in rows:
            batch.append(dict(zip(columns, row, strict=True)))
            if len(batch) == SQL_BATCH:
                with engine.sql.begin() as conn:
                    count += db.insert_ignore(conn, table_, batch)
                batch = []
        with engine.sql.begin() as conn:
            count += db.insert_ignore(conn, table_, batch)
        seconds = time.perf_counter() - started
        report.append([f"`{name}`", f"{count:,}", f"{seconds:.1f}", f"{count / seconds:,.0f}"])
        print(f"loaded {name}: {count:,} rows in {seconds:.1f} s", flush=True)
    return report


def time_rebuild(engine: Engine) -> tuple[list[list[object]], float]:
    """rebuild.rebuild() with a progress callback: rows and seconds per step."""
    marks: dict[str, tuple[float, int]] = {}  # step -> (time of its last report, rows done)
    started = time.perf_counter()

    def progress(step: str, done: int, total: int) -> None:
        marks[step] = (time.perf_counter(), done)

    counts = rebuild.rebuild(engine, progress)
    seconds = time.perf_counter() - started
    rows, previous = [], started
    for step, (last, done) in marks.items():
        took = last - previous
        rows.append([step, f"{done:,}", f"{took:.1f}", f"{done / max(took, 1e-6):,.0f}"])
        previous = last
    print(f"rebuild: {counts} in {seconds:.1f} s", flush=True)
    return rows, seconds


def spot_checks(engine: Engine, players: int) -> list[str]:
    """A few reads after the rebuild; what is wrong (nothing: the data is back)."""
    problems = []
    board = Board("weekly", boards.current_period(engine, "weekly"), None)
    ordered = sorted(total_score(n) for n in range(players))
    for n in (0, players // 2, players - 1):
        player_id = player(n)
        balances = wallet.balances(engine, player_id)
        if (balances["coins"], balances["logs"]) != (100 + n % 900, n % 7):
            problems.append(f"wallet of {player_id}: {balances}")
        rank = players - bisect_right(ordered, total_score(n)) + 1
        standing = leaderboards.around(engine, board, player_id)
        if (standing.entry.rank, standing.total_players) != (rank, players):
            problems.append(f"rank of {player_id}: {standing.entry.rank}, not {rank}")
        if not ledger.history(engine, player_id, limit=1):  # from SQL after a rebuild
            problems.append(f"ledger of {player_id} is empty")
        if not engine.redis.exists(keys.idempotency(player_id, "grant", f"r{n}")):
            problems.append(f"idempotency record grant/r{n} of {player_id} is missing")
    return problems


def rebuild_section(args: argparse.Namespace, engine: Engine) -> list[str]:
    engine.redis.flushdb()
    loaded = load_sql(engine, args.rebuild_players, args.rebuild_ledger_rows)
    engine.redis.flushdb()
    steps, seconds = time_rebuild(engine)
    problems = spot_checks(engine, args.rebuild_players)
    checked = "all correct, met" if not problems else "; ".join(problems) + ", NOT met"
    return [
        "### rebuild: Redis from SQL",
        "",
        f"MariaDB holds {args.rebuild_players:,} players, loaded by `db.insert_ignore` in "
        f"multi-row INSERTs of {SQL_BATCH:,} rows: two balances each, "
        f"{args.rebuild_ledger_rows:,} ledger rows from the last hour (each brings back its "
        "idempotency record), one current weekly global aggregate, one battle pass of the "
        "current season and one streak each.",
        "",
        table(["table", "rows", "load (s)", "rows/s"], loaded),
        "",
        "Then the Redis database is flushed and `rebuild.rebuild()` runs; a step ends at its "
        "last progress report (no exam attempts, so that step reports nothing and its query "
        "counts in `settings`).",
        "",
        table(["step", "rows", "seconds", "rows/s"], steps),
        "",
        f"Total: {seconds:.1f} s; {engine.redis.dbsize():,} keys in the database after it.",
        "",
        f"- rebuild at {args.rebuild_players:,} players: {seconds:.1f} s; spot reads after it "
        "(3 wallets, their ranks via `leaderboards.around`, ledgers, idempotency records): "
        f"{checked}.",
    ]
