"""Purchases and exam ingestion on Redis Cluster against one Redis, side by side.

    make bench-cluster     # or: .venv/bin/python -m bench.cluster --seconds 1 --rounds 1 --no-write

Starts, on loopback, a standalone redis-server of its own (bench.private_redis), a
one-master and a three-master Redis Cluster, and a three-master cluster with one replica
each (scripts/redis_cluster.py). The same engine code (engine.economy.purchases.purchase,
one purchase a call; engine.boards.exams.record_exams, 100 exams a call) runs from the
same number of client processes for the same time against each, with the same players;
the targets alternate round by round. On the cluster with replicas, purchases run twice:
as they are, and with REDIS_WAIT_REPLICAS=1 (engine.replication), which answers only once
a replica holds the write: the cost of that guarantee.

Every Redis server and every client share this machine's cores, so more masters add no
CPU: the figures show what the cluster costs per operation (client redirection logic,
more connections, a pipeline split per node), not what three machines would give.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import random
import shlex
import statistics
import sys
import time
from dataclasses import dataclass

import redis

from bench.private_redis import private_redis
from bench.report import table, write_section
from bench.server import load_test_rules

PLAYERS_PER_CLIENT = 200
EXAM_BATCH = 100
FUNDS = 10**12
CATEGORIES = ("math", "science", "history", "geography", "language")


@dataclass(frozen=True)
class Target:
    label: str
    nodes: tuple[tuple[str, int], ...]  # startup nodes; one standalone server: cluster=False
    cluster: bool
    wait_replicas: int = 0

    def client(self):
        from redis.cluster import ClusterNode, RedisCluster

        if not self.cluster:
            host, port = self.nodes[0]
            return redis.Redis(host=host, port=port)
        return RedisCluster(startup_nodes=[ClusterNode(h, p) for h, p in self.nodes])

    def engine(self):
        from engine import Engine
        from engine.replication import ReplicaWait
        from engine.rules import load_rules

        wait = ReplicaWait(self.wait_replicas, 1_000)
        return Engine(redis=self.client(), rules=load_rules(load_test_rules()), replica_wait=wait)


def players(client: int) -> list[str]:
    return [f"cb-{client}-{n}" for n in range(PLAYERS_PER_CLIENT)]


def prepare(mode: str, target: Target, client: int, run: int):
    """One call of `mode` for this client process; keys and exam ids new in every run."""
    from engine.boards import exams
    from engine.economy import purchases

    engine = target.engine()
    names = players(client)
    if mode == "purchase":
        return lambda n: purchases.purchase(
            engine, names[n % len(names)], "logs", 1, f"r{run}-{client}-{n}"
        )
    rng = random.Random(client)

    def batch(n: int) -> None:
        submissions = []
        for i in range(EXAM_BATCH):
            questions = rng.randrange(5, 30)
            correct = rng.randrange(questions + 1)
            exam = exams.Exam(
                f"r{run}-{n}-{i}", rng.choice(CATEGORIES), 10 * correct, questions, correct
            )
            submissions.append((rng.choice(names), exam))
        exams.record_exams(engine, submissions)

    return batch


def _worker(mode, target, client, run, seconds, ready, start, results) -> None:
    call = prepare(mode, target, client, run)
    call(-1)  # warm up: connections open, slot map read, scripts loaded
    ready.release()
    start.wait()
    cpu, done = time.process_time(), 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        call(done)
        done += 1
    results.put((done, time.process_time() - cpu))


def server_cpu(ports: list[int]) -> float:
    total = 0.0
    for port in ports:
        with contextlib.closing(redis.Redis(port=port)) as connection:
            info = connection.info("cpu")
        total += float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
    return total


@dataclass(frozen=True)
class Run:
    operations: int  # purchases, or exams
    seconds: float
    client_cpu: float
    redis_cpu: float  # every server of the target, replicas included

    @property
    def rate(self) -> float:
        return self.operations / self.seconds


def measure(mode: str, target: Target, ports: list[int], clients: int, seconds: float, run: int):
    ready, start, results = mp.Semaphore(0), mp.Event(), mp.Queue()
    processes = [
        mp.Process(target=_worker, args=(mode, target, n, run, seconds, ready, start, results))
        for n in range(clients)
    ]
    for process in processes:
        process.start()
    for _ in processes:
        ready.acquire(timeout=120)
    before = server_cpu(ports)
    start.set()
    outcomes = [results.get(timeout=seconds + 120) for _ in processes]
    redis_cpu = server_cpu(ports) - before
    for process in processes:
        process.join()
    per_call = EXAM_BATCH if mode == "exams" else 1
    calls = sum(done for done, _ in outcomes)
    return Run(calls * per_call, seconds, sum(cpu for _, cpu in outcomes), redis_cpu)


def fund(target: Target, clients: int) -> None:
    from engine import keys

    client = target.client()
    pipe = client.pipeline(transaction=False)
    for n in range(clients):
        for player in players(n):
            pipe.hset(keys.wallet(player), "coins", FUNDS)
    pipe.execute()
    client.close()


def latencies(engines: list, calls: int, block: int = 50) -> list[list[float]]:
    """Milliseconds of each purchase made one at a time from this process, per engine;
    the engines take turns in blocks, so the machine's other work falls on all alike."""
    from engine.economy import purchases

    names, times = players(0), [[] for _ in engines]
    for first in range(0, calls, block):
        for slot, engine in enumerate(engines):
            for n in range(first, first + block):
                started = time.perf_counter()
                purchases.purchase(engine, names[n % len(names)], "logs", 1, f"lat-{slot}-{n}")
                times[slot].append((time.perf_counter() - started) * 1000)
    return times


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def render(args, measured: dict[tuple[str, str], list[Run]], labels: list[str]) -> str:
    rows = []
    base = {
        mode: statistics.median(r.rate for r in measured[(labels[0], mode)])
        for mode in ("purchase", "exams")
    }
    for label in labels:
        row = [label]
        for mode in ("purchase", "exams"):
            runs = measured.get((label, mode))
            if not runs:
                row += ["", "", ""]
                continue
            rate = statistics.median(r.rate for r in runs)
            redis_us = statistics.median(r.redis_cpu / r.operations * 1e6 for r in runs)
            client_us = statistics.median(r.client_cpu / r.operations * 1e6 for r in runs)
            row += [
                " / ".join(f"{r.rate:,.0f}" for r in runs) + f" (median {rate:,.0f})",
                f"{rate / base[mode]:.2f}",
                f"{redis_us:,.0f} / {client_us:,.0f}",
            ]
        rows.append(row)
    columns = [
        "target", "purchases/s, each round", "ratio", "CPU µs/purchase: Redis / clients",
        "exams/s, each round", "ratio", "CPU µs/exam: Redis / clients",
    ]  # fmt: skip
    command = shlex.join([".venv/bin/python", "-m", "bench.cluster", *sys.argv[1:]])
    return "\n".join(
        [
            "## Redis Cluster against one Redis",
            "",
            f"`make bench-cluster` runs `{command}`: {args.clients} client processes per "
            f"target, {args.seconds:g} s a run, {args.rounds} rounds with the targets "
            "alternating; purchases are `purchases.purchase` (a new key each), exams "
            f"`record_exams` with {EXAM_BATCH} a call. Ratio: to the standalone server. "
            "CPU per operation (medians over the rounds): every Redis server of the target "
            "(replicas included), and the client processes.",
            "",
            table(columns, rows),
        ]
    )


def render_latency(labels: list[str], times: list[list[float]]) -> str:
    rows = [
        [label, f"{percentile(t, 0.5):.2f}", f"{percentile(t, 0.99):.2f}"]
        for label, t in zip(labels, times, strict=True)
    ]
    return "\n".join(
        [
            f"One purchase at a time from one process, {len(times[0]):,} per target, the "
            "targets taking turns in blocks of 50 (milliseconds, the whole engine call):",
            "",
            table(["target", "p50 ms", "p99 ms"], rows),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    from scripts.redis_cluster import running_cluster

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clients", type=int, default=4, help="load-generating processes")
    parser.add_argument("--latency-calls", type=int, default=1_000, help="per target")
    parser.add_argument("--no-write", action="store_true", help="print, do not write the doc")
    args = parser.parse_args(argv)
    print("    " + shlex.join([".venv/bin/python", "-m", "bench.cluster", *sys.argv[1:]]))
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(private_redis())
        port = redis.Redis.from_url(url).connection_pool.connection_kwargs["port"]
        one = stack.enter_context(running_cluster(masters=1))
        three = stack.enter_context(running_cluster(masters=3))
        replicated = stack.enter_context(running_cluster(masters=3, replicas=1))

        def nodes(cluster) -> tuple[tuple[str, int], ...]:
            return tuple(("127.0.0.1", node.port) for node in cluster.masters)

        def ports(cluster) -> list[int]:
            return [node.port for node in cluster.nodes]

        targets = [
            (Target("one Redis (standalone)", (("127.0.0.1", port),), False), [port]),
            (Target("cluster, 1 master", nodes(one), True), ports(one)),
            (Target("cluster, 3 masters", nodes(three), True), ports(three)),
            (Target("cluster, 3 masters + 3 replicas", nodes(replicated), True), ports(replicated)),
            (
                Target("the same, REDIS_WAIT_REPLICAS=1", nodes(replicated), True, 1),
                ports(replicated),
            ),
        ]
        for target, _ in targets:
            fund(target, args.clients)
        measured: dict[tuple[str, str], list[Run]] = {}
        run = 0
        for round_number in range(args.rounds):
            for target, target_ports in targets:
                for mode in ("purchase", "exams"):
                    if mode == "exams" and target.wait_replicas:
                        continue  # exams are not waited for (engine.replication)
                    run += 1
                    result = measure(mode, target, target_ports, args.clients, args.seconds, run)
                    measured.setdefault((target.label, mode), []).append(result)
                    print(
                        f"round {round_number + 1} {target.label} {mode}: {result.rate:,.0f}/s",
                        flush=True,
                    )
        engines = [target.engine() for target, _ in targets]
        times = latencies(engines, args.latency_calls)
    labels = [target.label for target, _ in targets]
    body = render(args, measured, labels) + "\n\n" + render_latency(labels, times)
    print(body)
    if not args.no_write:
        write_section("cluster", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
