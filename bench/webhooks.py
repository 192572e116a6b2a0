"""Webhooks: events delivered per second, and purchases with 0 and 3 subscriptions.

    .venv/bin/python -m bench.webhooks --events 3000 --seconds 3 --rounds 3 --clients 2

Uses BENCH_REDIS_URL (default: a database leased with bench.redis_lease, flushed) and a
SQLite file of its own. The receiver is an http.server in a process of its own on a
loopback port, answering 200 to every POST.

1. Delivery: `--events` grants (spread over `--players` players) are persisted, then
   the webhooks job (engine.webhooks.delivery.run, what the RQ worker runs) sends
   them: events per second for one subscription, then deliveries per second with the
   same events going to three subscriptions.
2. The request path: engine purchases per second from `--clients` processes while a
   background process runs the persist and webhooks jobs back to back, with no
   subscription and with three subscriptions to every event type, alternating for
   `--rounds` rounds. Subscriptions are only read by the jobs, never by a purchase,
   so the two should differ by noise only.

Prints the results and the command, and writes the `webhooks` section of
docs/benchmarks.md (`--no-write`: print only).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import redis

from bench import economy, redis_lease
from bench.report import table, write_section
from bench.server import free_port, load_test_rules


def _receive(port: int, ready) -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver would

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    ready.set()
    server.serve_forever()


def _engine(url: str, sql_url: str):
    from engine.rules import load_rules
    from engine.runtime import Engine

    return Engine(
        redis=redis.Redis.from_url(url),
        rules=load_rules(load_test_rules()),
        database_url=sql_url,
        webhook_allow_private=True,
    )


def _jobs_loop(url: str, sql_url: str, stop) -> None:
    """The background jobs, back to back: persist, then send what is due."""
    from engine.ops import persistence
    from engine.webhooks import delivery

    engine = _engine(url, sql_url)
    client = delivery.new_client()
    while not stop.is_set():
        persistence.persist(engine)
        delivery.run(engine, client=client)
        time.sleep(0.05)


def _deliver_all(engine) -> tuple[int, float]:
    from engine.webhooks import delivery, subscriptions

    client = delivery.new_client()
    started = time.perf_counter()
    sent = 0
    while subscriptions.pending_count(engine):
        sent += delivery.run(engine, client=client).delivered
    client.close()
    return sent, time.perf_counter() - started


def _clear_subscriptions(engine) -> None:
    from engine.webhooks import subscriptions

    for subscription in subscriptions.listing(engine):
        subscriptions.delete(engine, subscription.id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--players", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=3.0, help="per purchase round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--no-write", action="store_true", help="print, do not write the doc")
    args = parser.parse_args()

    from engine import db, migrate
    from engine.economy import grants
    from engine.ops import persistence
    from engine.webhooks import subscriptions

    url = redis_lease.benchmark_url()
    connection = redis.Redis.from_url(url)
    connection.flushdb()
    folder = tempfile.TemporaryDirectory()
    sql_url = f"sqlite:///{Path(folder.name) / 'bench.db'}"
    sql = db.connect(sql_url)
    migrate.upgrade(sql)
    sql.dispose()
    port, ready = free_port(), mp.Event()
    receiver = mp.Process(target=_receive, args=(port, ready), daemon=True)
    receiver.start()
    ready.wait(30)
    hook = f"http://127.0.0.1:{port}/hooks"
    engine = _engine(url, sql_url)

    delivery_rates = []
    for count in (1, 3):
        _clear_subscriptions(engine)
        for _ in range(count):
            subscriptions.create(engine, hook, ["grant.applied"])
        for n in range(args.events):
            grants.grant(engine, f"w{count}-{n % args.players}", {"coins": 1}, "bench", f"g{n}")
        persistence.persist(engine)
        sent, seconds = _deliver_all(engine)
        delivery_rates.append((count, sent, seconds))
        print(
            f"delivery, {count} subscription(s): {sent:,} deliveries of {args.events:,} events "
            f"in {seconds:.2f} s = {sent / seconds:,.0f}/s",
            flush=True,
        )

    economy.fund_everyone(url, args.clients)
    rates: dict[int, list[float]] = {0: [], 3: []}
    for round_number in range(args.rounds):
        for count in (0, 3):
            _clear_subscriptions(engine)
            for _ in range(count):
                subscriptions.create(engine, hook, ["*"])
            stop = mp.Event()
            jobs = mp.Process(target=_jobs_loop, args=(url, sql_url, stop))
            jobs.start()
            run = economy.measure("engine", url, args.clients, args.seconds, url)
            stop.set()
            jobs.join(timeout=120)
            rates[count].append(run.rate)
            print(
                f"round {round_number + 1}, {count} subscriptions: {run.rate:,.0f} purchases/s",
                flush=True,
            )
    receiver.terminate()
    connection.flushdb()

    zero, three = statistics.median(rates[0]), statistics.median(rates[3])
    command = " ".join(
        [
            ".venv/bin/python -m bench.webhooks",
            f"--events {args.events} --players {args.players}",
            f"--seconds {args.seconds:g} --rounds {args.rounds} --clients {args.clients}",
        ]
    )
    rows = [
        [
            f"deliveries per second, {count} subscription(s)",
            f"{sent:,} in {seconds:.2f} s",
            f"{sent / seconds:,.0f}",
        ]
        for count, sent, seconds in delivery_rates
    ]
    for count in (0, 3):
        each = " / ".join(f"{r:,.0f}" for r in rates[count])
        rows.append(
            [
                f"engine purchases per second, {count} subscriptions",
                each,
                f"{statistics.median(rates[count]):,.0f}",
            ]
        )
    spread = max((max(v) - min(v)) / statistics.median(v) for v in rates.values())
    load = " / ".join(f"{n:.1f}" for n in os.getloadavg())
    body = "\n".join(
        [
            "## Webhooks: deliveries per second, purchases with and without subscriptions",
            "",
            f"`{command}`. The receiver is an http.server in a process of its own on a "
            f"loopback port. Delivery: {args.events:,} grant events over {args.players} "
            "players, persisted, then sent by the webhooks job (16 concurrent POSTs a pass, "
            "in order per player). Purchases: engine purchases from "
            f"{args.clients} processes while the persist and webhooks jobs run back to back "
            "beside them, with no subscription and with three to every event type, "
            "alternating round by round. A purchase never reads the subscriptions; "
            "with three, the jobs beside it do more work on the same cores.",
            "",
            table(["measurement", "each round", "median"], rows),
            "",
            f"Purchases with three subscriptions / with none: {three / zero:.2f}; the "
            f"widest round-to-round spread within one setting was {spread:.0%} of its "
            f"median. Load average during the run (1/5/15 min): {load} on "
            f"{os.cpu_count()} CPUs shared with other work.",
        ]
    )
    print()
    print(body)
    print(f"\nrepeat: {command}")
    if not args.no_write:
        write_section("webhooks", body)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
