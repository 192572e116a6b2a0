"""`make run`'s launcher end to end: embedded Redis, generated keys, clean shutdown.

Every test starts scripts/run.py in a session of its own and, whatever happens, kills
the launcher's process group and every process the launcher started (the services run
in groups of their own), so a failing test never leaves a server behind.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bench.server import free_port  # below the ports of outgoing connections
from scripts.supervisor import Service, Supervisor

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = "0100007F"  # 127.0.0.1 as /proc/net/tcp writes it
ANY_ADDRESS = "00000000"
TCP_LISTEN = "0A"


def wait_for(predicate, timeout=30.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("timed out")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def processes_marked(marker: str) -> set[int]:
    """Live processes whose environment holds the marker (inherited from one launcher)."""
    needle = f"QUESTBOARD_TEST_RUN={marker}".encode()
    found = set()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) != os.getpid():
            try:
                environment = (proc / "environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if needle in environment and pid_alive(int(proc.name)):
                found.add(int(proc.name))
    return found


def descendants(pid: int) -> set[int]:
    """The live processes below `pid`, read from the kernel's children lists (fast)."""
    found, todo = set(), [pid]
    while todo:
        for task in Path(f"/proc/{todo.pop()}/task").glob("*"):
            try:
                children = {int(child) for child in (task / "children").read_text().split()}
            except OSError:
                continue
            todo.extend(children - found)
            found |= children
    return found


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def listening_addresses(port: int) -> set[str]:
    """The local addresses (hex, as /proc/net/tcp has them) listening on the port."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        address, hex_port = fields[1].split(":")
        if int(hex_port, 16) == port and fields[3] == TCP_LISTEN:
            found.add(address)
    return found


class Run:
    """One launcher process, its log, and the marker its processes inherit."""

    def __init__(self, process: subprocess.Popen, port: int, log_path: Path, marker: str):
        self.process = process
        self.port = port
        self.log_path = log_path
        self.marker = marker

    def output(self) -> str:
        return self.log_path.read_text()

    def survivors(self) -> set[int]:
        """Every live process of this run other than the launcher itself."""
        return processes_marked(self.marker) - {self.process.pid}

    def kill_everything(self) -> None:
        """SIGKILL the launcher's process group and every group a process of the run is in."""
        for pid in processes_marked(self.marker) | {self.process.pid}:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(os.getpgid(pid), signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait()


@pytest.fixture
def launch(tmp_path):
    """Start scripts/run.py in its own session, on a free port and a tmp QUESTBOARD_VAR."""
    started: list[Run] = []

    def start(**extra_env: str) -> Run:
        port = free_port()
        marker = os.urandom(8).hex()
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "API_KEYS", "HOST")}
        env.update(PORT=str(port), QUESTBOARD_VAR=str(tmp_path / "var"), WEB_CONCURRENCY="1")
        env.update(QUESTBOARD_TEST_RUN=marker, **extra_env)
        log_path = tmp_path / f"run-{marker}.log"
        with log_path.open("w") as log:
            process = subprocess.Popen(
                [sys.executable, str(ROOT / "scripts" / "run.py")],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        run = Run(process, int(env["PORT"]), log_path, marker)
        started.append(run)
        return run

    yield start
    for run in started:
        run.kill_everything()


def get(url: str, key: str | None = None) -> tuple[int, bytes] | None:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=2) as r:
            return r.status, r.read()
    except OSError:
        return None


def server_key(run: Run) -> str:
    return wait_for(lambda: re.search(r"server:(dev-server-\S+)", run.output()))[1]


def wallet_requests_counted(run: Run) -> float:
    """questboard_http_requests_total for the wallet route, from the run's /metrics."""
    _, body = get(f"http://127.0.0.1:{run.port}/metrics")
    pattern = (
        r'questboard_http_requests_total\{route="/v1/players/<player:player_id>/wallet",'
        r'status="200"\} (\S+)'
    )
    found = re.search(pattern, body.decode())
    return float(found[1]) if found else 0.0


def web_server_pid(run: Run) -> int:
    """The Procfile's web process: granian's main process, a child of the launcher."""
    children = set()
    for task in Path(f"/proc/{run.process.pid}/task").glob("*"):
        children |= {int(child) for child in (task / "children").read_text().split()}
    (web,) = [pid for pid in children if "granian --interface" in command_line(pid)]
    return web


def embedded_redis_pid(tmp_path) -> int:
    return int((tmp_path / "var" / "redis.pid").read_text())


def test_run_serves_on_loopback_with_embedded_redis_reloads_on_sighup_and_stops_on_sigterm(
    launch, tmp_path
):
    run = launch()
    key = server_key(run)
    assert f"curl -H 'Authorization: Bearer {key}' http://127.0.0.1:{run.port}/" in run.output()

    status, body = wait_for(
        lambda: get(f"http://127.0.0.1:{run.port}/v1/players/alice/wallet", key)
    )
    assert status == 200
    assert b'"coins":0' in body
    assert listening_addresses(run.port) == {LOOPBACK}

    # The scheduler registered the jobs and the worker runs them: persist succeeds.
    admin = re.search(r"admin:(dev-admin-\S+)", run.output())[1]

    def persist_succeeded():
        _, listing = get(f"http://127.0.0.1:{run.port}/v1/admin/jobs", admin)
        jobs = {job["name"]: job for job in json.loads(listing)["jobs"]}
        last = jobs["persist"]["last_success"]
        return last and last["status"] == "succeeded"

    assert wait_for(persist_succeeded, timeout=60)
    counted = wallet_requests_counted(run)
    assert counted >= 1.0  # a request that timed out while the web worker started may count too
    assert get(f"http://127.0.0.1:{run.port}/v1/players/alice/wallet", key)[0] == 200
    assert wallet_requests_counted(run) == counted + 1

    # A SIGHUP to the web server replaces its workers gracefully; the totals keep counting.
    os.kill(web_server_pid(run), signal.SIGHUP)

    def reloaded() -> bool:
        after = run.output().partition("HUP signal received")[2]
        return "Stopped old worker-1" in after and "Started worker-1" in after

    assert wait_for(reloaded, timeout=60)
    assert get(f"http://127.0.0.1:{run.port}/v1/players/alice/wallet", key)[0] == 200
    assert wallet_requests_counted(run) == counted + 2
    redis_pid = embedded_redis_pid(tmp_path)
    assert pid_alive(redis_pid)

    run.process.send_signal(signal.SIGTERM)
    assert run.process.wait(timeout=30) == 0
    assert run.survivors() == set()
    assert not pid_alive(redis_pid)


def test_a_second_run_in_the_same_folder_is_refused_and_leaves_the_first_untouched(
    launch, tmp_path
):
    first = launch(HOST="0.0.0.0")
    key = server_key(first)
    wallet = f"http://127.0.0.1:{first.port}/v1/players/alice/wallet"
    assert wait_for(lambda: get(wallet, key))[0] == 200
    assert listening_addresses(first.port) == {ANY_ADDRESS}  # HOST opened it deliberately
    assert "HOST=0.0.0.0" in first.output()
    counted = wallet_requests_counted(first)
    assert counted >= 1.0
    metrics_files = sorted((tmp_path / "var" / "metrics").glob("*.db"))
    assert metrics_files

    second = launch()
    assert second.process.wait(timeout=30) == 1
    assert second.output() == (
        f"Another run is still using {tmp_path / 'var'}: stop it first, "
        "or set QUESTBOARD_VAR to another folder.\n"
    )
    still_there = set((tmp_path / "var" / "metrics").glob("*.db"))
    assert still_there >= set(metrics_files)  # job processes add files of their own
    assert get(wallet, key)[0] == 200
    assert wallet_requests_counted(first) == counted + 1

    # Ctrl-C in a terminal signals the whole foreground process group.
    os.killpg(first.process.pid, signal.SIGINT)
    assert first.process.wait(timeout=30) == 0
    assert first.survivors() == set()


def test_a_busy_port_is_refused_in_one_line_before_anything_starts(launch, tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        run = launch(PORT=str(busy))
        assert run.process.wait(timeout=30) == 1
    assert run.output() == (
        f"Cannot start: port {busy} on 127.0.0.1 is already in use; set PORT to a free port.\n"
    )
    assert not (tmp_path / "var" / "redis.pid").exists()
    assert not (tmp_path / "var" / "questboard.db").exists()


KILL_POINTS = [2, 3, 3, 3, 4, 4, 4, 5]  # processes below the launcher when it is killed


def test_nothing_outlives_a_launcher_killed_at_any_moment_of_start_up(launch, tmp_path):
    """Eight launchers start side by side, each SIGKILLed as soon as it has 2, 3, 4 or 5
    processes below it: the moments a start-up race would leave a service behind (one
    launcher in three or four did, with honcho between the launcher and the services)."""
    runs = [launch(QUESTBOARD_VAR=str(tmp_path / f"var-{n}")) for n in range(len(KILL_POINTS))]
    waiting = dict(zip(runs, KILL_POINTS, strict=True))
    redis_pids = []
    deadline = time.monotonic() + 60
    while waiting and time.monotonic() < deadline:
        for run, kill_point in list(waiting.items()):
            below = descendants(run.process.pid)
            if len(below) >= kill_point:
                os.kill(run.process.pid, signal.SIGKILL)
                redis_pids += [pid for pid in below if "redis-server" in command_line(pid)]
                del waiting[run]
        time.sleep(0.001)
    assert not waiting
    for run in runs:
        run.process.wait()

    def leftovers() -> dict[int, str]:
        pids = set().union(*(run.survivors() for run in runs))
        return {pid: command_line(pid) for pid in pids | set(filter(pid_alive, redis_pids))}

    with contextlib.suppress(AssertionError):
        wait_for(lambda: not leftovers(), timeout=20)
    assert leftovers() == {}


def test_a_bad_rules_file_stops_start_up_naming_the_field(tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text((ROOT / "rules.toml").read_text().replace("coins = 50", "coins = -1"))
    env = dict(os.environ, RULES_FILE=str(rules), QUESTBOARD_VAR=str(tmp_path / "var"))
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "run.py")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"Cannot start: {rules}: catalog.steel.price.coins: must be between 1 and 1000000000000\n"
    )
    assert not (tmp_path / "var").exists()


def make_dry_run(target: str) -> list[str]:
    """The commands `make <target>` would run (the venv taken as built)."""
    outer_make = ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "PYTEST_ARGS")  # e.g. under `make test`
    result = subprocess.run(
        ["make", "--dry-run", "--old-file=.venv/.installed", target],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k not in outer_make},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_make_test_checks_lint_and_formatting_before_the_suite():
    assert make_dry_run("test") == [
        ".venv/bin/ruff check .",
        ".venv/bin/ruff format --check .",
        ".venv/bin/pytest ",
    ]


@pytest.mark.parametrize(
    ("target", "command"),
    [("migrate", ".venv/bin/questboard migrate"), ("shell", ".venv/bin/questboard shell")],
)
def test_make_migrate_and_shell_run_the_questboard_command(target, command):
    assert make_dry_run(target) == [command]


def supervise(*services: tuple[str, str], grace: float = 10.0) -> tuple[int, list[Service], str]:
    out = io.StringIO()
    started = [Service(name, command) for name, command in services]
    code = Supervisor(started, dict(os.environ), ROOT, out=out, grace=grace).run()
    return code, started, out.getvalue()


def test_a_service_that_ends_stops_the_others_and_the_run_ends_with_its_code():
    code, (sleeper, failing), out = supervise(("sleeper", "exec sleep 30"), ("failing", "exit 3"))
    assert (code, failing.process.returncode) == (3, 3)
    assert sleeper.process.returncode == -signal.SIGTERM
    assert "failing exited with code 3; stopping the others." in out


def test_a_service_that_ignores_sigterm_is_killed_after_the_grace_period():
    started = time.monotonic()
    code, (stubborn, _), out = supervise(
        ("stubborn", "trap '' TERM; echo ready; exec sleep 30"),
        ("short", "sleep 0.5; exit 0"),
        grace=0.5,
    )
    assert code == 1  # a service is not meant to end, even with 0
    assert stubborn.process.returncode == -signal.SIGKILL
    assert time.monotonic() - started < 5
    assert re.search(r"^\d\d:\d\d:\d\d stubborn \| ready$", out, re.MULTILINE)
