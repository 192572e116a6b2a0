"""The service as deployed: gunicorn with gunicorn.conf.py, spoken to over raw sockets.

gunicorn answers some requests itself, before the app sees them (a malformed request
line, a URI or headers over its limits). Those answers must be the API's JSON error
body too, and a chunked body must meet the size limit as a declared one does.
"""

from __future__ import annotations

import json
import os
import re
import runpy
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from engine import db, migrate
from tests.conftest import ADMIN_KEY, SERVER_KEY, _connect_real_redis, real_redis_url

ROOT = Path(__file__).resolve().parent.parent


def server_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a gunicorn serving the app on this run's Redis database and a
    migrated SQLite file of its own."""
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


def start_gunicorn(env: dict[str, str], *options: str) -> subprocess.Popen:
    """gunicorn with the Procfile's config (and `options` over it), one worker."""
    command = [str(Path(sys.executable).parent / "gunicorn"), "--config", "gunicorn.conf.py"]
    command += ["--no-control-socket", "--bind", "127.0.0.1:0", "--workers", "1", *options]
    command += ["--log-level", "info", "web:create_app()"]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL
    )


def stop_gunicorn(server: subprocess.Popen) -> None:
    server.terminate()
    server.wait(timeout=30)
    server.stderr.close()


@pytest.fixture(
    scope="module",
    params=[(), ("--worker-class", "web.worker.JsonErrorSyncWorker", "--threads", "1")],
    ids=["gthread-from-config", "sync"],
)
def server_port(request, tmp_path_factory):
    """One gunicorn with the Procfile's config on a port the OS picks: its own worker
    class (threaded), then the sync one given on the command line."""
    redis_client = _connect_real_redis()  # skips (or fails in CI) without a server
    redis_client.flushdb()  # the run's own leased database
    server = start_gunicorn(server_env(tmp_path_factory.mktemp("server")), *request.param)
    try:
        port = _listening_port(server)
        yield port
    finally:
        stop_gunicorn(server)
        redis_client.flushdb()
        redis_client.close()


def _listening_port(server: subprocess.Popen) -> int:
    """The port from gunicorn's "Listening at: http://127.0.0.1:PORT" line. The socket
    is bound and listening from then on: a request waits in its backlog for the worker."""
    for line in iter(server.stderr.readline, b""):
        found = re.search(rb"Listening at: http://127\.0\.0\.1:(\d+)", line)
        if found:
            return int(found[1])
    raise RuntimeError(f"gunicorn exited with {server.wait()} before listening")


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


def test_a_malformed_request_line_is_a_json_400(server_port):
    status, headers, body = exchange(server_port, b"GARBAGE\r\n\r\n")
    assert status == 400
    assert json_error(headers, body) == {
        "code": "bad_request",
        "message": "The request could not be parsed as HTTP.",
        "details": {},
    }


@pytest.mark.parametrize(
    "raw",
    [
        b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n",
        b"G\x01T /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /he\x00althz HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /v1/players/\xff/wallet HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Name: 1\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n",
        b"POST /v1/catalog HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        b"POST /v1/catalog HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ],
    ids=[
        "version",
        "method",
        "nul-in-path",
        "not-utf8-path",
        "header-name",
        "folded-header",
        "bad-length",
        "length-and-chunked",
    ],
)
def test_a_request_gunicorn_cannot_parse_is_a_json_400(server_port, raw):
    status, headers, body = exchange(server_port, raw)
    assert status == 400
    assert json_error(headers, body)["code"] == "bad_request"


def test_a_uri_over_the_limit_is_a_json_414(server_port):
    target = "/v1/catalog?pad=" + "x" * 10_000
    status, headers, body = exchange(server_port, request_bytes("GET", target))
    assert status == 414
    assert json_error(headers, body) == {
        "code": "uri_too_long",
        "message": "The request line is too long.",
        "details": {},
    }


HEADERS_TOO_LARGE = {
    "code": "headers_too_large",
    "message": "The request has too many headers, or one too large.",
    "details": {},
}


def test_too_many_headers_is_a_json_431(server_port):
    many = {f"X-Pad-{n}": "1" for n in range(200)}
    status, headers, body = exchange(server_port, request_bytes("GET", "/healthz", many))
    assert status == 431
    assert json_error(headers, body) == HEADERS_TOO_LARGE


def test_a_header_over_the_limit_is_a_json_431(server_port):
    large = {"X-Pad": "x" * 20_000}
    status, headers, body = exchange(server_port, request_bytes("GET", "/healthz", large))
    assert status == 431
    assert json_error(headers, body) == HEADERS_TOO_LARGE


def test_a_bad_chunk_size_is_a_json_400(server_port):
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
    assert json_error(headers, body)["code"] == "bad_request"


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


def test_the_config_ships_the_threaded_json_worker_recycled_after_max_requests():
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert config["worker_class"] == "web.worker.JsonErrorThreadWorker"
    assert config["threads"] >= 2
    assert config["keepalive"] > 0
    assert config["max_requests"] > 0
    assert 0 < config["max_requests_jitter"] < config["max_requests"]


def requests_counted(port: int, route: str) -> float:
    """questboard_http_requests_total of `route`, summed over statuses, from /metrics."""
    status, _, body = exchange(port, request_bytes("GET", "/metrics"))
    assert status == 200
    name = f'questboard_http_requests_total{{route="{route}",status="'
    pattern = re.escape(name) + r'\d+"\} (\S+)$'
    return sum(float(value) for value in re.findall(pattern, body.decode(), re.MULTILINE))


def test_recycled_and_reloaded_workers_keep_serving_and_counting(tmp_path):
    """The shipped worker recycled after its max requests, then every worker replaced by
    a SIGHUP: no request is refused, and the multi-process metrics still count every
    request served by the workers that are gone."""
    _connect_real_redis().close()  # skips (or fails in CI) without a server
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    env = server_env(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(metrics))
    server = start_gunicorn(env, "--max-requests", "4", "--max-requests-jitter", "0")
    try:
        port = _listening_port(server)
        catalog = request_bytes("GET", "/v1/catalog", {"Authorization": f"Bearer {SERVER_KEY}"})
        statuses = [exchange(port, catalog)[0] for _ in range(9)]
        server.send_signal(signal.SIGHUP)
        statuses += [exchange(port, catalog)[0] for _ in range(3)]
        assert statuses == [200] * 12
        assert requests_counted(port, "/v1/catalog") == 12
    finally:
        server.terminate()
        server.wait(timeout=30)
        log = server.stderr.read()
        server.stderr.close()
    booted = set(re.findall(rb"Booting worker with pid: (\d+)", log))
    assert len(booted) >= 4  # the first, two recycled after 4 requests each, the reload
