"""How the HTTP cost benchmark runs (`make bench-http`): its Redis, its servers, its files.

A lease takes the highest free Redis database and releases only its own; without wrk
it says how to install it before touching Redis; the servers' table gives each route
its rate ratio and p99 under each server; each gunicorn kind names its worker class,
the granian kind is the Procfile's launcher with the Procfile's options, a candidate
setting goes to both granian kinds only, the shipped granian keeps each worker's
listening socket, and an unknown server kind stops the run before it starts. Two runs
on one machine pick their own port, SQLite file and rules file. The measurements:
tests/test_bench_http.py.
"""

from __future__ import annotations

import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from bench import http_ratio, http_routes, redis_lease, server, wrk
from bench.server import ROOT
from tests.conftest import real_redis_url
from tests.proc_sockets import listening_sockets, sockets_held


def test_a_lease_takes_the_highest_free_database_and_releases_only_its_own():
    base = real_redis_url()
    first_token, second_token = redis_lease.new_token(), redis_lease.new_token()
    first = redis_lease.acquire(base, first_token)
    try:
        second = redis_lease.acquire(base, second_token)
        try:
            assert second != first
            redis_lease.release(base, first, second_token)  # not its lease: kept
            leases = redis.Redis.from_url(redis_lease.server_url(base, 0))
            assert leases.get(redis_lease.lease_key(first)) == first_token.encode()
            assert 0 < leases.ttl(redis_lease.lease_key(first)) <= redis_lease.LEASE_SECONDS
        finally:
            redis_lease.release(base, second, second_token)
    finally:
        redis_lease.release(base, first, first_token)
    assert leases.get(redis_lease.lease_key(first)) is None
    leases.close()


def test_without_wrk_the_benchmark_says_how_to_install_it_before_touching_redis(monkeypatch):
    monkeypatch.setattr(wrk.shutil, "which", lambda name: None)
    monkeypatch.setattr(redis_lease, "acquire", lambda *args: pytest.fail("leased a database"))

    with pytest.raises(SystemExit) as stopped:
        http_ratio.main(["--no-write"])

    assert str(stopped.value) == (
        "wrk is not installed: `apt-get install -y wrk` (Debian, Ubuntu) or `brew install wrk`"
    )


def test_the_servers_table_gives_each_route_its_rate_ratio_and_p99_under_each_server():
    def run(rate: float) -> http_ratio.RouteRun:
        return http_ratio.RouteRun(rates=[rate], paced=wrk.WrkResult(10, 1.0, 0.5, 7.25, 0, 0))

    runs = {
        "gunicorn-sync": {"Flask + 1 HGETALL": run(200), "wallet": run(100)},
        "gunicorn-gthread": {"Flask + 1 HGETALL": run(1000), "wallet": run(900)},
    }

    assert http_ratio.servers_table(runs).splitlines()[2:] == [
        "| Flask + 1 HGETALL | 200 | 1.00 | 7.25 | 1,000 | 1.00 | 7.25 |",
        "| wallet | 100 | 0.50 | 7.25 | 900 | 0.90 | 7.25 |",
    ]


def test_each_gunicorn_kind_names_its_worker_class_over_the_shipped_config():
    """gunicorn reads gunicorn.conf.py (the threaded worker) from its folder: the sync
    kind must name its class and one thread, or gunicorn would run gthread."""
    sync = server.server_command("gunicorn-sync", 1, 2, "web:create_app()")
    gthread = server.server_command("gunicorn-gthread", 1, 2, "web:create_app()", threads=4)

    assert sync[sync.index("--worker-class") + 1 :][:3] == ["sync", "--threads", "1"]
    assert gthread[gthread.index("--worker-class") + 1 :][:3] == ["gthread", "--threads", "4"]


def procfile_granian_options() -> list[str]:
    """The Procfile's web command after its launcher, each `${VAR:-default}` as its default."""
    [web] = [
        line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:")
    ]
    command = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", web.removeprefix("web:"))
    words = shlex.split(command)
    assert words[:4] == ["exec", "python", "-m", "scripts.shared_socket_granian"]
    return words[4:]


def options_by_name(words: list[str]) -> dict[str, str | None]:
    """`--name value` and `--flag` pairs of a command line's options; the target left out."""
    options: dict[str, str | None] = {}
    for word, following in zip(words, [*words[1:], None], strict=True):
        if word.startswith("--"):
            options[word] = following if following and not following.startswith("--") else None
    return options


def test_the_granian_kind_is_the_procfiles_launcher_with_the_procfiles_options():
    """The benchmark measures the server the Procfile ships: its launcher (one listening
    socket kept by granian's main process) and its options, but for the address, the
    access log and the age limit (a worker is never that old in a run), the workers and
    threads of the run, and quieter logs."""
    shipped = server.server_command("granian", 1234, 2, "web:create_app()", threads=4)
    plain = server.server_command("granian-reuseport", 1234, 2, "web:create_app()", threads=4)

    assert shipped[:3] == [sys.executable, "-m", "scripts.shared_socket_granian"]
    assert Path(plain[0]).name == "granian" and plain[1:] == shipped[3:]
    procfile = options_by_name(procfile_granian_options())
    for unmeasured in ("--host", "--port", "--access-log", "--workers-lifetime"):
        procfile.pop(unmeasured)
    measured = options_by_name(shipped[3:])
    assert measured.pop("--host") == "127.0.0.1" and measured.pop("--port") == "1234"
    assert measured.pop("--log-level") == "warning"
    assert measured == procfile


def test_a_candidate_setting_is_added_to_both_granian_kinds_only():
    for kind in server.GRANIAN_KINDS:
        command = server.server_command(kind, 1, 2, "web:create_app()", 4, ["--backpressure", "4"])
        assert command[-4:] == ["--backpressure", "4", "--factory", "web:create_app"]
    gthread = server.server_command("gunicorn-gthread", 1, 2, "x:y", 4, ["--backpressure", "4"])
    assert "--backpressure" not in gthread
    assert http_ratio.parse_args(["--granian-options=--backpressure 4"]).granian_options == [
        "--backpressure",
        "4",
    ]


def workers_listening(process: subprocess.Popen, port: int) -> dict[int, set[int]]:
    """The listening sockets on `port` held by each child process of a granian server
    that holds one (its workers)."""
    listening = listening_sockets(port)
    children = [
        int(pid)
        for task in Path(f"/proc/{process.pid}/task").iterdir()
        for pid in (task / "children").read_text().split()
    ]
    held = {pid: sockets_held(pid) & listening for pid in children}
    return {pid: inodes for pid, inodes in held.items() if inodes}


@pytest.mark.parametrize(
    ("kind", "kept_by_main"), [("granian", True), ("granian-reuseport", False)]
)
def test_the_shipped_granian_keeps_each_workers_listening_socket(kind, kept_by_main):
    """Both kinds: a listening socket a worker. The shipped launcher's main process
    keeps them (one a worker slot, outliving its workers); plain granian's workers open
    their own: what the two kinds' figures differ by."""
    process, port = server.start_server(kind, real_redis_url(), 2, http_routes.APPS["wsgi"], 1)
    try:
        deadline = time.monotonic() + 60
        held = workers_listening(process, port)
        while len(held) < 2 and time.monotonic() < deadline:
            server.wait_until_serving(process, port)  # a request while the others start
            held = workers_listening(process, port)

        assert len(held) == 2 and all(len(inodes) == 1 for inodes in held.values()), held
        assert len(set.union(*held.values())) == 2
        assert listening_sockets(port) == set.union(*held.values())
        main_holds = sockets_held(process.pid) & listening_sockets(port)
        assert main_holds == (set.union(*held.values()) if kept_by_main else set())
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_an_unknown_server_kind_stops_the_run_before_it_starts(monkeypatch):
    monkeypatch.setattr(redis_lease, "acquire", lambda *args: pytest.fail("leased a database"))

    with pytest.raises(ValueError, match="unknown server 'uwsgi'"):
        http_ratio.main(["--servers", "uwsgi", "--no-write"])


# Two runs on one machine -------------------------------------------------------------


def test_a_server_port_is_picked_below_the_ports_of_outgoing_connections():
    """The kernel gives outgoing connections (wrk's, another run's) ports of its local
    range, and bind(0) picks from the same range: a port picked there can be taken by a
    connection before the server binds it (gunicorn: "Connection in use")."""
    from bench.server import free_port

    first_outgoing = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    ports = [free_port() for _ in range(20)]
    assert all(10_000 <= port < first_outgoing for port in ports), ports
    assert len(set(ports)) > 1  # picked at random: two runs rarely try the same one
    for port in ports:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", port))  # free when handed out


def test_each_benchmark_process_has_a_sqlite_file_of_its_own():
    """Two runs (two clones, a benchmark beside the suite) never share one SQLite file."""
    from bench.server import DATABASE_URL

    command = "from bench.server import DATABASE_URL; print(DATABASE_URL)"
    other = subprocess.run(
        [sys.executable, "-c", command], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert other.startswith("sqlite:///")
    assert other != DATABASE_URL


def test_each_benchmark_process_writes_its_rules_to_a_file_of_its_own():
    """Two clones' rules may differ: a server must load the rules of the run that started it."""
    from bench.server import load_test_rules

    command = "from bench.server import load_test_rules; print(load_test_rules())"
    other = subprocess.run(
        [sys.executable, "-c", command], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    ours = load_test_rules()
    assert Path(other) != ours
    assert not Path(other).exists()  # removed when its process ended
    assert "max_changes_per_second = 10000" in ours.read_text()
