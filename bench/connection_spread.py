"""How granian's workers share connections opened at once: trials of a few keep-alive
connections opened one after the other before any request (a game server's pool), a
request on each, and which worker answered each (tests/worker_pid_app.py answers its
worker's pid). Prints how many trials put every connection on one worker, and the
splits. No Redis: the app is a bare WSGI function.

    python -m bench.connection_spread                   # the Procfile's launcher
    python -m bench.connection_spread --plain           # plain granian, a socket a worker
    git show f463f2c:scripts/shared_socket_granian.py > /tmp/one_socket.py
    python -m bench.connection_spread --launcher /tmp/one_socket.py   # another launcher

With a socket a worker (the launcher's slots, plain granian) the kernel hashes each
connection's addresses to a socket: all K of K on one of 2 workers has probability
2 / 2**K per trial (K=8: 0.8%).
"""

from __future__ import annotations

import argparse
import collections
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

from bench.server import free_port

ROOT = Path(__file__).resolve().parent.parent
APP = "tests.worker_pid_app:app"


def answering_pid(conn: socket.socket) -> int:
    """One request on a keep-alive connection, left open: the pid that answered."""
    conn.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    received = b""
    while b"\r\n\r\n" not in received or len(received.partition(b"\r\n\r\n")[2]) < int(
        re.search(rb"(?im)^content-length: *(\d+)", received).group(1)
    ):
        chunk = conn.recv(4096)
        if not chunk:
            raise ConnectionError("closed before the whole answer")
        received += chunk
    return int(received.partition(b"\r\n\r\n")[2])


def one_trial(port: int, connections: int) -> collections.Counter:
    """Connections opened at once, then a request on each: answers by worker pid."""
    opened = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(connections)]
    try:
        return collections.Counter(answering_pid(conn) for conn in opened)
    finally:
        for conn in opened:
            conn.close()


def wait_for_workers(port: int, workers: int, seconds: float = 60) -> None:
    """Return once `workers` different workers have answered (a connection each)."""
    deadline = time.monotonic() + seconds
    seen: set[int] = set()
    while len(seen) < workers:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(seen)} of {workers} workers answered")
        try:
            seen |= set(one_trial(port, 1))
        except OSError:
            time.sleep(0.1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    started = parser.add_mutually_exclusive_group()
    started.add_argument("--plain", action="store_true", help="plain granian")
    started.add_argument("--launcher", type=Path, help="a launcher file run with python")
    args = parser.parse_args(argv)

    if args.plain:
        command = [str(Path(sys.executable).parent / "granian")]
    elif args.launcher:  # run from here, its folder not first on sys.path
        run = f"import runpy; runpy.run_path({str(args.launcher.resolve())!r}, run_name='__main__')"
        command = [sys.executable, "-c", run]
    else:
        command = [sys.executable, "-m", "scripts.shared_socket_granian"]
    port = free_port()
    command += ["--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(args.workers), "--blocking-threads", "4", "--no-ws"]
    command += ["--log-level", "warning", APP]
    server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
    try:
        wait_for_workers(port, args.workers)
        splits: collections.Counter = collections.Counter()
        for _ in range(args.trials):
            answers = one_trial(port, args.connections)
            counts = sorted(answers.values(), reverse=True)
            splits["+".join(map(str, counts + [0] * (args.workers - len(counts))))] += 1
            time.sleep(0.2)  # the previous trial's connections closed on the server too
    finally:
        server.terminate()
        server.wait(timeout=30)
    all_on_one = splits[f"{args.connections}" + "+0" * (args.workers - 1)]
    print(
        f"{args.launcher or ('granian' if args.plain else 'the launcher')}: all "
        f"{args.connections} connections on one of "
        f"{args.workers} workers in {all_on_one} of {args.trials} trials; splits "
        + ", ".join(f"{split} x{count}" for split, count in splits.most_common())
    )


if __name__ == "__main__":
    main()
