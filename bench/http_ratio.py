"""What the service adds on top of the cheapest routes, measured side by side in one run
(`make bench-http`), so that the machine's own speed cancels out of the ratios.

For each server kind (gunicorn sync, gunicorn gthread, granian's WSGI interface started
as the Procfile starts it, with a listening socket a worker slot kept by its main
process, and plain granian with a socket a worker that closes with it; the same number
of workers for all), the floors and the service's routes (bench.http_routes) are
served at once, each app by its own server, and wrk loads one route after another,
round after round: each route's rate is the median of its rounds. Then each route is
loaded again at about half its rate for its latency. Redis commands per request are
counted on the client, in this process (bench.redis_count); the memory of a
player-day comes from bench.player_day_memory.

Redis: one database leased on the shared server exactly as the test runs lease theirs
(bench.redis_lease), flushed before and after; nothing else on the server is touched.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from statistics import median

import redis

from bench import http_routes, player_day_memory, redis_lease, wrk
from bench.http_routes import BARE_FLASK, FLASK_REDIS, ROUTES, CommandCount, Route
from bench.report import table, write_section
from bench.server import SERVERS, launch_server, server_command, wait_until_serving

SECTION = "http"


@dataclass
class RouteRun:
    """One route on one server: its full-speed rates, and its paced run."""

    rates: list[float] = field(default_factory=list)
    paced: wrk.WrkResult | None = None
    non_2xx: int = 0
    socket_errors: int = 0
    requests: int = 0  # answered, warm-up included

    @property
    def rate(self) -> float:
        return median(self.rates) if self.rates else 0.0


@dataclass(frozen=True)
class Load:
    """How each route is loaded."""

    players: int
    seconds: int
    rounds: int
    latency_seconds: int
    workers: int
    threads: int
    granian_options: tuple[str, ...] = ()  # added to granian's (a candidate setting)


WARM_UP_REQUESTS = 16


def warm_up(port: int, route: Route, players: int, requests: int = WARM_UP_REQUESTS) -> int:
    """A few requests first: each worker's first ones connect to Redis and load scripts.
    Returns how many were not answered 2xx."""
    failed = 0
    for number in range(requests):
        request = route.request.fill(
            {
                "player": http_routes.player(number % players),
                "unique": f"warm-{os.getpid()}-{port}-{number}",
                "score": "1",
                "correct": "1",
            }
        )
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            connection.request(request.method, request.path, request.body or None, request.headers)
            response = connection.getresponse()
            response.read()
            failed += not 200 <= response.status < 300
        finally:
            connection.close()
    return failed


def measure_server(
    server: str, url: str, routes: tuple[Route, ...], load: Load
) -> dict[str, RouteRun]:
    """Every route on `server`: rounds at full speed (interleaved), then paced at half.

    When wrk stops, the requests it left in flight are still served; a probe request
    after each run waits for them (it is queued behind them), so they do not eat into
    the next route's run on the same server."""
    processes: dict[str, tuple[subprocess.Popen, int]] = {}
    runs = {route.name: RouteRun(requests=WARM_UP_REQUESTS) for route in routes}
    started = time.monotonic()
    try:
        for app in dict.fromkeys(route.app for route in routes):  # all start at once
            processes[app] = launch_server(
                server,
                url,
                load.workers,
                http_routes.APPS[app],
                load.threads,
                load.granian_options,
            )
        for process, port in processes.values():
            wait_until_serving(process, port)
        print(f"{server}: serving after {time.monotonic() - started:.0f} s", flush=True)
        for route in routes:
            runs[route.name].non_2xx += warm_up(processes[route.app][1], route, load.players)
        for _ in range(load.rounds):
            for route in routes:
                process, port = processes[route.app]
                result = wrk.run(port, route.request, load.players, load.seconds)
                wait_until_serving(process, port)  # served what wrk left in flight
                run = runs[route.name]
                run.rates.append(result.rate)
                run.requests += result.requests
                run.non_2xx += result.non_2xx
                run.socket_errors += result.socket_errors
        print(f"{server}: rounds done after {time.monotonic() - started:.0f} s", flush=True)
        for route in routes:
            run, (process, port) = runs[route.name], processes[route.app]
            rate = max(1.0, run.rate / 2)
            run.paced = wrk.run(port, route.request, load.players, load.latency_seconds, rate)
            wait_until_serving(process, port)
            run.requests += run.paced.requests
            run.non_2xx += run.paced.non_2xx
            run.socket_errors += run.paced.socket_errors
    finally:
        for process, _ in processes.values():
            process.send_signal(signal.SIGTERM)
        for process, _ in processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    return runs


def server_rows(runs: dict[str, RouteRun], counts: dict[str, CommandCount]) -> list[list]:
    """One table row per route: rates, ratios to the floors, commands, latency."""
    base, floor = runs[BARE_FLASK].rate, runs[FLASK_REDIS].rate
    rows = []
    for name, run in runs.items():
        paced, count = run.paced, counts[name]
        rows.append(
            [
                name,
                f"{run.rate:,.0f}",
                f"{run.rate / base:.2f}" if base else "-",
                f"{run.rate / floor:.2f}" if floor else "-",
                f"{count.commands:g} / {count.round_trips:g}",
                f"{paced.p50_ms:.2f}" if paced else "-",
                f"{paced.p99_ms:.2f}" if paced else "-",
                f"{paced.rate:,.0f}" if paced else "-",
                run.non_2xx + run.socket_errors,
            ]
        )
    return rows


SERVER_COLUMNS = [
    "route",
    "req/s (median)",
    "÷ bare Flask",
    "÷ Flask + 1 HGETALL",
    "Redis commands / round trips per request",
    "p50 ms",
    "p99 ms",
    "at req/s (≈ half)",
    "errors",
]
MEMORY_COLUMNS = [
    "key family",
    "keys",
    "expired before weighed",
    "bytes a key",
    "bytes per player after the day",
    "of which the day added",
]


def memory_table(url: str, players: int) -> str:
    client = redis.Redis.from_url(url)
    client.flushdb()
    funded, after = player_day_memory.play_day(url, players)
    rows = [
        [name, keys, expired, f"{per_key:,.0f}", f"{held:,.0f}", f"{added:,.0f}"]
        for name, keys, expired, per_key, held, added in player_day_memory.rows(
            funded, after, players
        )
    ]
    return table(MEMORY_COLUMNS, rows)


def servers_table(runs_by_server: dict[str, dict[str, RouteRun]]) -> str:
    """One row per route, one column group per server: its req/s, its ratio to that
    server's own Flask + 1 HGETALL, and its p99 at half rate: the servers compared."""
    columns = ["route"]
    for server in runs_by_server:
        columns += [f"{server} req/s", "÷ floor", "p99 ms"]
    rows = []
    for name in next(iter(runs_by_server.values()), {}):
        row: list = [name]
        for runs in runs_by_server.values():
            run, floor = runs[name], runs[FLASK_REDIS].rate
            row += [
                f"{run.rate:,.0f}",
                f"{run.rate / floor:.2f}" if floor else "-",
                f"{run.paced.p99_ms:.2f}" if run.paced else "-",
            ]
        rows.append(row)
    return table(columns, rows)


def commands_table(counts: dict[str, CommandCount]) -> str:
    rows = [
        [name, ", ".join(f"{command} {n:g}" for command, n in count.by_name.items()) or "none"]
        for name, count in counts.items()
    ]
    return table(["route", "Redis commands per request, by name"], rows)


def report(
    command: str,
    load: Load,
    tables: dict[str, str],
    commands: str,
    memory: str | None,
    servers: str | None = None,
) -> str:
    sections = [
        "## HTTP cost: the service's routes against the bare stack\n",
        f"Command: `{command}`. {os.cpu_count()} cores; {datetime.now(UTC):%Y-%m-%d}.\n",
        f"wrk, {wrk.THREADS} threads and {wrk.CONNECTIONS} connections, {load.seconds} s a "
        f"route a round, {load.rounds} rounds with the routes interleaved, median req/s. "
        f"Latency: each route again for {load.latency_seconds} s at about half its median "
        "rate, paced by wrk's `delay()` hook (wrk2 is not available; a finished request "
        "books its thread's next send slot), p50 and p99 from wrk. Every app is served by "
        f"its own server with {load.workers} workers (gthread and granian: {load.threads} "
        "threads a worker), access logs off, metrics multi-process (PROMETHEUS_MULTIPROC_DIR, "
        "as under `make run`); granian runs with the Procfile's buffer limit and recycling "
        "by memory, started as the Procfile starts it (scripts/shared_socket_granian.py: "
        "a listening socket a worker slot, kept by granian's main process) and, as "
        "granian-reuseport, as plain `granian` (a socket of its own a worker, closed with "
        "it); gunicorn "
        "reads gunicorn.conf.py (workers recycled after max_requests, "
        "keep-alive) under the worker class of its table. "
        f"{load.players:,} players funded and on this "
        "week's boards, the rules opened for load (rate limits, rapid fire: bench/server.py). "
        "Redis commands are counted on the client, in-process (a script call counts as one). "
        "The service's requests carry no X-Player-IP. wrk, Redis and the servers share the "
        "machine's cores. Ratios compare rows of one table: a ratio of 0.25 is a route "
        "serving a quarter of the requests of the floor.\n",
    ]
    if servers:
        sections += [
            "### The servers side by side\n",
            "Each route's rate under each server, its ratio to the same server's Flask + 1 "
            "HGETALL, and its p99 at half its rate (the tables below have the rest).\n",
            servers + "\n",
        ]
    for server, body in tables.items():
        sections += [f"### {server}\n", f"`{server_line(server, load)}`\n", body + "\n"]
    sections += ["### Redis commands per request\n", commands + "\n"]
    if memory:
        sections += [
            "### Redis memory per player-day\n",
            "Each player: a grant of coins, then one game day through the app with the "
            "shipped rules and an X-Player-IP: a login, 3 exams (3 categories), 2 "
            "purchases. `MEMORY USAGE key SAMPLES 0` of every key, grouped by family; "
            "rate-limit windows (1 minute) and rapid-fire counters (2 s) are weighed while "
            "alive (their bytes a key are what each costs while it lives), and a key that "
            "expired between SCAN and MEMORY USAGE is counted as expired, not as zero "
            "bytes. The grant's own records are in the first figure, not in the second.\n",
            memory + "\n",
        ]
    return "\n".join(sections)


def server_line(server: str, load: Load) -> str:
    command = server_command(
        server, 0, load.workers, "web:create_app()", load.threads, load.granian_options
    )
    command[0] = os.path.basename(command[0])
    return (
        shlex.join(command)
        .replace("127.0.0.1:0", "127.0.0.1:PORT")
        .replace("--port 0", "--port PORT")
    )


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.http_ratio", description=__doc__)
    parser.add_argument("--servers", default=",".join(SERVERS), help="comma-separated")
    parser.add_argument("--workers", type=int, default=2, help="as the Procfile's default")
    parser.add_argument("--threads", type=int, default=4, help="gthread and granian")
    parser.add_argument("--seconds", type=int, default=2, help="a route a round, full speed")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--granian-options",
        type=shlex.split,
        default=[],
        help='added to both granian kinds\' options, e.g. "--backpressure 4"',
    )
    parser.add_argument("--latency-seconds", type=int, default=2)
    parser.add_argument("--players", type=int, default=2000)
    parser.add_argument("--memory-players", type=int, default=1000, help="0: skip")
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379",
        help="the server; a database of it is leased (15 down to 1)",
    )
    parser.add_argument("--no-write", action="store_true", help="print only")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    servers = [name for name in args.servers.split(",") if name]
    for server in servers:
        server_command(server, 0, 1, "x:y")  # an unknown server kind stops the run here
    if not wrk.installed():
        raise SystemExit(wrk.INSTALL_HINT)
    load = Load(
        args.players,
        args.seconds,
        args.rounds,
        args.latency_seconds,
        args.workers,
        args.threads,
        tuple(args.granian_options),
    )
    shown = [arg for arg in argv if arg != "--no-write"]
    command = "make bench-http" + (f' BENCH_HTTP_ARGS="{shlex.join(shown)}"' if shown else "")
    token = redis_lease.new_token()
    database = redis_lease.acquire(args.redis_url, token)
    url = redis_lease.server_url(args.redis_url, database)
    client = redis.Redis.from_url(url)
    print(f"Redis database {database} leased; {command}", flush=True)
    try:
        client.flushdb()
        started = time.monotonic()
        http_routes.seed_players(url, load.players)
        print(f"{load.players} players seeded in {time.monotonic() - started:.0f} s", flush=True)
        apps = http_routes.in_process_apps(url)
        counts = {
            route.name: http_routes.count_commands(apps, route, load.players) for route in ROUTES
        }
        tables, runs_by_server = {}, {}
        for server in servers:
            runs = runs_by_server[server] = measure_server(server, url, ROUTES, load)
            tables[server] = table(SERVER_COLUMNS, server_rows(runs, counts))
            print(f"\n{server}\n{tables[server]}", flush=True)
        started = time.monotonic()
        memory = memory_table(url, args.memory_players) if args.memory_players else None
        print(f"player-days weighed in {time.monotonic() - started:.0f} s", flush=True)
        body = report(
            command, load, tables, commands_table(counts), memory, servers_table(runs_by_server)
        )
        print("\n" + body)
        if not args.no_write:
            write_section(SECTION, body)
    finally:
        client.flushdb()
        client.close()
        redis_lease.release(args.redis_url, database, token)


if __name__ == "__main__":
    main()
