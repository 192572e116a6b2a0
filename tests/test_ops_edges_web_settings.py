"""The web server's settings (WEB_CONCURRENCY, WEB_THREADS, WEB_WORKER_LIFETIME,
WEB_WORKER_MAX_RSS: README, Configuration) are refused as every setting is, in one line
naming the setting with exit code 1, by the Procfile's `web` process and by `make run`
before anything starts."""

from __future__ import annotations

import os
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


@pytest.mark.parametrize(("name", "value", "reason"), BAD)
def test_the_procfiles_web_process_refuses_a_bad_web_setting_in_one_line(name, value, reason):
    env = {key: item for key, item in os.environ.items() if key != "PROMETHEUS_MULTIPROC_DIR"}
    env |= {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "HOST": "127.0.0.1",
        "PORT": "1",  # never bound: refused before
        "REDIS_URL": "redis://127.0.0.1:1/0",  # nothing listens on port 1:
        "DATABASE_URL": "mysql+pymysql://root@127.0.0.1:1/qb",  # the stores' checks pass
        name: value,
    }
    result = subprocess.run(
        ["sh", "-c", procfile_web_command()],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"Cannot start: {name}: {reason}\n"


def test_make_run_refuses_a_bad_web_setting_before_anything_starts(tmp_path):
    name, value, reason = BAD[2]

    result = make_run(tmp_path, **{name: value})

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"Cannot start: {name}: {reason}\n"
    assert not (tmp_path / "var").exists()
