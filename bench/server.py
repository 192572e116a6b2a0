"""The service under load in the benchmarks: its rules opened up for load, gunicorn
(sync or gthread) or granian (the Procfile's launcher, or plain granian) serving it (or
another app) on a free port."""

from __future__ import annotations

import atexit
import http.client
import os
import random
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVER_KEY = "bench-server-key"
# This process's own file (its servers inherit the URL): two runs on one machine, from
# two clones or a benchmark beside the suite, never share one. Removed when it exits.
_DATABASE_FILE = Path(tempfile.gettempdir()) / f"questboard-bench-{os.getpid()}.db"
DATABASE_URL = f"sqlite:///{_DATABASE_FILE}"
atexit.register(_DATABASE_FILE.unlink, missing_ok=True)
_MIGRATED: set[str] = set()
_MIGRATING = threading.Lock()

LOWEST_SERVER_PORT = 10_000


def _first_outgoing_port() -> int:
    """The start of the kernel's range for outgoing connections' local ports."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768  # Linux's default


def free_port() -> int:
    """A port free now, picked at random below the ports of outgoing connections.

    bind(0) picks from the range the kernel also gives outgoing connections, so wrk's
    or another run's connections could take the port before the server binds it
    (gunicorn then fails with "Connection in use"); below it only listeners compete,
    and a random pick makes two runs picking at once unlikely to meet.
    """
    ceiling = _first_outgoing_port()
    for _ in range(200):
        port = random.randrange(LOWEST_SERVER_PORT, ceiling)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port from {LOWEST_SERVER_PORT} to {ceiling - 1}")


def load_test_rules() -> Path:
    """The shipped rules with the per-player defenses opened up: a benchmark's few
    clients make thousands of changes a second, which the rules rightly refuse from
    a person (rapid fire, 10 purchases a minute). Everything else is unchanged."""
    text = (ROOT / "rules.toml").read_text()
    text = re.sub(r"max_changes_per_second = \d+", "max_changes_per_second = 10000", text)
    text = re.sub(r'"\d+/(second|minute|hour|day)"', '"1000000/second"', text)
    # This process's own file, as DATABASE_URL: a run in another clone may have other rules.
    path = Path(tempfile.gettempdir()) / f"questboard-bench-rules-{os.getpid()}.toml"
    partial = path.with_suffix(f".{threading.get_ident()}.tmp")  # threads call this at once:
    partial.write_text(text)  # each writes its own file and swaps it in whole
    partial.replace(path)
    atexit.register(path.unlink, missing_ok=True)
    return path


SERVERS = ("gunicorn-sync", "gunicorn-gthread", "granian", "granian-reuseport")
GRANIAN_KINDS = ("granian", "granian-reuseport")


def server_command(
    server: str,
    port: int,
    workers: int,
    app: str,
    threads: int = 4,
    granian_options: Sequence[str] = (),
) -> list[str]:
    """The command line of one server kind serving `app` ("module:attr", or
    "module:factory()") with `workers` processes. Access logs off for every kind.

    gunicorn reads gunicorn.conf.py (worker recycling after max_requests, keep-alive)
    for both of its kinds; the worker class and threads given here override it.
    gunicorn-sync is one request at a time a worker (no keep-alive: a connection per
    request; `--threads 1`, or gunicorn would switch to gthread); gunicorn-gthread, the
    former Procfile server, runs `threads` threads a worker with keep-alive.

    granian is the Procfile's: its WSGI interface with `threads` blocking threads a
    worker, started through scripts/shared_socket_granian.py, whose main process keeps
    a listening socket for each worker slot. granian-reuseport is plain `granian` with
    the same options, a socket of its own for each worker (SO_REUSEPORT) that closes
    with it, for comparison.
    `granian_options` are added to either granian's options (a candidate setting)."""
    bin_dir = Path(sys.executable).parent
    if server in GRANIAN_KINDS:
        target, factory = app.removesuffix("()"), app.endswith("()")
        if server == "granian":
            command = [sys.executable, "-m", "scripts.shared_socket_granian"]
        else:
            command = [str(bin_dir / "granian")]
        command += ["--interface", "wsgi", "--host", "127.0.0.1"]
        command += ["--port", str(port), "--workers", str(workers)]
        command += ["--blocking-threads", str(threads), "--no-ws", "--log-level", "warning"]
        # the Procfile's buffer limit and recycling (its lifetime, past any run, left out)
        command += ["--http1-buffer-size", "65536", "--workers-max-rss", "512"]
        command += ["--respawn-failed-workers", "--workers-kill-timeout", "10"]
        command += granian_options
        return [*command, *(["--factory"] if factory else []), target]
    if server not in ("gunicorn-sync", "gunicorn-gthread"):
        raise ValueError(f"unknown server {server!r}: one of {', '.join(SERVERS)}")
    command = [str(bin_dir / "gunicorn"), "--no-control-socket", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(workers), "--log-level", "warning"]
    if server == "gunicorn-gthread":
        command += ["--worker-class", "gthread", "--threads", str(threads), "--keep-alive", "30"]
    else:
        command += ["--worker-class", "sync", "--threads", "1"]
    return [*command, app]


def launch_server(
    server: str,
    url: str,
    workers: int,
    app: str = "web:create_app()",
    threads: int = 4,
    granian_options: Sequence[str] = (),
) -> tuple[subprocess.Popen, int]:
    """`app` being started by `server` on a free port (see `wait_until_serving`).

    Its metrics are multi-process, in a folder of its own, as under `make run`."""
    port = free_port()
    metrics_dir = tempfile.mkdtemp(prefix="questboard-bench-metrics-")
    atexit.register(shutil.rmtree, metrics_dir, ignore_errors=True)
    env = dict(
        os.environ,
        REDIS_URL=url,
        API_KEYS=f"server:{SERVER_KEY}",
        RULES_FILE=str(load_test_rules()),
        DATABASE_URL=migrated(DATABASE_URL),
        PROMETHEUS_MULTIPROC_DIR=metrics_dir,
    )
    process = subprocess.Popen(
        server_command(server, port, workers, app, threads, granian_options), cwd=ROOT, env=env
    )
    return process, port


def migrated(url: str) -> str:
    """The URL, its database brought to the current schema once in this process: the
    web process refuses one that is not (scripts/shared_socket_granian.py)."""
    with _MIGRATING:  # threads launch servers at once
        if url not in _MIGRATED:
            from engine import db, migrate

            sql = db.connect(url)
            try:
                migrate.upgrade(sql)
            finally:
                sql.dispose()
            _MIGRATED.add(url)
    return url


def wait_until_serving(process: subprocess.Popen, port: int, seconds: float = 60) -> None:
    """Return once a worker answers; kill the server if none does in time."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        if _answers_http(port):
            return
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{shlex.join(map(str, process.args))} did not start")


def start_server(
    server: str, url: str, workers: int, app: str = "web:create_app()", threads: int = 4
) -> tuple[subprocess.Popen, int]:
    """`app` served by `server` on a free port, once a worker answers."""
    process, port = launch_server(server, url, workers, app, threads)
    wait_until_serving(process, port)
    return process, port


def _answers_http(port: int) -> bool:
    """True once a worker answers (any status): a bound socket alone may have no worker
    behind it yet, and a load run started then would measure the workers' start-up."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/")
        connection.getresponse().read()
        return True
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def start_gunicorn(
    url: str, workers: int, app: str = "web:create_app()"
) -> tuple[subprocess.Popen, int]:
    return start_server("gunicorn-sync", url, workers, app)
