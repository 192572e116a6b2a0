"""`make run`'s launcher end to end: embedded Redis, generated keys, clean shutdown."""

from __future__ import annotations

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

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def processes_serving(port: int) -> list[int]:
    """Live processes whose command line binds the port (the run's gunicorn)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if f":{port}".encode() in cmdline and b"gunicorn" in cmdline and pid_alive(int(proc.name)):
            found.append(int(proc.name))
    return found


@pytest.fixture
def launch(tmp_path):
    """Start scripts/run.py from a copy of the checkout's layout, on a free port."""
    started = []

    def start():
        port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "API_KEYS")}
        env["PORT"] = str(port)
        env["QUESTBOARD_VAR"] = str(tmp_path / "var")
        log = (tmp_path / f"run-{port}.log").open("w+")
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "run.py")],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        started.append(process)
        return process, port, log

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def read(log) -> str:
    log.flush()
    log.seek(0)
    return log.read()


def embedded_redis_pid(tmp_path) -> int:
    return int((tmp_path / "var" / "redis.pid").read_text())


def test_run_serves_with_embedded_redis_and_stops_it(launch, tmp_path):
    process, port, log = launch()
    key = wait_for(lambda: re.search(r"server:(dev-server-\S+)", read(log)))[1]
    assert f"curl -H 'Authorization: Bearer {key}'" in read(log)

    def wallet():
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/players/alice/wallet",
            headers={"Authorization": f"Bearer {key}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                return response.status, response.read()
        except OSError:
            return None

    status, body = wait_for(wallet)
    assert status == 200
    assert b'"coins":0' in body

    # The scheduler registered the jobs and the worker runs them: persist succeeds.
    admin = re.search(r"admin:(dev-admin-\S+)", read(log))[1]

    def persist_status():
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/admin/jobs", headers={"Authorization": f"Bearer {admin}"}
        )
        with urllib.request.urlopen(request, timeout=2) as response:
            jobs = {job["name"]: job for job in json.load(response)["jobs"]}
        last = jobs["persist"]["last_success"]
        return last and last["status"] == "succeeded"

    assert wait_for(persist_status, timeout=60)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
        assert b"questboard_http_requests_total" in response.read()
    redis_pid = embedded_redis_pid(tmp_path)
    assert pid_alive(redis_pid)

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) is not None
    wait_for(lambda: not pid_alive(redis_pid), timeout=10)


def test_embedded_redis_dies_with_a_killed_launcher(launch, tmp_path):
    process, port, log = launch()
    wait_for(lambda: "Embedded Redis on" in read(log))
    redis_pid = embedded_redis_pid(tmp_path)
    assert pid_alive(redis_pid)

    wait_for(lambda: processes_serving(port))
    process.kill()
    process.wait()
    wait_for(lambda: not pid_alive(redis_pid), timeout=10)
    wait_for(lambda: not processes_serving(port), timeout=15)  # gunicorn went with it


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
    assert result.returncode != 0
    assert "catalog.steel.price.coins: must be between" in result.stderr
    assert not (tmp_path / "var").exists()
