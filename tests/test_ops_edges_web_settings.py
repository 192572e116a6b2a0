"""The web server's settings (WEB_CONCURRENCY, WEB_THREADS, WEB_WORKER_LIFETIME,
WEB_WORKER_MAX_RSS: README, Configuration) are refused as every setting is, in one line
naming the setting with exit code 1, by the Procfile's `web` process and by `make run`
before anything starts."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.granian_server import procfile_web_command
from tests.test_ops_edges import make_run

ROOT = Path(__file__).resolve().parent.parent
BAD = [
    (
        "WEB_CONCURRENCY",
        "abc",
        "Invalid value for '--workers': 'abc' is not a valid integer range.",
    ),
    ("WEB_THREADS", "0", "Invalid value for '--blocking-threads': 0 is not in the range x>=1."),
    (
        "WEB_WORKER_LIFETIME",
        "10",
        "Invalid value for '--workers-lifetime': '10' is less than the minimum allowed value "
        "of 60 seconds",
    ),
    (
        "WEB_WORKER_MAX_RSS",
        "512MB",
        "Invalid value for '--workers-max-rss': '512MB' is not a valid integer range.",
    ),
]


def procfile_web(**settings: str) -> subprocess.CompletedProcess:
    """The Procfile's web line with `settings`, the stores' checks passing (nothing
    listens on port 1: each is let be, as a store not answering yet)."""
    env = {key: item for key, item in os.environ.items() if key != "PROMETHEUS_MULTIPROC_DIR"}
    env |= {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "HOST": "127.0.0.1",
        "PORT": "1",  # never bound when refused before
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "DATABASE_URL": "mysql+pymysql://root@127.0.0.1:1/qb",
        **settings,
    }
    web = subprocess.Popen(
        ["sh", "-c", procfile_web_command()],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = web.communicate(timeout=60)
    except subprocess.TimeoutExpired:  # it serves: stop it and its workers
        os.killpg(web.pid, signal.SIGKILL)
        web.communicate()
        raise
    return subprocess.CompletedProcess(web.args, web.returncode, out, err)


@pytest.mark.parametrize(("name", "value", "reason"), BAD)
def test_the_procfiles_web_process_refuses_a_bad_web_setting_in_one_line(name, value, reason):
    result = procfile_web(**{name: value})

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"Cannot start: {name}: {reason}\n"


def test_the_procfiles_web_process_refuses_a_busy_port_in_one_line():
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        result = procfile_web(PORT=str(port), WEB_CONCURRENCY="1")

    assert result.returncode == 1
    assert result.stderr == (
        f"Cannot start: port {port} on 127.0.0.1 is already in use; set PORT to a free port.\n"
    )


def test_make_run_refuses_a_bad_web_setting_before_anything_starts(tmp_path):
    name, value, reason = BAD[2]

    result = make_run(tmp_path, **{name: value})

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"Cannot start: {name}: {reason}\n"
    assert not (tmp_path / "var").exists()


def test_a_second_web_process_on_the_port_of_one_serving_is_refused(server_port):
    """Both would bind with SO_REUSEPORT, and the kernel would share the connections
    between two deployments (an old version left running, a second runner started)."""
    result = procfile_web(PORT=str(server_port), WEB_CONCURRENCY="1")

    assert result.returncode == 1
    assert result.stderr == (
        f"Cannot start: port {server_port} on 127.0.0.1 is already in use; "
        "set PORT to a free port.\n"
    )
