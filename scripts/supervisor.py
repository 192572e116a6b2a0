"""The Procfile's processes under `make run`: started, watched and stopped together.

honcho's `start` did this before, with a gap: its signal handler looked up each
process id that its event loop had not yet recorded, so a stop that arrived during
start-up raised KeyError inside the handler and left gunicorn and the worker running
with no one to stop them. Here the launcher itself is the parent of every service,
which makes two guarantees simple:

- Each service runs in a session of its own (so a terminal's Ctrl-C reaches only the
  launcher, which stops the services in order) and is started with PR_SET_PDEATHSIG,
  so the kernel sends it SIGTERM when the launcher dies, however it dies. A service
  forked after its launcher already died sees a new parent and exits before it runs.
- A stop (SIGTERM, SIGINT, or the SIGHUP of a closing terminal, to the launcher) sends
  SIGTERM to each service's process group, waits up to `grace` seconds, then sends
  SIGKILL; the run then ends with 0.
  A service that exits on its own stops the others and the run ends with its code.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

PR_SET_PDEATHSIG = 1
# What stops a run: SIGHUP too, which killed the launcher (exit code 129) and left its
# services and Redis to stop all at once by their parent-death signal.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
_LIBC = ctypes.CDLL(None, use_errno=True)  # loaded before any fork: preexec only calls it


def dies_with_this_process() -> Callable[[], None]:
    """A preexec_fn: SIGTERM the child when this process dies, even if it already has."""
    launcher = os.getpid()

    def arm() -> None:
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != launcher:  # the launcher died between fork and prctl
            os._exit(1)

    return arm


def read_procfile(path: Path) -> list[tuple[str, str]]:
    """`name: command` lines, in order; blank lines and `#` comments are skipped."""
    entries = []
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, command = line.partition(":")
            entries.append((name.strip(), command.strip()))
    return entries


def exit_code(returncode: int) -> int:
    """A service's end as the run's exit code: never 0 (a service is not meant to end),
    128 + N for a service killed by signal N, as a shell reports it."""
    if returncode < 0:
        return 128 - returncode
    return returncode or 1


@dataclass
class Service:
    name: str
    command: str
    process: subprocess.Popen | None = None
    reader: threading.Thread | None = None


@dataclass
class Supervisor:
    services: list[Service]
    env: dict[str, str]
    cwd: Path
    out: TextIO = sys.stdout
    grace: float = 10.0
    stop_requested: bool = False
    _write_lock: threading.Lock = field(default_factory=threading.Lock)

    def request_stop(self, signum: int, frame: object) -> None:
        """Signal handler: only records the request; `run` does the stopping."""
        self.stop_requested = True

    def run(self) -> int:
        """Start every service, wait until all have ended, return the run's exit code."""
        previous = {signum: signal.signal(signum, self.request_stop) for signum in STOP_SIGNALS}
        try:
            self._start_all()
            ended_first = self._wait_all()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        if self.stop_requested or ended_first is None:
            return 0
        return exit_code(ended_first.process.returncode)

    def _wait_all(self) -> Service | None:
        """Until every service has ended; returns the one that ended unasked, if any."""
        ended_first: Service | None = None
        stopping_since: float | None = None
        while True:
            running = [s for s in self._started() if s.process.poll() is None]
            if ended_first is None and not self.stop_requested:
                ended_first = next((s for s in self._started() if s not in running), None)
            if not running:
                break
            if stopping_since is None and (self.stop_requested or ended_first is not None):
                stopping_since = time.monotonic()
                if ended_first is not None:
                    code = ended_first.process.returncode
                    self._say(f"{ended_first.name} exited with code {code}; stopping the others.")
                self._signal_all(signal.SIGTERM)
            elif stopping_since is not None and time.monotonic() - stopping_since > self.grace:
                self._signal_all(signal.SIGKILL)
            time.sleep(0.05)
        for service in self._started():
            service.reader.join(timeout=5)
        return ended_first

    def _started(self) -> list[Service]:
        return [service for service in self.services if service.process is not None]

    def _start_all(self) -> None:
        # Every fork happens before the first reader thread: preexec_fn is only safe then.
        for service in self.services:
            if self.stop_requested:
                break
            service.process = subprocess.Popen(
                ["/bin/sh", "-c", service.command],
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=dies_with_this_process(),
            )
            self._say(f"{service.name} started (pid={service.process.pid})")
        for service in self._started():
            service.reader = threading.Thread(target=self._relay, args=(service,), daemon=True)
            service.reader.start()

    def _signal_all(self, signum: int) -> None:
        for service in self._started():
            if service.process.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(service.process.pid, signum)

    def _relay(self, service: Service) -> None:
        for raw in iter(service.process.stdout.readline, b""):
            self._write(service.name, raw.decode(errors="replace").rstrip("\n"))
        service.process.stdout.close()

    def _say(self, message: str) -> None:
        self._write("system", message)

    def _write(self, name: str, line: str) -> None:
        width = max(len("system"), *(len(service.name) for service in self.services))
        with self._write_lock:
            self.out.write(f"{time.strftime('%H:%M:%S')} {name:<{width}} | {line}\n")
            self.out.flush()
