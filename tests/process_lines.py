"""Reading a child process's stdout up to the line it says when ready: how the tests
that kill a worker or a job mid-run (test_persist_killed, test_webhooks_worker) wait
for it to reach the point they kill it at."""

from __future__ import annotations


def lines_until(process, prefix: str, most: int = 500) -> list[str]:
    """The process's stdout lines up to the first that starts with `prefix`."""
    lines = []
    while len(lines) < most:
        line = process.stdout.readline()
        assert line, f"the process ended before saying {prefix!r}: {lines}"
        lines.append(line.strip())
        if line.startswith(prefix):
            return lines
    raise AssertionError(f"no line starting with {prefix!r} in {most}: {lines}")
