"""The persist job's Redis side at several player shard counts.

    .venv/bin/python -m bench.persist_shards            # 16, 256 and 1024 shards
    .venv/bin/python -m bench.persist_shards 16 4096

For each count, on a database leased with bench.redis_lease (or BENCH_REDIS_URL, which
is flushed) and a SQLite file in a temporary folder: `ensure_groups` with the groups
already there, a persist run with nothing to do and `lag_ms` (best and median of 20
each), then persist runs of 1,000 and 20,000 admin grants to as many players, filled
by bench.jobs.fill_outboxes (best of 3). Times in ms. The SQL writes dominate the
runs with entries; the empty run and the lag are what the shard count changes.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable

import redis

import config
from bench import redis_lease
from bench.jobs import fill_outboxes
from engine import keys, migrate
from engine.clock import SystemClock
from engine.ops import persistence
from engine.rules import load_rules
from engine.runtime import Engine

COUNTS = (16, 256, 1024)
ROWS = (1_000, 20_000)


def timed(function: Callable[[], object], rounds: int) -> tuple[float, float]:
    """Best and median of `rounds` calls, in ms."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times) * 1000, statistics.median(times) * 1000


def measure(client: redis.Redis, count: int, folder: str) -> str:
    keys.set_player_shards(count)
    client.flushdb()
    rules = load_rules(config.DEFAULT_RULES_FILE)
    engine = Engine(
        redis=client,
        rules=rules,
        clock=SystemClock(),
        database_url=f"sqlite:///{folder}/{count}.db",
    )
    migrate.upgrade(engine.sql)
    persistence.ensure_groups(engine)
    steps = {
        "ensure_groups": lambda: persistence.ensure_groups(engine),
        "empty persist": lambda: persistence.persist(engine),
        "lag_ms": lambda: persistence.lag_ms(engine),
    }
    parts = []
    for name, step in steps.items():
        best, median = timed(step, 20)
        parts.append(f"{name} {best:.2f} / {median:.2f}")
    for rows in ROWS:
        runs = []
        for round_ in range(3):
            fill_outboxes(engine, rows, rows, f"shards-{count}-{rows}-{round_}")
            started = time.perf_counter()
            report = persistence.persist(engine)
            runs.append(time.perf_counter() - started)
            assert report.entries == rows, (report.entries, rows)
        parts.append(f"persist {rows:,} entries {min(runs) * 1000:.0f}")
    engine.sql.dispose()
    return f"{count} shards (ms, best / median): " + ", ".join(parts)


def main(argv: list[str]) -> None:
    client = redis.Redis.from_url(redis_lease.benchmark_url())
    with tempfile.TemporaryDirectory() as folder:
        for count in [int(arg) for arg in argv] or COUNTS:
            print(measure(client, count, folder), flush=True)
    client.flushdb()


if __name__ == "__main__":
    main(sys.argv[1:])
