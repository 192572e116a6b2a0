"""The HTTP cost benchmark's pieces measure what they say (`make bench-http`)."""

from __future__ import annotations

import re
import shlex
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import redis

from bench import http_ratio, http_routes, player_day_memory, redis_lease, server, wrk
from bench.http_routes import ROUTES
from bench.player_day_memory import Family, family_of
from bench.redis_count import Sent, sent_commands
from bench.server import ROOT
from engine import keys
from tests.conftest import real_redis_url
from tests.proc_sockets import listening_sockets, sockets_held


def route(name: str) -> http_routes.Route:
    [found] = [candidate for candidate in ROUTES if candidate.name == name]
    return found


def test_the_counter_counts_single_commands_and_pipelines_with_their_round_trips(real_redis):
    real_redis.ping()  # the connection's handshake is not part of what is counted
    with sent_commands() as sent:
        real_redis.hgetall("wallet")
        pipeline = real_redis.pipeline(transaction=False)
        pipeline.exists("a")
        pipeline.get("b")
        pipeline.execute()

    assert sent == Sent(Counter({"hgetall": 1, "exists": 1, "get": 1}), round_trips=2)
    assert sent.total == 3


def test_the_counter_stops_counting_when_its_block_ends(real_redis):
    with sent_commands() as sent:
        real_redis.get("a")
    real_redis.get("b")

    assert sent == Sent(Counter({"get": 1}), round_trips=1)


def test_a_request_sends_what_its_route_reads_from_redis(real_redis):
    url = real_redis_url()
    http_routes.seed_players(url, 3)
    apps = http_routes.in_process_apps(url)

    hgetall = http_routes.count_commands(apps, route("Flask + 1 HGETALL"), 3, requests=4)
    catalog = http_routes.count_commands(apps, route("catalog (auth, no Redis)"), 3, requests=4)
    bare = http_routes.count_commands(apps, route("bare Flask"), 3, requests=4)

    assert hgetall == http_routes.CommandCount(1.0, 1.0, {"hgetall": 1.0})
    assert catalog == http_routes.CommandCount(0.0, 0.0, {})
    assert bare == http_routes.CommandCount(0.0, 0.0, {})


def test_the_command_count_refuses_a_route_that_answers_errors(real_redis):
    url = real_redis_url()
    apps = http_routes.in_process_apps(url)
    unknown = http_routes.Route(
        "unknown", "service", wrk.RequestTemplate("GET", "/v1/nothing", http_routes.AUTH)
    )

    try:
        http_routes.count_commands(apps, unknown, 1, requests=2)
    except RuntimeError as error:
        assert str(error) == 'unknown: answers {"404": 5} in-process'
    else:
        raise AssertionError("a route answering 404 was counted")


def test_a_template_fills_every_field_of_path_headers_and_body():
    template = route("exam").request

    filled = template.fill({"player": "p7", "unique": "u-1", "score": "30", "correct": "4"})

    assert template.has_fields and not filled.has_fields
    assert filled.path == "/v1/players/p7/exams"
    assert filled.body == (
        '{"exam_id": "u-1", "category_id": "math", "score": 30, '
        '"total_questions": 10, "correct_answers": 4}'
    )
    assert route("purchase").request.fill({"unique": "k9", "player": "p1"}).headers == {
        "Authorization": f"Bearer {http_routes.SERVER_KEY}",
        "Content-Type": "application/json",
        "Idempotency-Key": "k9",
    }


def test_wrk_results_are_read_from_the_line_its_script_prints():
    output = "Running 1s test\nQB-RESULT 1500 1002000 850 12400 3 1\nRequests/sec: 1497\n"

    result = wrk.parse(output)

    assert result == wrk.WrkResult(1500, 1.002, 0.85, 12.4, 3, 1)
    assert round(result.rate, 1) == 1497.0


def test_a_paced_script_books_one_send_slot_per_request_at_the_asked_rate():
    paced = wrk.script(route("wallet").request, 10, rate=500.0)

    assert "local interval_ms = 4.000000" in paced  # 2 threads: 250/s each
    assert "function delay()" not in wrk.script(route("wallet").request, 10)


def test_a_tiny_run_gives_a_row_per_route_with_every_request_answered(real_redis):
    url = real_redis_url()
    http_routes.seed_players(url, 20)
    load = http_ratio.Load(players=20, seconds=1, rounds=1, latency_seconds=1, workers=1, threads=2)

    runs = http_ratio.measure_server("gunicorn-sync", url, ROUTES, load)

    assert list(runs) == [candidate.name for candidate in ROUTES]
    for name, run in runs.items():
        assert (name, run.non_2xx, run.socket_errors) == (name, 0, 0)
        assert len(run.rates) == 1 and run.rate > 0 and run.paced is not None
    # Each purchase and each exam had a key of its own: one record per request
    # (requests still in flight when wrk stopped are served too: up to 8 a run).
    purchase_records = len(list(real_redis.scan_iter("qb:*:idem:purchase:*", count=1000)))
    exam_records = len(list(real_redis.scan_iter("qb:*:exam:*", count=1000))) - 20  # seeds
    for records, name in ((purchase_records, "purchase"), (exam_records, "exam")):
        assert runs[name].requests <= records <= runs[name].requests + 2 * wrk.CONNECTIONS
    counts = {
        candidate.name: http_routes.CommandCount(1.0, 1.0, {"get": 1.0}) for candidate in ROUTES
    }
    rows = http_ratio.server_rows(runs, counts)
    assert [row[0] for row in rows] == [candidate.name for candidate in ROUTES]
    assert rows[1][2] == "1.00" and rows[2][3] == "1.00"  # each floor against itself


def test_every_key_family_of_a_players_day_is_named():
    assert family_of(keys.wallet("p1")) == "wallet"
    assert family_of(keys.ledger("p1")) == "ledger (Redis tail)"
    assert family_of(keys.idempotency("p1", "purchase", "k")) == "idempotency records"
    assert family_of(keys.exam("p1", "e1")) == "exam replay records"
    assert family_of(keys.daily("p1", "2026-11-28")) == "daily counters"
    assert family_of(keys.player_board_stats("p1", "weekly", "2026-W48")) == (
        "board stats (per player)"
    )
    assert family_of(keys.board_scores("weekly", "2026-W48", "math")) == (
        "boards (scores, aggregates)"
    )
    assert family_of(keys.outbox(3)) == "outbox streams (until persisted)"
    for window in (
        "qb:rl:LIMITER/player/login/p1/30/1/minute",
        "qb:{p01}:rate:login:p1",
        "qb:rate:login:10.0.0.1",
    ):
        assert family_of(window) == "rate-limit windows"
    assert family_of(keys.pace("p1", 100)) == "rapid-fire counters"
    assert family_of("somebody-else") == "other"


class KeyExpiringAfterScan(redis.Redis):
    """A client whose SCAN lists `gone`, which then expires before it is weighed."""

    gone = "qb:{p01}:wallet:gone"

    def scan_iter(self, *args, **kwargs):
        yield from super().scan_iter(*args, **kwargs)
        self.delete(self.gone)


def test_a_key_that_expires_before_it_is_weighed_counts_as_expired_not_as_zero_bytes(
    real_redis,
):
    real_redis.hset(keys.wallet("p1"), mapping={"coins": 5})
    real_redis.hset(KeyExpiringAfterScan.gone, mapping={"coins": 7})
    size = real_redis.memory_usage(keys.wallet("p1"), samples=0)

    families = player_day_memory.weigh(KeyExpiringAfterScan.from_url(real_redis_url()))

    assert families == {"wallet": Family(keys=1, bytes=size, expired=1)}


def test_a_player_day_leaves_its_keys_and_the_rows_add_up(real_redis):
    funded, after = player_day_memory.play_day(real_redis_url(), 3)

    assert funded["wallet"].keys == 3 and funded["idempotency records"].keys == 3
    assert after["wallet"].keys == 3
    assert after["idempotency records"].keys == 3 + 3 * 2  # the grant and two purchases
    assert after["exam replay records"].keys == 3 * 3
    rows = player_day_memory.rows(funded, after, 3)
    [wallet] = [row for row in rows if row[0] == "wallet"]
    wallets = after["wallet"]
    assert wallet == [
        "wallet",
        3,
        0,
        wallets.bytes / 3,  # bytes a key
        wallets.bytes / 3,  # bytes a player
        (wallets.bytes - funded["wallet"].bytes) / 3,
    ]
    total = rows[-1]
    keys_after = sum(family.keys for family in after.values())
    bytes_after = sum(family.bytes for family in after.values())
    assert total[:4] == ["total", keys_after, 0, bytes_after / keys_after]
    assert total[4] == bytes_after / 3
    assert total[5] == pytest.approx(total[4] - sum(f.bytes for f in funded.values()) / 3)


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
