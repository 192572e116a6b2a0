"""Leaderboards at 10k, 100k and 1M players: engine reads vs the MySQL design, HTTP, ingestion.

    make bench-leaderboards   # or: .venv/bin/python -m bench.leaderboards --sizes 10000 --seconds 1

Uses BENCH_REDIS_URL (default: a database leased with bench.redis_lease) and flushes that database;
BENCH_MYSQL_URL (default mysql://root@127.0.0.1:3306/questboard_bench) names a MariaDB
or MySQL database that the run creates and drops. Every size is loaded at once: the
largest is the current weekly global board, each smaller one a weekly category board
(`players-<size>`) with the same key layout; each gets pipelined ZADD/HSET and a
snapshot copy, and the same rows go into the old `quiz_leaderboard_aggregates` table.
Then, one call at a time, in rounds that alternate between the sizes:

- engine:  leaderboards.around(player, 5) and top(limit=100, fresh=True); for reference
           a bare ZREVRANK and a bare competition rank (ZSCORE + ZCOUNT in one script).
- mysql:   COUNT(*) + 1 rank, RANK() OVER for one player, ORDER BY ... LIMIT 100.
- http:    GET /v1/leaderboards/weekly/players/{id}?around=5 on gunicorn from several
           load processes, then the same request in-process under cProfile.
- ingest:  exams.record_exam one by one, exams.record_exams in batches, and batches
           from three threads of this one process (Redis works while Python builds).
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from statistics import median
from typing import Any
from urllib.parse import urlparse

import pymysql

from bench import redis_lease
from bench.http_load import bare_rates, http_runs, latencies, profile_request
from bench.ingestion import INGEST_PLAYERS, ingest
from bench.report import VERDICT, table, write_section
from config import Settings
from engine import boards
from engine.boards import Board, leaderboards, snapshots
from engine.runtime import Engine, build_engine

BATCH = 1_000  # members per ZADD / fields per HSET; 10 of each per pipeline
TABLE = "quiz_leaderboard_aggregates"
SCHEMA = f"""CREATE TABLE {TABLE} (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id BIGINT UNSIGNED NOT NULL, period_type VARCHAR(10) NOT NULL,
  period VARCHAR(16) NOT NULL, category_id INT UNSIGNED NOT NULL,
  total_score BIGINT NOT NULL, exams_taken INT NOT NULL, questions INT NOT NULL,
  correct_answers INT NOT NULL,
  UNIQUE KEY player_board (user_id, period_type, period, category_id),
  KEY board_score (period_type, period, category_id, total_score)) ENGINE=InnoDB"""
BOARD = "period_type = %s AND period = %s AND category_id = %s"
QUERIES = {
    "mysql_count": f"SELECT COUNT(*) + 1 FROM {TABLE} WHERE {BOARD} AND total_score > %s",
    "mysql_window": f"SELECT r FROM (SELECT user_id, RANK() OVER (ORDER BY total_score DESC) "
    f"AS r FROM {TABLE} WHERE {BOARD}) ranked WHERE user_id = %s",
    "mysql_top": f"SELECT user_id, total_score, exams_taken, questions, correct_answers "
    f"FROM {TABLE} WHERE {BOARD} ORDER BY total_score DESC LIMIT 100",
}
BARE_RANK = """local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
local t = math.floor(tonumber(s) / tonumber(ARGV[2]))
return redis.call('ZCOUNT', KEYS[1], string.format('%d', (t + 1) * ARGV[2]), '+inf') + 1"""
LABELS = {
    "rank": "engine rank read: `around(player, 0)`, the player's entry (rank, score, "
    "aggregates, previous rank)",
    "around": "engine `around(player, 5)`: rank + 5 above/below",
    "bare_rank": "bare competition rank: ZSCORE + ZCOUNT in one script",
    "zrevrank": "bare ZREVRANK (position only, one command)",
    "top": "engine `top(limit=100, fresh=True)`",
    "mysql_count": "MySQL `COUNT(*) + 1 ... AND total_score > ?` rank",
    "mysql_window": "MySQL `RANK() OVER (ORDER BY total_score DESC)`, one player",
    "mysql_top": "MySQL `ORDER BY total_score DESC LIMIT 100`",
}
CATEGORIES = ("math", "science", "history", "geography", "art", "music", "sport", "language")
Person = tuple[int, int, int, int, int]  # total, exams, questions, correct, reached (s)


@dataclass
class Sized:
    """One size's board, its MariaDB category_id (0: global), players and measurements."""

    size: int
    board: Board
    category_id: int
    people: list[Person]
    reads: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    @property
    def query(self) -> str:
        return "around=5" + (f"&category={self.board.category}" if self.board.category else "")


def population(size: int, elapsed: int, seed: int) -> list[Person]:
    """Player p{n} is row n: a long tail of exam counts, totals with many ties."""
    rng = random.Random(seed)
    people = []
    for _ in range(size):
        taken = 1 + int(rng.expovariate(0.2))
        questions = 10 * taken
        correct = int(questions * (0.3 + 0.7 * rng.random()))
        total = 10 * correct + rng.randrange(5 * taken)  # 10 per answer + a time bonus
        people.append((total, taken, questions, correct, rng.randrange(elapsed + 1)))
    return people


def load_redis(engine: Engine, board: Board, people: list[Person]) -> tuple[float, float]:
    """Seconds to write the board, then to snapshot it (engine.boards.snapshots)."""
    started, m = time.perf_counter(), board.multiplier
    for low in range(0, len(people), 10 * BATCH):
        pipe = engine.redis.pipeline(transaction=False)
        for first in range(low, min(low + 10 * BATCH, len(people)), BATCH):
            chunk = range(first, min(first + BATCH, len(people)))
            composites = {f"p{n}": people[n][0] * m + (m - 1 - people[n][4]) for n in chunk}
            pipe.zadd(board.scores_key, composites)
            aggregates = {f"p{n}": "{}:{}:{}:{}".format(*people[n][:4]) for n in chunk}
            pipe.hset(board.aggregates_key, mapping=aggregates)
        pipe.execute()
    loaded = time.perf_counter()
    snapshots.snapshot_board(engine, board)
    return loaded - started, time.perf_counter() - loaded


def load_mysql(connection: pymysql.Connection, sized: Sized) -> float:
    """Seconds to LOAD DATA LOCAL INFILE one board's rows."""
    started, board = time.perf_counter(), sized.board
    columns = f"{board.period_type}\t{board.period.name}\t{sized.category_id}"
    with connection.cursor() as cursor, tempfile.NamedTemporaryFile("w", suffix=".tsv") as rows:
        rows.writelines(
            f"{n}\t{columns}\t{t}\t{e}\t{q}\t{c}\n"
            for n, (t, e, q, c, _) in enumerate(sized.people)
        )
        rows.flush()
        cursor.execute("SET SESSION unique_checks = 0")
        cursor.execute("BEGIN")
        cursor.execute(
            f"LOAD DATA LOCAL INFILE %s INTO TABLE {TABLE} (user_id, period_type, period, "
            "category_id, total_score, exams_taken, questions, correct_answers)",
            (rows.name,),
        )
        cursor.execute("COMMIT")
        cursor.execute("SET SESSION unique_checks = 1")
    return time.perf_counter() - started


def mysql_connect(url: str, database: str | None = None) -> pymysql.Connection:
    u = urlparse(url)
    login = {"host": u.hostname, "port": u.port or 3306, "user": u.username, "password": u.password}
    return pymysql.connect(**login, database=database, local_infile=True, autocommit=True)


def measure_round(
    engine: Engine, mysql: pymysql.Connection, sized: Sized, picks: list, s: float, warm: bool
) -> None:
    """Every read for `s` seconds more (at least once), after one warm-up call if `warm`."""
    board, bare, cursor = sized.board, engine.redis.register_script(BARE_RANK), mysql.cursor()
    key = (board.period_type, board.period.name, sized.category_id)

    def sql(query: str) -> Callable[[tuple], object]:
        return lambda params: (cursor.execute(query, params), cursor.fetchall())

    calls: dict[str, tuple[Callable[[Any], object], list]] = {
        "rank": (lambda n: leaderboards.around(engine, board, f"p{n}", 0), picks),
        "around": (lambda n: leaderboards.around(engine, board, f"p{n}", 5), picks),
        "bare_rank": (
            lambda n: bare(keys=[board.scores_key], args=[f"p{n}", board.multiplier]),
            picks,
        ),
        "zrevrank": (lambda n: engine.redis.zrevrank(board.scores_key, f"p{n}"), picks),
        "top": (lambda _: leaderboards.top(engine, board, limit=100, fresh=True), picks),
        "mysql_count": (sql(QUERIES["mysql_count"]), [(*key, sized.people[n][0]) for n in picks]),
        "mysql_window": (sql(QUERIES["mysql_window"]), [(*key, n) for n in picks]),
        "mysql_top": (sql(QUERIES["mysql_top"]), [key]),
    }
    for name, (call, inputs) in calls.items():
        if warm:
            call(inputs[-1])
        sized.reads[name] += latencies(call, inputs, s, least=1)


def cell(times: list[float], runs: bool) -> str:
    p99 = sorted(times)[min(len(times) - 1, int(0.99 * len(times)))]
    return f"{median(times):,.0f} / {p99:,.0f}" + (f" (n={len(times)})" if runs else "")


def render(
    args: argparse.Namespace,
    by_size: dict[int, Sized],
    loads: list,
    http_rows: list,
    profile: tuple | None,
    ingest_rows: list,
    floor: tuple[int, dict[str, float]] = (0, {}),
) -> str:
    sizes = sorted(by_size)
    reads = {n: by_size[n].reads for n in sizes}
    big, small = sizes[-1], sizes[0]
    read_rows = [
        [label, *(cell(reads[n][name], name.startswith("mysql")) for n in sizes)]
        for name, label in LABELS.items()
    ] + [
        [f"MySQL COUNT rank / {name} (medians)"]
        + [f"{median(reads[n]['mysql_count']) / median(reads[n][name]):,.0f}x" for n in sizes]
        for name in ("rank", "around", "bare_rank")
    ]
    growth = {
        name: median(reads[big][name]) / median(reads[small][name]) for name in ("rank", "around")
    }
    speedup = {k: median(reads[big]["mysql_count"]) / median(reads[big][k]) for k in LABELS}
    lines = [
        "## Leaderboards: reads at 10k-1M players, MySQL, HTTP, exam ingestion",
        "",
        f"`make bench-leaderboards` runs `python -m bench.leaderboards --sizes {args.sizes} "
        f"--seconds {args.seconds:g} --rounds {args.rounds} --http-sizes {args.http_sizes} "
        f"--web-workers {args.web_workers} --http-clients {args.http_clients}`. All sizes are "
        f"loaded together: the {big:,} players on the current weekly global board, each smaller "
        "size on a weekly category board of the same period (same keys but the category), "
        "with random totals and ties and a snapshot copy so previous ranks exist; the same "
        f"rows go into MariaDB's `{TABLE}`, indexed on (period_type, period, category_id, "
        "total_score). Reads run one at a time from one process, random players, in "
        f"{args.rounds} rounds alternating between sizes, {args.seconds:g} s per read and size "
        "in all. Redis, MariaDB, the load processes and gunicorn share the machine's cores: "
        "compare rows, not machines.",
        "",
        "Latency in microseconds, median / p99 (MySQL rows: n runs):",
        "",
        table(["read", *(f"{n:,} players" for n in sizes)], read_rows),
        "",
        table(
            ["players", "Redis load (s)", "snapshot (s)", "Redis memory (MB)", "MariaDB (s)"], loads
        ),
    ]
    names = list(http_rows[0][2]) if http_rows else []
    best = {name: max(http_rows, key=lambda row: row[2][name]) for name in names}
    if http_rows:
        lines += [
            "",
            "HTTP `GET /v1/leaderboards/weekly/players/{id}?around=5` (around-me; the smaller "
            "boards add `&category=`) on gunicorn sync workers, which close the connection "
            "after each response, from load generators on the same machine: http.client "
            "processes, and wrk (in C, so more of the two cores is left to the server) when "
            "it is installed (`apt-get install wrk`). "
            "`GET /v1/catalog`, an authenticated route without Redis, is the HTTP stack's "
            "ceiling. Requests/s:",
            "",
            table(
                ["workers", "load generator", *names, "errors"],
                [[w, c, *(f"{rates[n]:,.0f}" for n in names), e] for w, c, rates, e in http_rows],
            ),
        ]
    floor_workers, floor_rates = floor
    if floor_rates:
        lines += [
            "",
            f"For scale, the same gunicorn ({floor_workers} workers) and wrk on apps that answer "
            "`{}` with no authentication and no Redis (`bench/bare_app.py`): "
            + ", ".join(f"{name} {rate:,.0f}/s" for name, rate in floor_rates.items())
            + ". A route of the service cannot serve more than the bare Flask app.",
        ]
    if profile:
        size, wsgi_us, packages, functions = profile
        lines += [
            "",
            f"The same request in-process (one WSGI call, {size:,} players): median "
            f"{wsgi_us:,.0f} µs, of which `around()` is {median(reads[size]['around']):,.0f} µs. "
            "Own time under cProfile:",
            "",
            table(["where", "own time"], packages),
            "",
            table(["function", "own time", "cumulative"], functions),
        ]
    lines += [
        "",
        f"Exam ingestion from one process (each exam updates 6 boards; {len(CATEGORIES)} "
        f"categories, distinct exam ids, {INGEST_PLAYERS:,} players who already played "
        "today unless said otherwise, with all the boards above loaded):",
        "",
        table(
            ["call", "exams", "exams/s"], [[k, f"{d:,}", f"{r:,.0f}"] for k, d, r in ingest_rows]
        ),
        "",
        f"- Target: the engine's rank-read median at {big:,} players is at most 1.3x the one "
        f"at {small:,}. Measured: rank read {growth['rank']:.2f}x, "
        f"{VERDICT[growth['rank'] <= 1.3]}; `around(player, 5)` {growth['around']:.2f}x, "
        f"{VERDICT[growth['around'] <= 1.3]}.",
        f"- Target: at {big:,} players an engine rank read is at least 1,000x faster than the "
        f"MySQL COUNT(*) rank. Measured: rank read {speedup['rank']:,.0f}x, "
        f"{VERDICT[speedup['rank'] >= 1000]}; `around(player, 5)` {speedup['around']:,.0f}x, "
        f"{VERDICT[speedup['around'] >= 1000]}; bare rank script {speedup['bare_rank']:,.0f}x, "
        f"{VERDICT[speedup['bare_rank'] >= 1000]}.",
    ]
    lines += [
        f"- Target: at least 2,500 requests/s over HTTP. Measured ({name}): best "
        f"{rates[name]:,.0f}/s with {w} workers and {c} (catalog there: "
        f"{rates['catalog']:,.0f}/s), {VERDICT[rates[name] >= 2500]}."
        for name, (w, c, rates, _) in best.items()
        if name != "catalog"
    ]
    lines += [
        f"- Target: at least 5,000 exams/s from one process. Measured with {label}: "
        f"{rate:,.0f}/s, {VERDICT[rate >= 5000]}."
        for label, _, rate in ingest_rows
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--seconds", type=float, default=6.0, help="per read and size, in all")
    parser.add_argument("--rounds", type=int, default=3, help="alternations between sizes")
    parser.add_argument("--http-sizes", default="10000,1000000")
    parser.add_argument("--web-workers", default="3,4")
    parser.add_argument("--http-clients", default="3,4", help="load-generating processes")
    parser.add_argument("--no-write", action="store_true", help="print, do not write the doc")
    args = parser.parse_args()
    sizes = sorted(int(n) for n in args.sizes.split(","))
    url = redis_lease.benchmark_url()
    mysql_url = os.environ.get("BENCH_MYSQL_URL", "mysql://root@127.0.0.1:3306/questboard_bench")
    database = urlparse(mysql_url).path.strip("/") or "questboard_bench"

    engine = build_engine(Settings.from_env({**os.environ, "REDIS_URL": url}))
    engine.database_url = None  # Redis alone: snapshots here write no SQL
    week = boards.resolve(engine, "weekly").period  # the real-time week, as gunicorn sees it
    elapsed = int((engine.clock.now() - engine.calendar.start(week)).total_seconds())
    server = mysql_connect(mysql_url)
    server.cursor().execute(f"CREATE DATABASE IF NOT EXISTS {database}")
    mysql = mysql_connect(mysql_url, database)
    by_size: dict[int, Sized] = {}
    loads, http_rows, profile, floor = [], [], None, (0, {})
    try:
        engine.redis.flushdb()
        mysql.cursor().execute(f"DROP TABLE IF EXISTS {TABLE}")
        mysql.cursor().execute(SCHEMA)
        for index, size in enumerate(sizes):
            category = None if size == sizes[-1] else f"players-{size}"
            people = population(size, elapsed, seed=size)
            category_id = 0 if category is None else index + 1
            sized = by_size[size] = Sized(
                size, Board("weekly", week, category), category_id, people
            )
            memory = engine.redis.info("memory")["used_memory"]
            redis_s, snapshot_s = load_redis(engine, sized.board, people)
            memory = (engine.redis.info("memory")["used_memory"] - memory) / 2**20
            timings = (redis_s, snapshot_s, memory, load_mysql(mysql, sized))
            loads.append([f"{size:,}", *(f"{x:,.1f}" for x in timings)])
        mysql.cursor().execute(f"ANALYZE TABLE {TABLE}")
        for round_number in range(args.rounds):
            for size in sizes if round_number % 2 == 0 else sizes[::-1]:
                picks = random.Random(size + round_number).sample(range(size), min(size, 2_000))
                seconds = args.seconds / args.rounds
                measure_round(engine, mysql, by_size[size], picks, seconds, round_number == 0)
                medians = {k: round(median(v)) for k, v in by_size[size].reads.items()}
                print(f"round {round_number + 1}, {size:,}: {medians}", flush=True)
        targets = {
            f"around-me, {n:,} players": (
                f"/v1/leaderboards/weekly/players/p{{n}}?{by_size[n].query}",
                n,
            )
            for n in map(int, args.http_sizes.split(","))
            if n in by_size
        }
        if targets:
            targets["catalog"] = ("/v1/catalog", 1)
            workers = [int(n) for n in args.web_workers.split(",")]
            clients = [int(n) for n in args.http_clients.split(",")]
            http_rows = http_runs(url, targets, workers, clients, args.seconds)
            floor = (workers[0], bare_rates(url, workers[0], args.seconds))
            biggest = by_size[sizes[-1]]
            profile = (sizes[-1], *profile_request(url, biggest.size, biggest.query, 2_000))
        ingest_rows = ingest(engine, args.seconds, CATEGORIES)
    finally:
        engine.redis.flushdb()
        server.cursor().execute(f"DROP DATABASE IF EXISTS {database}")
        mysql.close()
        server.close()
    body = render(args, by_size, loads, http_rows, profile, ingest_rows, floor)
    print(body)
    if not args.no_write:
        write_section("leaderboards", body)


if __name__ == "__main__":
    main()
