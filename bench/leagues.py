"""Leagues at scale: joining and reading a cohort at 1,000 and at 1,000,000 players,
and closing a week of 1,000,000 players.

    make bench-leagues                                      # 1,000 vs 1,000,000
    .venv/bin/python -m bench.leagues --large 200000        # a smaller week

Runs on a redis-server of its own (bench.private_redis), two databases: 0 holds the
small week, 1 the large one, both filled through engine.leagues.join in batches of
1,000 new players (every player in the lowest tier: the largest tier's keys, the worst
case). Then, in interleaved rounds, `--calls` new players join one at a time
(engine.leagues.join: the records' read, then join_league.lua), as many players already
placed raise their totals (the same call: every exam after a player's first), and as
many reads of a player's league (engine.leagues.player_league: read_player.lua, then
read_cohort.lua) run against each database; each call is timed alone, and Redis's own time per call
(the mean of INFO commandstats and the median of INFO latencystats for EVALSHA, reset
before each phase) is read beside it. The ratio is large / small of the medians
(target at most 1.3). Last, league_close closes the large week into SQLite (a file in
a temporary folder), prizes of the default rules paid: its wall time against the
one-minute target, with the CPU seconds this process and the Redis server spent on it
(on a loaded machine the wall time grows with the load, the CPU seconds much less).
It prints the command that repeats it and the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import redis

from bench.private_redis import private_redis
from config import Settings
from engine import db, leagues, migrate
from engine.clock import FixedClock
from engine.leagues import close
from engine.rules import load_rules
from engine.runtime import Engine

START = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
FILL_BATCH = 1_000
TARGET_RATIO = 1.3
TARGET_CLOSE_SECONDS = 60


def fill(engine: Engine, players: int, prefix: str) -> float:
    """`players` new players join, FILL_BATCH at a time; returns the seconds it took."""
    began = time.perf_counter()
    for start in range(0, players, FILL_BATCH):
        count = min(FILL_BATCH, players - start)
        totals = {f"{prefix}{n}": (n * 7919) % 1000 for n in range(start, start + count)}
        leagues.join(engine, engine.clock.now(), totals)
    return time.perf_counter() - began


def timed(call) -> float:
    began = time.perf_counter()
    call()
    return time.perf_counter() - began


def redis_usec_per_call(client: redis.Redis) -> tuple[float, float]:
    """Redis's own µs per EVALSHA since the last CONFIG RESETSTAT: the mean (INFO
    commandstats), which one call descheduled on a loaded machine can move, and the
    median (INFO latencystats, to its histogram's precision), which it cannot."""
    stats = client.info("commandstats").get("cmdstat_evalsha", {})
    latency = client.info("latencystats").get("latency_percentiles_usec_evalsha", {})
    return float(stats.get("usec_per_call", 0.0)), float(latency.get("p50", 0.0))


def cpu_seconds(client: redis.Redis) -> tuple[float, float]:
    """CPU seconds used so far by this process and by the Redis server."""
    server = client.info("cpu")
    return time.process_time(), server["used_cpu_user"] + server["used_cpu_sys"]


def measure(engine: Engine, label: str, calls: int, round_: int) -> dict[str, list[float]]:
    """One round on one database: `calls` joins of new players, then as many reads."""
    now = engine.clock.now()
    client = engine.redis
    client.config_resetstat()
    joins = [
        timed(lambda n=n: leagues.join(engine, now, {f"new-{label}-{round_}-{n}": n % 50}))
        for n in range(calls)
    ]
    join_mean, join_median = redis_usec_per_call(client)
    client.config_resetstat()
    raises = [  # the players who just joined raise their totals: every exam after the first
        timed(lambda n=n: leagues.join(engine, now, {f"new-{label}-{round_}-{n}": 100 + n}))
        for n in range(calls)
    ]
    raise_mean, raise_median = redis_usec_per_call(client)
    client.config_resetstat()
    reads = [
        timed(lambda n=n: leagues.player_league(engine, f"p{(n * 104729) % 1000}", now))
        for n in range(calls)
    ]
    read_mean, read_median = redis_usec_per_call(client)
    return {
        "join": joins,
        "raise": raises,
        "read": reads,
        "join_redis": [join_mean],
        "raise_redis": [raise_mean],
        "read_redis": [read_mean],
        "join_redis_p50": [join_median],
        "raise_redis_p50": [raise_median],
        "read_redis_p50": [read_median],
    }


LABELS = {
    "join": "join, wall time a call",
    "raise": "raise, wall time a call",
    "read": "read, wall time a call",
    "join_redis": "join, Redis µs an EVALSHA",
    "raise_redis": "raise, Redis µs an EVALSHA",
    "read_redis": "read, Redis µs an EVALSHA",
    "join_redis_p50": "join, Redis µs, median",
    "raise_redis_p50": "raise, Redis µs, median",
    "read_redis_p50": "read, Redis µs, median",
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-close", action="store_true")
    options = parser.parse_args(argv)
    command = (
        f".venv/bin/python -m bench.leagues --small {options.small} --large {options.large} "
        f"--calls {options.calls} --rounds {options.rounds}"
        + (" --no-close" if options.no_close else "")
    )
    print(f"{command}\nload average {os.getloadavg()[0]:.1f} at the start", flush=True)

    rules = load_rules(Settings().rules_file)
    with private_redis() as url, tempfile.TemporaryDirectory() as folder:
        database_url = f"sqlite:///{Path(folder) / 'leagues.db'}"
        migrate.upgrade(db.connect(database_url))
        engines = {}
        for label, number in (("small", 0), ("large", 1)):
            client = redis.Redis.from_url(url.rsplit("/", 1)[0] + f"/{number}")
            clock = FixedClock(START)
            engines[label] = Engine(
                redis=client, rules=rules, clock=clock, database_url=database_url
            )
        for label, players in (("small", options.small), ("large", options.large)):
            seconds = fill(engines[label], players, "p")
            print(f"fill {label}: {players:,} players in {seconds:.1f} s", flush=True)

        samples: dict[str, dict[str, list[float]]] = {"small": {}, "large": {}}
        for round_ in range(options.rounds):
            for label in ("small", "large"):
                for name, values in measure(engines[label], label, options.calls, round_).items():
                    samples[label].setdefault(name, []).extend(values)
        print(f"\n{'operation':<28}{'1 small (µs)':>16}{'2 large (µs)':>16}{'ratio':>8}")
        for name, label in LABELS.items():
            small = statistics.median(samples["small"][name])
            large = statistics.median(samples["large"][name])
            scale = 1e6 if name in ("join", "raise", "read") else 1
            ratio = large / small if small else float("nan")
            print(f"{label:<28}{small * scale:>16.1f}{large * scale:>16.1f}{ratio:>8.2f}")
        print(
            f"(small {options.small:,}, large {options.large:,} players; target <= "
            f"{TARGET_RATIO}; Redis µs: the median over {options.rounds} rounds of each "
            "round's mean, and of each round's median)"
        )

        if not options.no_close:
            engine = engines["large"]
            engine.clock.advance(days=7)  # type: ignore[attr-defined]
            python_before, redis_before = cpu_seconds(engine.redis)
            began = time.perf_counter()
            report = close.close(engine, "2026-W48")
            seconds = time.perf_counter() - began
            python_after, redis_after = cpu_seconds(engine.redis)
            print(
                f"\nleague_close of {report.players:,} players in {report.cohorts:,} cohorts, "
                f"{report.prizes:,} prizes: {seconds:.1f} s (target < {TARGET_CLOSE_SECONDS} s)"
                f"; CPU: this process {python_after - python_before:.1f} s, Redis "
                f"{redis_after - redis_before:.1f} s"
            )
            again = timed(lambda: close.close(engine, "2026-W48"))
            print(f"a second run (already closed): {again * 1e3:.1f} ms")
        print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
