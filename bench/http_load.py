"""HTTP load for the benchmarks: http.client processes, wrk, and an in-process profile."""

from __future__ import annotations

import cProfile
import http.client
import multiprocessing as mp
import os
import pstats
import random
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from statistics import median
from typing import Any

from bench.server import ROOT, SERVER_KEY, start_gunicorn
from config import Settings


def latencies(
    call: Callable[[Any], object], inputs: Sequence[Any], seconds: float, least: int = 5
) -> list[float]:
    """Microseconds per call, one at a time, for `seconds` (and at least `least` calls)."""
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(times) < least or time.perf_counter() < deadline:
        value = inputs[len(times) % len(inputs)]
        started = time.perf_counter()
        call(value)
        times.append((time.perf_counter() - started) * 1e6)
    return times


def _http_worker(seed: int, port: int, target: str, size: int, seconds: float, *sync) -> None:
    ready, start, results = sync
    rng = random.Random(seed)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Authorization": f"Bearer {SERVER_KEY}"}

    def call() -> int:
        connection.request("GET", target.format(n=rng.randrange(size)), None, headers)
        response = connection.getresponse()
        response.read()
        return response.status

    call()
    ready.release()
    start.wait()
    done = errors = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        errors += call() != 200
        done += 1
    results.put((done, errors))


def http_rate(port: int, target: str, size: int, clients: int, seconds: float) -> tuple[float, int]:
    """Requests/s and non-200 answers of `clients` processes started together."""
    sync = (mp.Semaphore(0), mp.Event(), mp.Queue())
    processes = [
        mp.Process(target=_http_worker, args=(n, port, target, size, seconds, *sync))
        for n in range(clients)
    ]
    for process in processes:
        process.start()
    for _ in processes:
        sync[0].acquire(timeout=60)
    sync[1].set()
    outcomes = [sync[2].get(timeout=seconds + 60) for _ in processes]
    for process in processes:
        process.join()
    return sum(done for done, _ in outcomes) / seconds, sum(e for _, e in outcomes)


WRK_SCRIPT = """
local size, template = %d, "%s"
math.randomseed(7)
request = function()
  local path = string.gsub(template, "{n}", tostring(math.random(0, size - 1)))
  return wrk.format("GET", path, {["Authorization"] = "Bearer %s"})
end
"""


def wrk_rate(port: int, target: str, size: int, seconds: float) -> tuple[float, int]:
    """Requests/s and non-2xx answers from wrk (2 threads, 8 connections): a load
    generator in C that leaves more of the two cores to the server than Python does."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(WRK_SCRIPT % (size, target, SERVER_KEY))
        script.flush()
        output = subprocess.run(
            [
                "wrk",
                "-t2",
                "-c8",
                f"-d{max(1, int(seconds))}s",
                "-s",
                script.name,
                f"http://127.0.0.1:{port}",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return rate, int(errors[1]) if errors else 0


def http_runs(url: str, targets: dict, workers: list[int], clients: list[int], s: float) -> list:
    """(workers, load generator, {target: requests/s}, non-200 answers) per configuration.

    Load from http.client processes always; from wrk too when it is installed."""
    rows = []
    for worker_count in workers:
        server, port = start_gunicorn(url, worker_count)
        try:
            http_rate(port, *next(iter(targets.values())), max(clients), 1.0)  # warm up
            for n in clients:
                runs = {name: http_rate(port, *target, n, s) for name, target in targets.items()}
                rates = {name: rate for name, (rate, _) in runs.items()}
                rows.append(
                    (
                        worker_count,
                        f"{n} http.client processes",
                        rates,
                        sum(e for _, e in runs.values()),
                    )
                )
                print(f"http {worker_count}w {n}c: {rates}", flush=True)
            if shutil.which("wrk"):
                runs = {name: wrk_rate(port, *target, s) for name, target in targets.items()}
                rates = {name: rate for name, (rate, _) in runs.items()}
                rows.append(
                    (worker_count, "wrk, 8 connections", rates, sum(e for _, e in runs.values()))
                )
                print(f"http {worker_count}w wrk: {rates}", flush=True)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    return rows


BARE_APPS = {"plain WSGI": "bench.bare_app:wsgi", "bare Flask": "bench.bare_app:flask_app"}


def bare_rates(url: str, workers: int, seconds: float) -> dict[str, float]:
    """wrk against the same gunicorn serving only `{}` (bench.bare_app); {} without wrk."""
    if not shutil.which("wrk"):
        return {}
    rates = {}
    for name, app in BARE_APPS.items():
        server, port = start_gunicorn(url, workers, app)
        try:
            wrk_rate(port, "/", 1, 1.0)  # warm up
            rates[name], _ = wrk_rate(port, "/", 1, seconds)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        print(f"http {workers}w wrk, {name}: {rates[name]:,.0f}/s", flush=True)
    return rates


def _file(path: str) -> str:
    """A profiled function's file, relative to site-packages or the project ("" if stdlib)."""
    for root in ("site-packages/", f"{ROOT}/"):
        if root in path:
            return path.split(root, 1)[1]
    return ""


def _where(path: str, name: str) -> str:
    if path == "~":
        return "socket I/O (waiting for Redis)" if "socket" in name else "other built-ins"
    return _file(path).split("/", 1)[0].removesuffix(".py") or "stdlib"


def profile_request(url: str, size: int, query: str, calls: int) -> tuple[float, list, list]:
    """The request in-process (one WSGI call): median µs, own time by package and function."""
    from werkzeug.test import create_environ

    from web import create_app

    env = {**os.environ, "REDIS_URL": url, "API_KEYS": f"server:{SERVER_KEY}"}
    app = create_app(Settings.from_env(env))
    rng, headers = random.Random(7), {"Authorization": f"Bearer {SERVER_KEY}"}
    paths = [f"/v1/leaderboards/weekly/players/p{rng.randrange(size)}" for _ in range(calls)]
    environs = [create_environ(p, query_string=query, headers=headers) for p in paths * 2]

    def call(environ: dict) -> None:
        body = app(environ, lambda status, headers, exc_info=None: None)
        b"".join(body)
        body.close()

    timed = latencies(call, environs[:calls], 0, least=calls)[3:]
    profiler = cProfile.Profile()
    profiler.runcall(lambda: [call(environ) for environ in environs[calls:]])
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = sum(row[2] for row in stats.values())
    by_package: Counter[str] = Counter()
    for (path, _, name), row in stats.items():
        by_package[_where(path, name)] += row[2]
    packages = [[name, f"{own / total:.0%}"] for name, own in by_package.most_common(8)]
    functions = [
        [
            f"`{name}`"
            if path == "~"
            else f"`{_file(path) or os.path.basename(path)}:{line} {name}`",
            f"{row[2] / total:.1%}",
            f"{row[3] / total:.0%}",
        ]
        for (path, line, name), row in sorted(stats.items(), key=lambda i: -i[1][2])[:10]
    ]
    return median(timed), packages, functions
