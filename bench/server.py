"""The service under load in the benchmarks: its rules opened up for load, gunicorn
serving it (or another app) on a free port."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVER_KEY = "bench-server-key"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def load_test_rules() -> Path:
    """The shipped rules with the per-player defenses opened up: a benchmark's few
    clients make thousands of changes a second, which the rules rightly refuse from
    a person (rapid fire, 10 purchases a minute). Everything else is unchanged."""
    text = (ROOT / "rules.toml").read_text()
    text = re.sub(r"max_changes_per_second = \d+", "max_changes_per_second = 10000", text)
    text = re.sub(r'"\d+/(second|minute|hour|day)"', '"1000000/second"', text)
    path = Path(tempfile.gettempdir()) / "questboard-bench-rules.toml"
    partial = path.with_suffix(f".{os.getpid()}.tmp")  # processes call this at once:
    partial.write_text(text)  # each writes its own file and swaps it in whole
    partial.replace(path)
    return path


def start_gunicorn(
    url: str, workers: int, app: str = "web:create_app()"
) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = dict(
        os.environ,
        REDIS_URL=url,
        API_KEYS=f"server:{SERVER_KEY}",
        RULES_FILE=str(load_test_rules()),
        DATABASE_URL=f"sqlite:///{Path(tempfile.gettempdir()) / 'questboard-bench.db'}",
    )
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--no-control-socket",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            app,
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process, port
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("gunicorn did not start")
