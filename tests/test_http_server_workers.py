"""The Procfile's granian workers: recycled by age and memory, and what survives them.

A worker over its memory limit or its age is replaced and its requests still count in
the metrics; each worker slot keeps a listening socket of its own that outlives its
workers, so a request made while no worker accepts waits for the next one; keep-alive
connections spread over the workers, a crashed worker's wait for its slot's respawn,
a steady loop of requests across recycling is never refused; a Unix socket is one for
every worker; SIGHUP replaces the workers gracefully and SIGTERM stops the server.
Over raw sockets to the Procfile's web command (tests/granian_server.py).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.conftest import SERVER_KEY, _connect_real_redis
from tests.granian_server import (
    ROOT,
    exchange,
    free_port,
    log_until,
    log_until_started,
    procfile_web_command,
    request_bytes,
    server_env,
    start_server,
    stop_server,
    wait_for_line,
)
from tests.proc_sockets import listening_sockets, sockets_held


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


def workers_spawned(log: bytes) -> dict[int, list[int]]:
    """Each worker slot's workers in granian's log, first to last: {slot number: pids}."""
    spawned: dict[int, list[int]] = {}
    for slot, pid in re.findall(rb"Spawning worker-(\d+) with PID: (\d+)", log):
        spawned.setdefault(int(slot), []).append(int(pid))
    return spawned


def worker_pids(log: bytes) -> dict[int, int]:
    """Each worker slot's latest worker in granian's log: {slot number: pid}."""
    return {slot: pids[-1] for slot, pids in workers_spawned(log).items()}


def test_each_worker_slot_has_a_listening_socket_that_outlives_its_workers(tmp_path):
    """granian's main process keeps a listening socket of the address for each worker
    slot (scripts/shared_socket_granian.py): each worker accepts on its slot's socket
    only, both workers replaced (SIGHUP) leave the sockets as they were, the new worker
    of a slot on the old one's socket, and shutdown closes them all. granian's advice to
    set net.ipv4.tcp_migrate_req, which is about sockets that close with their worker,
    is not given."""
    server, port, _ = metrics_server(tmp_path, "--workers", "2")
    try:
        start = server.start_log + log_until_started(server, 2, server.start_log)
        assert b"Workers respawn is configured" not in start
        before = listening_sockets(port)
        assert len(before) == 2
        assert sockets_held(server.pid) & before == before  # the main process holds both
        first = {slot: sockets_held(pid) & before for slot, pid in worker_pids(start).items()}
        assert sorted(first) == [1, 2] and set.union(*first.values()) == before
        assert all(len(inodes) == 1 for inodes in first.values()), first

        server.send_signal(signal.SIGHUP)
        replaced = worker_pids(log_until(server, rb"Stopped old worker-2"))
        assert listening_sockets(port) == before
        assert {slot: sockets_held(pid) & before for slot, pid in replaced.items()} == first
        assert exchange(port, CATALOG)[0] == 200
    finally:
        stop_server(server)
    assert listening_sockets(port) == set()


def test_a_request_made_while_no_worker_accepts_waits_for_the_new_worker(tmp_path):
    """The one worker replaced at once (--respawn-interval 0): the old one has stopped
    before the new one has loaded the app, and a request made then waits in the queue of
    the one socket granian's main process keeps, answered by the new worker, not refused."""
    server, port, _ = metrics_server(tmp_path, "--respawn-interval", "0")
    try:
        assert len(listening_sockets(port)) == 1
        server.send_signal(signal.SIGHUP)
        wait_for_line(server, rb"Stopped old worker-1")
        assert exchange(port, CATALOG)[0] == 200
    finally:
        stop_server(server)


def pid_app_command() -> str:
    """The Procfile's web command serving tests/worker_pid_app.py, which answers the pid
    of the worker that took the connection, instead of the service."""
    command = procfile_web_command()
    assert "--factory web:create_app" in command
    return command.replace("--factory web:create_app", "tests.worker_pid_app:app")


def start_pid_app(*options: str) -> tuple[subprocess.Popen, int, bytes]:
    """The Procfile's launcher and options, 2 workers, serving the pid app; returns once
    both workers have started, with the log so far."""
    server, port = start_server(
        dict(os.environ), "--workers", "2", *options, command=pid_app_command()
    )
    return server, port, server.start_log + log_until_started(server, 2, server.start_log)


def answering_pid(conn: socket.socket) -> int:
    """One request on a keep-alive connection, left open: the pid that answered."""
    conn.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    received = b""
    while b"\r\n\r\n" not in received:
        received += receive(conn)
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    length = int(re.search(rb"(?im)^content-length: *(\d+)", head).group(1))
    while len(body) < length:
        body += receive(conn)
    return int(body)


def receive(conn: socket.socket) -> bytes:
    chunk = conn.recv(4096)
    if not chunk:
        raise ConnectionError("closed before the whole answer")
    return chunk


def pids_of_connections_opened_at_once(port: int, count: int) -> list[int]:
    """`count` keep-alive connections opened one after the other before any request, a
    request on each: the pid that answered each."""
    connections = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(count)]
    try:
        return [answering_pid(conn) for conn in connections]
    finally:
        for conn in connections:
            conn.close()


def test_keep_alive_connections_opened_at_once_are_served_by_both_workers():
    """16 keep-alive connections opened at once over 2 workers (a game server's pool)
    are served by both. The kernel picks a slot's socket by a hash of each connection's
    addresses, and the client's source ports are the kernel's random picks: all 16 on
    one of the 2 sockets has probability 2 / 2**16 = 2/65536. With one socket shared by
    both workers, whichever accepted first took them: 8 connections opened at once all
    went to one worker in 99 of 160 trials (docs/benchmarks.md)."""
    server, port, log = start_pid_app()
    workers = worker_pids(log)
    try:
        answered = pids_of_connections_opened_at_once(port, 16)
        assert set(answered) == set(workers.values()), (answered, workers)
    finally:
        stop_server(server)


def test_a_crashed_workers_connections_wait_for_the_worker_respawned_on_its_slot():
    """Worker 2 killed (--respawn-failed-workers starts another): its slot's socket stays
    listening in the main process, so the connections hashed to it while no worker of
    the slot runs wait there and are served by the new worker 2 (on the same socket),
    neither refused nor taken by worker 1. 16 connections opened at once: none on slot 2
    has probability 1/65536."""
    server, port, log = start_pid_app()
    workers = worker_pids(log)
    try:
        before = {
            slot: sockets_held(pid) & listening_sockets(port) for slot, pid in workers.items()
        }
        os.kill(workers[2], signal.SIGKILL)
        log_until(server, rb"Unexpected exit from worker-2")
        answered = pids_of_connections_opened_at_once(port, 16)
        respawned = worker_pids(log_until_started(server, 2))[2]
        assert respawned != workers[2]
        assert set(answered) == {workers[1], respawned}, (answered, workers, respawned)
        assert sockets_held(respawned) & listening_sockets(port) == before[2]
    finally:
        stop_server(server)


def test_workers_recycled_under_a_steady_request_loop_refuse_nothing_and_keep_their_sockets():
    """Both workers recycled by memory over and over (a 1 MiB limit, sampled every
    second, each old worker stopped as soon as its successor is started) while four
    clients send requests one after another, a connection each: no connection is
    refused, the listening sockets of the slots stay the same sockets all along (none
    closes, so no connection waiting in an accept queue is reset with it, as when a
    socket closes with its worker), and the new workers of both slots answer some of
    the requests.

    What granian itself still does: a worker told to stop may drop a connection it has
    already accepted, before answering its request: closed cleanly (FIN), or reset when
    the request had arrived unread (a close with unread data is a reset in TCP). That
    request gets no answer and its client must send it again (safe for a read, and for a
    change with its Idempotency-Key). Those drops are counted apart from refusals: about
    one run of this test in three saw one."""
    options = ("--workers-max-rss", "1", "--rss-sample-interval", "1", "--respawn-interval", "0")
    server, port, log = start_pid_app(*options)
    sockets = listening_sockets(port)
    outcomes: list[int | str] = []
    dropped_by_a_stopping_worker: list[str] = []
    sockets_seen: list[set[int]] = []
    done = threading.Event()

    def client() -> None:
        while not done.is_set():
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
                    outcomes.append(answering_pid(conn))
            except (ConnectionRefusedError, AssertionError) as error:
                outcomes.append(repr(error))
            except ConnectionError as error:  # reset or closed after the accept
                dropped_by_a_stopping_worker.append(repr(error))

    def watch_sockets() -> None:
        while not done.is_set():
            sockets_seen.append(listening_sockets(port))
            time.sleep(0.02)

    threads = [threading.Thread(target=client) for _ in range(4)]
    threads.append(threading.Thread(target=watch_sockets))
    try:
        for thread in threads:
            thread.start()
        log += log_until(server, rb"Stopped old worker-2")
        log += log_until(server, rb"Stopped old worker-2")
        spawned = workers_spawned(log)
        successors = [set(spawned[slot][1:]) for slot in (1, 2)]
        deadline = time.monotonic() + 60
        while not all(pids & set(outcomes) for pids in successors):
            assert time.monotonic() < deadline, "no new worker of a slot answered"
            time.sleep(0.1)
    finally:
        done.set()
        for thread in threads:
            thread.join()
        stop_server(server)
    assert len(sockets) == 2
    assert sockets_seen and all(seen == sockets for seen in sockets_seen), sockets_seen
    assert outcomes and all(isinstance(outcome, int) for outcome in outcomes), [
        outcome for outcome in outcomes if not isinstance(outcome, int)
    ]


def ask_over_unix_socket(path: Path) -> int:
    """A request over the unix socket: the pid that answered."""
    with socket.socket(socket.AF_UNIX) as conn:
        conn.settimeout(30)
        conn.connect(str(path))
        return answering_pid(conn)


def unix_listening_sockets(path: Path) -> set[int]:
    """The inodes of the unix sockets listening at `path` on this machine."""
    inodes = set()
    for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
        fields = line.split()
        listening = int(fields[3], 16) & 0x10000  # __SO_ACCEPTCON
        if len(fields) == 8 and fields[7] == str(path) and listening:
            inodes.add(int(fields[6]))
    return inodes


def start_uds_pid_app(path: Path) -> tuple[subprocess.Popen, int, bytes]:
    """The pid app, 2 workers, on the unix socket `path` (and its --port unused); returns
    once a worker answers there, with the log so far."""
    port = free_port()
    env = os.environ | {
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    command = f"{pid_app_command()} --no-access-log --workers 2 --uds {path}"
    server = subprocess.Popen(
        ["sh", "-c", command], cwd=ROOT, env=env, stderr=subprocess.STDOUT, stdout=subprocess.PIPE
    )
    log = log_until_started(server, 2)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, "the server exited"
        try:
            ask_over_unix_socket(path)
            return server, port, log
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the server did not answer on its unix socket")


def test_a_unix_socket_is_granians_own_one_socket_for_every_worker(tmp_path):
    """--uds: granian's main process binds the one unix socket that every worker shares,
    as granian itself does; no TCP socket is opened, both workers replaced leave the
    socket serving, and shutdown removes its file."""
    path = tmp_path / "web.sock"
    server, port, log = start_uds_pid_app(path)
    try:
        assert listening_sockets(port) == set()
        (shared,) = unix_listening_sockets(path)
        for pid in [server.pid, *worker_pids(log).values()]:
            assert shared in sockets_held(pid)
        server.send_signal(signal.SIGHUP)
        replaced = worker_pids(log_until(server, rb"Stopped old worker-2"))
        assert unix_listening_sockets(path) == {shared}
        assert all(shared in sockets_held(pid) for pid in replaced.values())
        assert isinstance(ask_over_unix_socket(path), int)
    finally:
        stop_server(server)
    assert not path.exists()


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
