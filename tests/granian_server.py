"""The Procfile's web server (granian) as the server tests run it, and raw HTTP to it.

tests/test_http_server.py (what granian answers itself and what reaches the app) and
tests/test_http_server_workers.py (its workers' recycling, sockets and signals) start
the Procfile's `web` command on a free loopback port with a migrated SQLite file of
its own, read its log, and speak to it over raw sockets.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

from engine import db, migrate
from tests.conftest import ADMIN_KEY, SERVER_KEY, real_redis_url

ROOT = Path(__file__).resolve().parent.parent


def server_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of the Procfile's server serving the app on this run's Redis
    database and a migrated SQLite file of its own."""
    url = f"sqlite:///{tmp_path / 'questboard.db'}"
    sql = db.connect(url)
    migrate.upgrade(sql)
    sql.dispose()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PROMETHEUS_MULTIPROC_DIR", "RQ_REDIS_URL")
    }
    return env | {
        "REDIS_URL": real_redis_url(),
        "API_KEYS": f"server:{SERVER_KEY},admin:{ADMIN_KEY}",
        "DATABASE_URL": url,
        **extra,
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def procfile_web_command() -> str:
    """The Procfile's `web` command, as `make run` and a Procfile host run it."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == "web":
            return command.strip()
    raise AssertionError("the Procfile has no web process")


def start_server(
    env: dict[str, str], *options: str, command: str | None = None
) -> tuple[subprocess.Popen, int]:
    """The Procfile's web command (or `command`; and `options` over it) on a free
    loopback port, one worker; returns once granian listens and a worker answers."""
    port = free_port()
    env = env | {
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    }
    command = " ".join([command or procfile_web_command(), "--no-access-log", *options])
    server = subprocess.Popen(
        ["sh", "-c", command],
        cwd=ROOT,
        env=env,
        stderr=subprocess.STDOUT,
        stdout=subprocess.PIPE,
    )
    server.start_log = log_until(server, rb"Listening at")  # type: ignore[attr-defined]
    wait_until_serving(server, port)
    return server, port


def wait_until_serving(server: subprocess.Popen, port: int, timeout: float = 60.0) -> None:
    """Poll /healthz until it answers: granian logs its worker as started before the
    worker has imported the app and accepts connections."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, "the server exited"
        try:
            if exchange(port, request_bytes("GET", "/healthz"))[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError("the server did not answer /healthz")


def wait_for_line(server: subprocess.Popen, pattern: bytes) -> re.Match:
    """Read the server's log up to the first line matching `pattern`."""
    for line in iter(server.stdout.readline, b""):
        found = re.search(pattern, line)
        if found:
            return found
    raise RuntimeError(f"the server exited with {server.wait()} before {pattern!r}")


def log_until(server: subprocess.Popen, pattern: bytes) -> bytes:
    """The server's log up to and with the first line matching `pattern`."""
    lines = []
    for line in iter(server.stdout.readline, b""):
        lines.append(line)
        if re.search(pattern, line):
            return b"".join(lines)
    raise RuntimeError(f"the server exited with {server.wait()} before {pattern!r}")


def log_until_started(server: subprocess.Popen, slot: int, seen: bytes = b"") -> bytes:
    """The server's log up to the lines of worker `slot`'s start, both of them: granian's
    main process logs "Spawning worker-N with PID" and the worker "Started worker-N",
    two processes on one pipe, so under load either may come first. `seen`: the log
    already read, which may hold the first of them."""
    patterns = {rf"Spawning worker-{slot} with PID".encode(), rf"Started worker-{slot}".encode()}
    patterns = {pattern for pattern in patterns if not re.search(pattern, seen)}
    lines = []
    for line in iter(server.stdout.readline, b""):
        lines.append(line)
        patterns = {pattern for pattern in patterns if not re.search(pattern, line)}
        if not patterns:
            return b"".join(lines)
    raise RuntimeError(f"the server exited with {server.wait()} before worker-{slot} started")


def stop_server(server: subprocess.Popen) -> bytes:
    """SIGTERM (the Procfile host's stop) and the rest of the server's log."""
    server.terminate()
    rest = server.stdout.read()
    assert server.wait(timeout=30) == 0
    server.stdout.close()
    return rest


def exchange(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read the whole answer: (status, headers lower-cased, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(request)
        received = bytearray()
        while chunk := conn.recv(65536):
            received += chunk
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split(" ")[1]), headers, body


def request_bytes(
    method: str, target: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: localhost", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
