"""The service as deployed: the Procfile's granian, spoken to over raw sockets.

granian's HTTP layer (Rust) answers some requests itself, before the app sees them: a
malformed request line or header, a bad Content-Length, a request head over the
Procfile's --http1-buffer-size or with more than 100 headers. Its answer is a status
with an empty body (the tests below pin which); everything else reaches the app and
its JSON error body, and a chunked body meets the size limit as a declared one does.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine import db, migrate
from tests.conftest import ADMIN_KEY, SERVER_KEY, _connect_real_redis, real_redis_url

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


def start_server(env: dict[str, str], *options: str) -> tuple[subprocess.Popen, int]:
    """The Procfile's web command (and `options` over it) on a free loopback port, one
    worker; returns once granian listens and its worker has started."""
    port = free_port()
    env = env | {
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    }
    command = " ".join([procfile_web_command(), "--no-access-log", *options])
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


def stop_server(server: subprocess.Popen) -> bytes:
    """SIGTERM (the Procfile host's stop) and the rest of the server's log."""
    server.terminate()
    rest = server.stdout.read()
    assert server.wait(timeout=30) == 0
    server.stdout.close()
    return rest


@pytest.fixture(scope="module")
def server_port(tmp_path_factory):
    """The Procfile's web server on a port of its own, serving this run's Redis database."""
    redis_client = _connect_real_redis()  # skips (or fails in CI) without a server
    redis_client.flushdb()  # the run's own leased database
    server, port = start_server(server_env(tmp_path_factory.mktemp("server")))
    try:
        yield port
    finally:
        stop_server(server)
        redis_client.flushdb()
        redis_client.close()


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


def json_error(headers: dict[str, str], body: bytes) -> dict:
    assert headers["content-type"] == "application/json"
    assert int(headers["content-length"]) == len(body)
    error = json.loads(body)
    assert set(error) == {"error"}
    assert set(error["error"]) == {"code", "message", "details"}
    return error["error"]


def test_a_plain_request_is_served(server_port):
    status, _, body = exchange(server_port, request_bytes("GET", "/healthz"))
    assert status == 200
    assert json.loads(body)["status"] == "ok"


def granian_answer(headers: dict[str, str], body: bytes) -> None:
    """granian's own answer to a request its HTTP layer rejects: a status, no body, the
    connection closed. The app never sees the request."""
    assert body == b""
    assert headers["content-length"] == "0"
    assert headers["connection"] == "close"
    assert "content-type" not in headers


@pytest.mark.parametrize(
    "raw",
    [
        b"GARBAGE\r\n\r\n",
        b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n",
        b"G\x01T /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /he\x00althz HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /v1/players/\xff/wallet HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Name: 1\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n",
        b"POST /v1/catalog HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    ],
    ids=[
        "request-line",
        "version",
        "method",
        "nul-in-path",
        "not-utf8-path",
        "header-name",
        "folded-header",
        "bad-length",
    ],
)
def test_a_request_granian_cannot_parse_is_its_own_empty_400(server_port, raw):
    status, headers, body = exchange(server_port, raw)
    assert status == 400
    granian_answer(headers, body)


def test_a_length_beside_chunked_reaches_the_app_as_chunked(server_port):
    raw = (
        b"POST /v1/catalog HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 3\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    )
    status, headers, body = exchange(server_port, raw)
    assert status == 401  # the app's answer: no API key
    assert json_error(headers, body)["code"] == "unauthorized"


def test_a_request_head_over_the_buffer_is_granians_own_431(server_port):
    """The Procfile's --http1-buffer-size 65536 bounds the request line with the headers."""
    target = "/v1/catalog?pad=" + "x" * 70_000
    status, headers, body = exchange(server_port, request_bytes("GET", target))
    assert status == 431
    granian_answer(headers, body)
    large = {"X-Pad": "x" * 70_000}
    status, headers, body = exchange(server_port, request_bytes("GET", "/healthz", large))
    assert status == 431
    granian_answer(headers, body)


def test_more_than_a_hundred_headers_is_granians_own_431(server_port):
    many = {f"X-Pad-{n}": "1" for n in range(200)}
    status, headers, body = exchange(server_port, request_bytes("GET", "/healthz", many))
    assert status == 431
    granian_answer(headers, body)


def test_a_long_uri_and_header_under_the_buffer_reach_the_app(server_port):
    target = "/v1/catalog?pad=" + "x" * 10_000
    status, headers, body = exchange(server_port, request_bytes("GET", target))
    assert status == 401
    assert json_error(headers, body)["code"] == "unauthorized"
    large = {"X-Pad": "x" * 20_000}
    assert exchange(server_port, request_bytes("GET", "/healthz", large))[0] == 200


def test_a_bad_chunk_size_reaches_the_app_as_an_empty_body(server_port):
    request = request_bytes(
        "POST",
        "/v1/admin/players/alice/grants",
        {
            "Authorization": f"Bearer {ADMIN_KEY}",
            "Idempotency-Key": "chunk",
            "Content-Type": "application/json",
            "Transfer-Encoding": "chunked",
        },
        b"zz\r\n{}\r\n0\r\n\r\n",
    )
    status, headers, body = exchange(server_port, request)
    assert status == 400
    assert json_error(headers, body)["code"] == "validation_error"


def chunked(body: bytes, size: int = 4096) -> bytes:
    parts = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts) + b"0\r\n\r\n"


def grant_request(body: bytes, key: str) -> bytes:
    return request_bytes(
        "POST",
        "/v1/admin/players/alice/grants",
        {
            "Authorization": f"Bearer {ADMIN_KEY}",
            "Idempotency-Key": key,
            "Content-Type": "application/json",
            "Transfer-Encoding": "chunked",
        },
        chunked(body),
    )


def test_a_chunked_body_over_the_limit_is_a_json_413(server_port):
    body = json.dumps({"resources": {"coins": 5}, "reason": "big"}).encode()
    status, headers, answer = exchange(
        server_port, grant_request(body + b" " * 40_000, "chunked-big")
    )
    assert status == 413
    assert json_error(headers, answer) == {
        "code": "validation_error",
        "message": "The request body is too large.",
        "details": {"body": ["The request body is too large."]},
    }


def test_a_chunked_body_under_the_limit_is_read_whole(server_port):
    body = json.dumps({"resources": {"coins": 5}, "reason": "small"}).encode()
    status, _, answer = exchange(server_port, grant_request(body + b" " * 10_000, "chunked-ok"))
    assert status == 201
    assert json.loads(answer)["balances"]["coins"] == 5


def test_the_procfile_serves_with_granian_recycling_workers_by_age_and_memory():
    command = procfile_web_command()
    assert command.startswith("exec python -m scripts.shared_socket_granian --interface wsgi ")
    for option in ("--workers-lifetime", "--workers-max-rss", "--blocking-threads"):
        assert re.search(re.escape(option) + r" \S+", command)
    assert "--respawn-failed-workers" in command
    assert "--factory web:create_app" in command


def requests_counted(port: int, route: str) -> float:
    """questboard_http_requests_total of `route`, summed over statuses, from /metrics."""
    status, _, body = exchange(port, request_bytes("GET", "/metrics"))
    assert status == 200
    name = f'questboard_http_requests_total{{route="{route}",status="'
    pattern = re.escape(name) + r'\d+"\} (\S+)$'
    return sum(float(value) for value in re.findall(pattern, body.decode(), re.MULTILINE))


def dead_workers_live_gauge(metrics: Path) -> Path:
    """A live gauge's file left by a worker that is gone, as a killed worker leaves it."""
    code = (
        "from prometheus_client import Gauge\n"
        "Gauge('questboard_left_behind', 'x', multiprocess_mode='livesum').set(1)\n"
    )
    env = os.environ | {"PROMETHEUS_MULTIPROC_DIR": str(metrics)}
    gone = subprocess.run([sys.executable, "-c", code], env=env, check=True)
    del gone
    (left,) = metrics.glob("gauge_livesum_*.db")
    return left


def metrics_server(tmp_path: Path, *options: str) -> tuple[subprocess.Popen, int, Path]:
    """The Procfile's server with multi-process metrics, started after a worker that is
    gone left a live gauge's file in their folder."""
    _connect_real_redis().close()  # skips (or fails in CI) without a server
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    left_behind = dead_workers_live_gauge(metrics)
    env = server_env(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(metrics))
    server, port = start_server(env, *options)
    return server, port, left_behind


CATALOG = request_bytes("GET", "/v1/catalog", {"Authorization": f"Bearer {SERVER_KEY}"})


def test_a_worker_over_its_memory_limit_is_replaced_and_its_requests_still_count(tmp_path):
    """Recycling by memory (a 1 MiB limit, sampled every second): the worker is replaced
    without a request refused, the totals keep what the old worker served, and the
    first worker dropped the live files of the process that was gone before it."""
    options = ("--workers-max-rss", "1", "--rss-sample-interval", "1", "--respawn-interval", "0")
    server, port, left_behind = metrics_server(tmp_path, *options)
    try:
        assert not left_behind.exists()
        statuses = [exchange(port, CATALOG)[0] for _ in range(2)]
        wait_for_line(server, rb"worker-1 RSS over threshold, gracefully respawning")
        wait_for_line(server, rb"Stopped old worker-1")
        statuses += [exchange(port, CATALOG)[0] for _ in range(2)]
        assert statuses == [200] * 4
        assert requests_counted(port, "/v1/catalog") == 4
    finally:
        stop_server(server)


def listening_sockets(port: int) -> set[int]:
    """The inodes of the TCP sockets listening on `port` on this machine."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port, state, inode = int(fields[1].rsplit(":", 1)[1], 16), fields[3], fields[9]
        if local_port == port and state == "0A":  # TCP_LISTEN
            inodes.add(int(inode))
    return inodes


def test_the_workers_share_one_listening_socket_that_outlives_them(tmp_path):
    """granian's main process keeps the one listening socket of the address
    (scripts/shared_socket_granian.py): both workers accept on it, and both replaced
    leave it as it was. granian's advice to set net.ipv4.tcp_migrate_req, which is about
    sockets of the workers' own, is not given."""
    server, port, _ = metrics_server(tmp_path, "--workers", "2")
    try:
        start = server.start_log + log_until(server, rb"Started worker-2")
        assert b"Workers respawn is configured" not in start
        before = listening_sockets(port)
        assert len(before) == 1
        server.send_signal(signal.SIGHUP)
        wait_for_line(server, rb"Stopped old worker-2")
        assert listening_sockets(port) == before
        assert exchange(port, CATALOG)[0] == 200
    finally:
        stop_server(server)


def test_a_request_made_while_no_worker_accepts_waits_for_the_new_worker(tmp_path):
    """The one worker replaced at once (--respawn-interval 0): the old one has stopped
    before the new one has loaded the app, and a request made then waits in the queue of
    the socket granian's main process keeps, answered by the new worker, not refused."""
    server, port, _ = metrics_server(tmp_path, "--respawn-interval", "0")
    try:
        server.send_signal(signal.SIGHUP)
        wait_for_line(server, rb"Stopped old worker-1")
        assert exchange(port, CATALOG)[0] == 200
    finally:
        stop_server(server)


def test_a_sighup_replaces_the_worker_gracefully_and_a_sigterm_stops_the_server(tmp_path):
    server, port, _ = metrics_server(tmp_path)
    try:
        statuses = [exchange(port, CATALOG)[0] for _ in range(2)]
        server.send_signal(signal.SIGHUP)
        statuses += [exchange(port, CATALOG)[0] for _ in range(2)]
        wait_for_line(server, rb"HUP signal received, gracefully respawning")
        wait_for_line(server, rb"Stopped old worker-1")
        statuses += [exchange(port, CATALOG)[0] for _ in range(2)]
        assert statuses == [200] * 6
        assert requests_counted(port, "/v1/catalog") == 6
    finally:
        log = stop_server(server)  # exit code 0
    assert b"Granian shutdown completed" in log
