"""The Procfile's `worker` process refuses a setting in one line, as every process does,
and is RQ's worker on the queue's Redis once the settings hold (README, Configuration:
with a cluster REDIS_URL and no RQ_REDIS_URL every process refuses to start)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import real_redis_url

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def procfile_worker(**env: str) -> subprocess.CompletedProcess:
    """The Procfile's worker line, run by a shell as a process manager runs it."""
    line = next(
        line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("worker:")
    )
    command = line.split(":", 1)[1].strip()
    return subprocess.run(
        ["bash", "-c", command],
        cwd=ROOT,
        env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "DATABASE_URL": "sqlite://"}
        | env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_cluster_redis_without_a_queue_redis_is_refused_in_one_line():
    result = procfile_worker(REDIS_URL="redis+cluster://127.0.0.1:7000/0", RQ_REDIS_URL="")

    assert result.returncode == 1
    assert result.stderr.startswith("Cannot start: REDIS_URL is a Redis Cluster")
    assert result.stderr.count("\n") == 1


def test_a_bad_setting_is_refused_in_one_line():
    result = procfile_worker(REDIS_URL="redis://127.0.0.1:1/0", PLAYER_SHARDS="abc")

    assert (result.returncode, result.stderr) == (
        1,
        "Cannot start: PLAYER_SHARDS must be an integer, got 'abc'\n",
    )


def test_with_good_settings_it_is_rqs_worker_on_the_questboard_queue():
    from jobs.worker import main  # noqa: F401  (the module the Procfile runs)

    result = subprocess.run(
        [sys.executable, "-m", "jobs.worker", "--burst"],
        cwd=ROOT,
        env={**os.environ, "REDIS_URL": real_redis_url(), "DATABASE_URL": "sqlite://"},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert "*** Listening on questboard..." in result.stderr + result.stdout
