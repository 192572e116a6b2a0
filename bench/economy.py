"""Purchases per second: raw EVALSHA ceiling vs the engine vs HTTP, in one run.

    make bench            # or: .venv/bin/python -m bench.economy --seconds 5

Uses BENCH_REDIS_URL (default: a database leased with bench.redis_lease) and flushes that database.
Each mode runs the same number of client processes for the same time:

- raw:    one EVALSHA per call of a one-line script (HINCRBY on a player's wallet):
          the ceiling of "one script call per purchase" from Python on this Redis.
- script: EVALSHA of lua/record_activity.lua with prebuilt arguments: the purchase's
          own Redis work (with its bonus, missions and rapid-fire checks) without the
          engine's Python around it.
- fingerprint: the script mode plus IdempotentRequest.of() in Python, the hash that
          tells a replay from a reused key: the least Python any idempotent purchase runs.
- engine: engine.economy.purchases.purchase(), the full atomic purchase (checks, wallet,
          ledger, outbox, idempotency record), with a fresh Idempotency-Key each call.
- http:   POST /v1/players/{id}/purchases to gunicorn (web:create_app()), keep-alive.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import multiprocessing as mp
import signal
import statistics
import time
from dataclasses import dataclass

import redis

from bench import redis_lease
from bench.report import table, write_section
from bench.server import SERVER_KEY, load_test_rules, start_gunicorn

RAW_SCRIPT = "redis.call('HINCRBY', KEYS[1], 'coins', -1) return 1"
PLAYERS_PER_CLIENT = 100
FUNDS = 10**12


def players(client: int) -> list[str]:
    return [f"bench-{client}-{n}" for n in range(PLAYERS_PER_CLIENT)]


def prepare_raw(url: str, client: int):
    from engine import keys

    script = redis.Redis.from_url(url).register_script(RAW_SCRIPT)
    wallets = [keys.wallet(p) for p in players(client)]

    def call(n: int) -> None:
        script(keys=[wallets[n % PLAYERS_PER_CLIENT]], args=[])

    return call


def prepare_script(url: str, client: int):
    """The purchase's own script (record_activity.lua), its arguments prebuilt once."""
    from engine import Engine, keys, progression
    from engine.clock import to_ms
    from engine.progression import timezones
    from engine.rules import load_rules

    engine = Engine(redis=redis.Redis.from_url(url), rules=load_rules(load_test_rules()))
    script = engine.scripts.record_activity
    now = engine.clock.now()
    context = progression.day_context(engine, now)
    zone = timezones.zone_part(engine, now)  # a player's own day, if any
    names = players(client)
    prebuilt = [
        [
            keys.wallet(p),
            keys.ledger(p),
            keys.player_outbox(p),
            *context.player_keys(p, now, "purchases"),
            keys.settings(p),
            *zone.daily_keys(p, context.day),
        ]
        for p in names
    ]

    def call(n: int) -> None:
        index = n % PLAYERS_PER_CLIENT
        player, key = names[index], f"s-{client}-{n}"
        player_keys = prebuilt[index]
        script(
            keys=[*player_keys[:3], keys.idempotency(player, "purchase", key), *player_keys[3:]],
            args=[
                player,
                to_ms(now),
                FUNDS * 10,
                key,
                86_400,
                f"purchase/{key}",
                context.context + zone.context_tail,
                context.rewards_json + zone.rewards_tail,
                "purchase",
                "1 x logs",
                "purchase",
                0,
                engine.ledger_keep_entries,
                "purchases",
                "coins",
                -10,
                "logs",
                1,
            ],
        )

    return call


def prepare_fingerprint(url: str, client: int):
    """The script mode plus the request's fingerprint: the least Python an idempotent
    purchase needs (a reused key with another body must be told apart)."""
    from engine.economy.idempotency import IdempotentRequest

    script_call = prepare_script(url, client)
    payload = {"item": "logs", "quantity": 1, "expected_price": None}

    def call(n: int) -> None:
        IdempotentRequest.of("purchase", f"f-{client}-{n}", payload)
        script_call(n)

    return call


def prepare_engine(url: str, client: int):
    from engine import Engine
    from engine.economy import purchases
    from engine.rules import load_rules

    engine = Engine(redis=redis.Redis.from_url(url), rules=load_rules(load_test_rules()))
    names = players(client)

    def call(n: int) -> None:
        purchases.purchase(engine, names[n % PLAYERS_PER_CLIENT], "logs", 1, f"e-{client}-{n}")

    return call


def prepare_http(port: int, client: int):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    names = players(client)
    body = json.dumps({"item": "logs", "quantity": 1})

    def call(n: int) -> None:
        connection.request(
            "POST",
            f"/v1/players/{names[n % PLAYERS_PER_CLIENT]}/purchases",
            body=body,
            headers={
                "Authorization": f"Bearer {SERVER_KEY}",
                "Content-Type": "application/json",
                "Idempotency-Key": f"h-{client}-{n}",
            },
        )
        response = connection.getresponse()
        response.read()
        if response.status != 201:
            raise RuntimeError(f"HTTP {response.status}")

    return call


PREPARE = {
    "raw": prepare_raw,
    "script": prepare_script,
    "fingerprint": prepare_fingerprint,
    "engine": prepare_engine,
    "http": prepare_http,
}


def _worker(
    mode: str, target, client: int, first: int, seconds: float, ready, start, results
) -> None:
    call = PREPARE[mode](target, client)
    call(first - 1)  # warm up: connections open, scripts loaded
    ready.release()
    start.wait()
    cpu = time.process_time()
    done, deadline = 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        call(first + done)
        done += 1
    results.put((done, time.process_time() - cpu))


RUN_SPAN = 10**8  # calls numbered from run * RUN_SPAN: each run's Idempotency-Keys are new
runs = itertools.count(1)


@dataclass(frozen=True)
class Run:
    calls: int
    seconds: float
    client_cpu: float  # seconds of CPU, all client processes
    redis_cpu: float  # seconds of CPU of the Redis server

    @property
    def rate(self) -> float:
        return self.calls / self.seconds

    def per_call_us(self, cpu: float) -> float:
        return cpu / self.calls * 1e6


def redis_cpu_seconds(connection: redis.Redis) -> float:
    info = connection.info("cpu")
    return info["used_cpu_user"] + info["used_cpu_sys"]


def measure(mode: str, target, clients: int, seconds: float, redis_url: str) -> Run:
    """All clients start together once ready; each runs `seconds`; calls are summed.

    Every call of every run has an Idempotency-Key of its own: a key used in an earlier
    run would be answered as a replay, which is cheaper than a purchase.
    """
    first = next(runs) * RUN_SPAN  # a multiple of PLAYERS_PER_CLIENT: players cycle alike
    ready, start, results = mp.Semaphore(0), mp.Event(), mp.Queue()
    processes = [
        mp.Process(target=_worker, args=(mode, target, n, first, seconds, ready, start, results))
        for n in range(clients)
    ]
    for process in processes:
        process.start()
    for _ in processes:
        ready.acquire(timeout=60)
    connection = redis.Redis.from_url(redis_url)
    redis_before = redis_cpu_seconds(connection)
    start.set()
    outcomes = [results.get(timeout=seconds + 60) for _ in processes]
    redis_cpu = redis_cpu_seconds(connection) - redis_before
    for process in processes:
        process.join()
    return Run(
        calls=sum(done for done, _ in outcomes),
        seconds=seconds,
        client_cpu=sum(cpu for _, cpu in outcomes),
        redis_cpu=redis_cpu,
    )


def fund_everyone(url: str, clients: int) -> None:
    from engine import keys

    connection = redis.Redis.from_url(url)
    pipe = connection.pipeline(transaction=False)
    for client in range(clients):
        for player in players(client):
            pipe.hset(keys.wallet(player), "coins", FUNDS)
    pipe.execute()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per mode and round")
    parser.add_argument("--rounds", type=int, default=5, help="raw/engine rounds, interleaved")
    parser.add_argument("--clients", type=int, default=4, help="load-generating processes")
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print, do not write the doc")
    args = parser.parse_args()
    url = redis_lease.benchmark_url()

    connection = redis.Redis.from_url(url)
    connection.flushdb()
    fund_everyone(url, args.clients)
    measured: dict[str, list[Run]] = {
        "raw": [],
        "script": [],
        "fingerprint": [],
        "engine": [],
        "http": [],
    }
    for round_number in range(args.rounds):
        for mode in ("raw", "script", "fingerprint", "engine"):
            measured[mode].append(measure(mode, url, args.clients, args.seconds, url))
            print(f"round {round_number + 1} {mode}: {measured[mode][-1].rate:,.0f}/s", flush=True)
    server, port = start_gunicorn(url, args.web_workers)
    try:
        measure("http", port, args.clients, 1.0, url)  # warm every gunicorn worker
        measured["http"].append(measure("http", port, args.clients, args.seconds, url))
        print(f"http: {measured['http'][-1].rate:,.0f}/s", flush=True)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    connection.flushdb()

    rates = {mode: [run.rate for run in runs] for mode, runs in measured.items()}
    raw = statistics.median(rates["raw"])
    labels = {
        "raw": "raw EVALSHA, one-line script (ceiling)",
        "script": "raw EVALSHA of the purchase's script (record_activity.lua), prebuilt",
        "fingerprint": "the same, plus the request's fingerprint computed in Python",
        "engine": "engine purchase (full atomic purchase)",
        "http": f"HTTP purchase (gunicorn, {args.web_workers} sync workers)",
    }
    rows = []
    for mode, values in rates.items():
        runs = measured[mode]
        rows.append(
            [
                labels[mode],
                " / ".join(f"{v:,.0f}" for v in values),
                f"{statistics.median(values):,.0f}",
                f"{statistics.median(values) / raw:.2f}",
                f"{statistics.median(r.per_call_us(r.client_cpu) for r in runs):,.0f}",
                f"{statistics.median(r.per_call_us(r.redis_cpu) for r in runs):,.0f}",
            ]
        )
    ratio = statistics.median(rates["engine"]) / raw
    per_round = [e / r for e, r in zip(rates["engine"], rates["raw"], strict=True)]
    verdict = "met" if ratio >= 0.5 else "NOT met"
    body = "\n".join(
        [
            "## Economy: purchases per second",
            "",
            f"`make bench` runs `python -m bench.economy --seconds {args.seconds:g} "
            f"--rounds {args.rounds} --clients {args.clients}`: {args.clients} client "
            "processes per mode against the same Redis; raw, script, fingerprint and engine "
            "alternate for "
            f"{args.rounds} rounds, then HTTP. Redis, the clients and gunicorn share the "
            "machine's cores, so the absolute numbers are the machine's; the ratios are "
            "the result. Every call has an Idempotency-Key of its own: each is a purchase, "
            "never a replay.",
            "",
            table(
                [
                    "mode",
                    "per second, each round",
                    "median",
                    "ratio to raw",
                    "client CPU µs/call",
                    "Redis CPU µs/call",
                ],
                rows,
            ),
            "",
            "CPU per call is the medians over the rounds of the CPU time the client "
            "processes (for HTTP: the load generators only, not gunicorn) and the Redis "
            "server used, divided by the calls: where a call's cost lies.",
            "",
            "Target: the engine reaches at least half the raw ceiling. Measured: "
            f"{ratio:.2f} (rounds: {', '.join(f'{r:.2f}' for r in per_round)}), {verdict}.",
        ]
    )
    print(body)
    if not args.no_write:
        write_section("economy", body)


if __name__ == "__main__":
    main()
