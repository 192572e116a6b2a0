"""Background jobs at scale: persist into MariaDB and SQLite, daily reset, rebuild at 1M players.

    make bench-jobs   # or smaller: .venv/bin/python -m bench.jobs --ledger-rows 40000 \
        --reset-players 100000 --rebuild-players 100000 --rebuild-ledger-rows 100000

Uses BENCH_REDIS_URL (default: a database leased with bench.redis_lease) and flushes that database;
BENCH_DATABASE_URL (default mysql+pymysql://root@127.0.0.1:3306/questboard_bench_jobs)
names a MariaDB database the run creates, migrates and drops. SQLite runs on a file in
a temporary directory, deleted at the end. The engine runs on the real clock.

- persist:     apply_transaction.lua, in pipelines, fills the shard outboxes with ledger
               entries (admin grants); persistence.persist() drains them into SQL.
- daily_reset: rotation.rotate() with 0, then 100k, then 1M players' wallets and daily
               hashes in Redis.
- rebuild:     the SQL tables hold 1M players (balances, ledger, weekly aggregates,
               battle pass, streaks); Redis is flushed and rebuild.rebuild() restores it.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import redis
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

import config
from bench import redis_lease
from bench.jobs_rebuild import player, rebuild_section
from bench.report import VERDICT, table, write_section
from engine import db, keys, migrate
from engine.clock import SystemClock, to_ms
from engine.economy.idempotency import IdempotentRequest
from engine.ops import persistence
from engine.progression import rotation
from engine.rules import load_rules
from engine.runtime import Engine

PIPELINE = 1_000  # script calls or HSETs per Redis pipeline
PERSIST_TARGET = 20_000  # ledger rows per second into MariaDB
FLAT_LIMIT = 1.5  # daily_reset with the most players may take this times its time with none
GRANTS = ({"coins": 100}, {"coins": 40, "logs": 3}, {"steel": 2})
PERSIST_COLUMNS = ["database", "fill (s)", "fill calls/s", "ledger rows", "player states written"]
PERSIST_COLUMNS += ["persist (s)", "ledger rows/s"]
MARIADB, SQLITE = "MariaDB 10.11 (PyMySQL)", "SQLite (file)"
PROFILED = {  # label -> (function, file name suffix, counted only when called from)
    "read the outboxes (XAUTOCLAIM + XREADGROUP)": ("_read", "persistence_outbox.py", None),
    "decode entries into rows": ("_add", "persistence_outbox.py", None),
    "read touched players' state (one pipeline a batch)": ("execute", "client.py", "_write"),
    "... HGETALL queued (wallet, streak)": ("hgetall", "core.py", "_write"),
    "... HMGET queued (battle pass)": ("hmget", "core.py", "_write"),
    "ledger `INSERT IGNORE`": ("insert_ignore", "db.py", None),
    "state upserts (`db.upsert`, 5 tables)": ("upsert", "db.py", None),
    "... rows formatted into SQL by PyMySQL (`_mogrify`)": ("_mogrify", "cursors.py", None),
    "... waiting for MariaDB's answers": ("_read_query_result", "connections.py", None),
    "acknowledge (XACK + XDEL)": ("_acknowledge", "persistence_outbox.py", None),
    "persist, in all": ("persist", "persistence.py", None),
}


def make_engine(client: redis.Redis, database_url: str) -> Engine:
    rules = load_rules(config.DEFAULT_RULES_FILE)
    return Engine(redis=client, rules=rules, clock=SystemClock(), database_url=database_url)


def recreate_database(url: str, create: bool = True) -> None:
    parsed = make_url(url)
    server = create_engine(parsed.set(database=""))
    with server.begin() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS `{parsed.database}`"))
        if create:
            conn.execute(text(f"CREATE DATABASE `{parsed.database}` CHARACTER SET utf8mb4"))
    server.dispose()


# persist --------------------------------------------------------------------------


def fill_outboxes(engine: Engine, players: int, rows: int, tag: str) -> float:
    """`rows` admin grants through apply_transaction.lua, as transactions.apply builds them."""
    started = time.perf_counter()
    now_ms = to_ms(engine.clock.now())
    limits = [engine.idempotency_ttl_seconds, engine.rules.limits.max_balance]
    pipe = engine.redis.pipeline(transaction=False)
    for n in range(rows):
        player_id, deltas = player(n % players), GRANTS[n % len(GRANTS)]
        request = IdempotentRequest.of("grant", f"{tag}-{n}", {"resources": deltas, "reason": tag})
        args: list[object] = [player_id, "grant", tag, now_ms, request.fingerprint, *limits]
        args += [request.reference, engine.ledger_keep_entries]
        for resource, delta in deltas.items():
            args += [resource, delta]
        player_keys = [keys.wallet(player_id), keys.ledger(player_id)]
        player_keys += [keys.player_outbox(player_id), request.redis_key(player_id)]
        engine.scripts.apply_transaction(keys=player_keys, args=args, client=pipe)
        if len(pipe) >= PIPELINE:
            pipe.execute()
    pipe.execute()
    return time.perf_counter() - started


def ledger_count(engine: Engine) -> int:
    with engine.sql.connect() as conn:
        return conn.execute(select(func.count()).select_from(db.user_resource_logs)).scalar_one()


def persist_run(engine: Engine, players: int, rows: int, tag: str) -> tuple[float, float, int, int]:
    """From an empty Redis, fill the outboxes, then persist: fill s, persist s, rows, states."""
    engine.redis.flushdb()
    fill = fill_outboxes(engine, players, rows, tag)
    before = ledger_count(engine)
    report = persistence.persist(engine)
    written = ledger_count(engine) - before
    print(f"{tag}: fill {fill:.1f} s, persist {report.seconds:.1f} s, {written:,} rows", flush=True)
    return fill, report.seconds, written, report.players


def profile_persist(engine: Engine) -> tuple[list[list[object]], str]:
    """cProfile one persist run: calls and seconds per part, the top functions by own time."""
    profiler = cProfile.Profile()
    profiler.enable()
    persistence.persist(engine)
    profiler.disable()
    stats: dict = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    found: dict[str, list[float]] = {label: [0, 0.0] for label in PROFILED}
    for (path, _, name), (_, calls, _, cumulative, callers) in stats.items():
        for label, (wanted, suffix, caller) in PROFILED.items():
            if name != wanted or not path.endswith(suffix):
                continue
            if caller is None:
                found[label][0] += calls
                found[label][1] += cumulative
            for (_, _, who), (_, by_caller, _, seconds) in callers.items():
                if who == caller:
                    found[label][0] += by_caller
                    found[label][1] += seconds
    total = found["persist, in all"][1] or 1.0
    rows = [
        [label, f"{int(calls):,}", f"{seconds:.2f}", f"{seconds / total:.0%}"]
        for label, (calls, seconds) in found.items()
    ]
    own = sorted(stats.items(), key=lambda item: item[1][2], reverse=True)[:6]
    top = ", ".join(f"`{Path(p).name}:{name}` {t[2]:.2f} s" for (p, _, name), t in own)
    return rows, top


# daily_reset ----------------------------------------------------------------------


def add_daily_state(engine: Engine, first: int, last: int) -> None:
    """Players first..last-1 get a wallet and today's daily hash."""
    day = engine.calendar.game_day(engine.clock.now()).isoformat()
    now_ms = to_ms(engine.clock.now())
    pipe = engine.redis.pipeline(transaction=False)
    for n in range(first, last):
        pipe.hset(keys.wallet(player(n)), mapping={"coins": 100 + n % 900, "logs": n % 7})
        pipe.hset(keys.daily(player(n), day), mapping={"bonus": now_ms, "ads": n % 3})
        if len(pipe) >= PIPELINE:
            pipe.execute()
    pipe.execute()


def time_rotate(engine: Engine, runs: int) -> float:
    """Median seconds of `runs` daily resets, after 5 not counted."""
    for _ in range(5):
        rotation.rotate(engine)
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        rotation.rotate(engine)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


# rebuild --------------------------------------------------------------------------


# the run --------------------------------------------------------------------------


def persist_section(args: argparse.Namespace, mariadb: Engine, sqlite: Engine) -> list[str]:
    runs = {
        MARIADB: persist_run(mariadb, args.players, args.ledger_rows, "mariadb"),
        SQLITE: persist_run(sqlite, args.players, args.ledger_rows, "sqlite"),
    }
    rates = {name: rows / seconds for name, (_, seconds, rows, _) in runs.items()}
    rows = []
    for name, (fill, seconds, written, states) in runs.items():
        filled = f"{args.ledger_rows / fill:,.0f}"
        numbers = [f"{written:,}", f"{states:,}", f"{seconds:.1f}", f"{rates[name]:,.0f}"]
        rows.append([name, f"{fill:.1f}", filled, *numbers])
    lines = [
        "### persist: Redis outboxes into SQL",
        "",
        f"{args.ledger_rows:,} admin grants, player n % {args.players:,} each (one, two or one "
        f"resource in turn), go through `apply_transaction.lua` in pipelines of {PIPELINE:,} "
        "calls from an empty Redis, so the 16 shard outboxes hold every ledger entry; then "
        "one `persistence.persist()` drains them all into empty tables, in batches of "
        f"{persistence.BATCH:,} entries (ledger rows, then the state of every player the "
        "batch touched, then the acknowledgement).",
        "",
        table(PERSIST_COLUMNS, rows),
    ]
    if rates[MARIADB] < PERSIST_TARGET or args.profile:
        mariadb.redis.flushdb()
        fill_outboxes(mariadb, args.players, args.ledger_rows, "profiled")
        parts, top = profile_persist(mariadb)
        lines += [
            "",
            "cProfile of one more MariaDB persist after a fill of the same shape (profiling "
            "slows it down: read the calls and the shares):",
            "",
            table(["part of persist", "calls", "seconds (cumulative)", "share"], parts),
            "",
            f"Top functions by own time: {top}.",
        ]
    verdict = (
        f"- persist into MariaDB, target at least {PERSIST_TARGET:,} ledger rows/s: "
        f"{rates[MARIADB]:,.0f}, {VERDICT[rates[MARIADB] >= PERSIST_TARGET]} (SQLite: "
        f"{rates[SQLITE]:,.0f}, {rates[SQLITE] / rates[MARIADB]:.2f}x MariaDB)."
    )
    return [*lines, "", verdict]


def reset_section(args: argparse.Namespace, engine: Engine) -> list[str]:
    engine.redis.flushdb()
    sizes = [0, min(100_000, args.reset_players), args.reset_players]
    resets: dict[int, float] = {}
    for previous, size in zip([0, *sizes], sizes, strict=False):
        add_daily_state(engine, previous, size)
        resets[size] = time_rotate(engine, args.reset_runs)
        print(f"daily_reset at {size:,} players: {resets[size] * 1e3:.3f} ms", flush=True)
    flat = resets[args.reset_players] / resets[0]
    rows = [
        [f"{size:,}", f"{seconds * 1e3:.3f}", f"{seconds / resets[0]:.2f}"]
        for size, seconds in resets.items()
    ]
    return [
        "### daily_reset: `rotation.rotate()`",
        "",
        f"Median of {args.reset_runs} runs at each size, after 5 warm-up runs; players are "
        "added between sizes (a wallet and today's daily hash each, pipelined HSETs; "
        f"{engine.redis.dbsize():,} keys at the largest size).",
        "",
        table(["players with daily state", "median (ms)", "ratio to 0 players"], rows),
        "",
        f"- daily_reset flat in players, target {args.reset_players:,} players / none at most "
        f"{FLAT_LIMIT}: {flat:.2f}, {VERDICT[flat <= FLAT_LIMIT]}.",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--players", type=int, default=50_000, help="persist: players")
    parser.add_argument("--ledger-rows", type=int, default=200_000, help="persist: entries")
    parser.add_argument("--reset-players", type=int, default=1_000_000)
    parser.add_argument("--reset-runs", type=int, default=31, help="daily resets per size")
    parser.add_argument("--rebuild-players", type=int, default=1_000_000)
    parser.add_argument("--rebuild-ledger-rows", type=int, default=1_000_000)
    parser.add_argument("--profile", action="store_true", help="profile persist even if fast")
    parser.add_argument("--no-write", action="store_true", help="print, do not write the doc")
    args = parser.parse_args()
    redis_url = redis_lease.benchmark_url()
    mysql_url = os.environ.get(
        "BENCH_DATABASE_URL", "mysql+pymysql://root@127.0.0.1:3306/questboard_bench_jobs"
    )
    with ExitStack() as cleanup:  # every callback runs, last registered first
        client = redis.Redis.from_url(redis_url, socket_timeout=300)  # FLUSHDB of 6M keys
        cleanup.callback(client.flushdb)
        workdir = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="bench-jobs-"))
        recreate_database(mysql_url)
        cleanup.callback(recreate_database, mysql_url, create=False)
        mariadb = make_engine(client, mysql_url)
        sqlite = make_engine(client, f"sqlite:///{Path(workdir) / 'questboard.db'}")
        cleanup.callback(mariadb.sql.dispose)
        cleanup.callback(sqlite.sql.dispose)
        migrate.upgrade(mariadb.sql)
        migrate.upgrade(sqlite.sql)
        sections = [
            *persist_section(args, mariadb, sqlite),
            "",
            *reset_section(args, mariadb),
            "",
            *rebuild_section(args, mariadb),
        ]
    command = (
        f"python -m bench.jobs --players {args.players} --ledger-rows {args.ledger_rows} "
        f"--reset-players {args.reset_players} --reset-runs {args.reset_runs} "
        f"--rebuild-players {args.rebuild_players} "
        f"--rebuild-ledger-rows {args.rebuild_ledger_rows}"
    )
    body = "\n".join(
        [
            "## Jobs: persist, daily reset, rebuild",
            "",
            f"`make bench-jobs` runs `{command}`. Redis, MariaDB and the benchmark share the "
            "machine's cores; the engine runs on the real clock and the default calendar.",
            "",
            *sections,
        ]
    )
    print(body)
    if not args.no_write:
        write_section("jobs", body)


if __name__ == "__main__":
    main()
