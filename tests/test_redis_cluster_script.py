"""scripts/redis_cluster.py: `make redis-cluster` starts a cluster beside the test run's
own on other ports, says its URL again while it runs, and `make redis-cluster-stop`
ends every node and removes its folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from engine import connection

ROOT = Path(__file__).resolve().parent.parent


def command(*argv: str, var: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "redis_cluster.py"), *argv],
        env={"PATH": "/usr/bin:/bin", "QUESTBOARD_VAR": str(var)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_start_prints_a_url_beside_the_runs_cluster_and_stop_ends_it(tmp_path, redis_cluster_url):
    started = command("start", var=tmp_path)
    assert started.returncode == 0, started.stderr
    url = started.stdout.strip()
    state = json.loads((tmp_path / "redis-cluster.json").read_text())
    try:
        ports = {port for _, port in connection.cluster_nodes(url)}
        assert len(ports) == 3
        assert not ports & {port for _, port in connection.cluster_nodes(redis_cluster_url)}
        client = connection.connect(url)
        assert {info["cluster_state"] for info in _cluster_infos(client)} == {"ok"}
        client.set("greeting", "hello")
        assert client.get("greeting") == b"hello"
        client.close()
        assert command("start", var=tmp_path).stdout.strip() == url  # the running one
    finally:
        stopped = command("stop", var=tmp_path)
    assert stopped.returncode == 0
    assert "Stopped the Redis Cluster" in stopped.stdout
    assert not (tmp_path / "redis-cluster.json").exists()
    assert not Path(state["directory"]).exists()
    for node in state["nodes"]:
        assert not Path(f"/proc/{node['pid']}").exists() or _zombie(node["pid"])


def _cluster_infos(client) -> list[dict]:
    infos = []
    for primary in connection.primaries(client):
        raw = primary.execute_command("CLUSTER", "INFO")
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        infos.append(dict(line.split(":", 1) for line in text.split() if ":" in line))
    return infos


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except FileNotFoundError:
        return True
