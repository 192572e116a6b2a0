"""State changes confirmed by replicas before they are answered (REDIS_WAIT_REPLICAS).

Redis replicates asynchronously: a master answers a script before its replicas have
the write, so a master that dies (or is cut off) right after answering can take an
acknowledged purchase with it when a replica is promoted. With `REDIS_WAIT_REPLICAS`
= n > 0, each state-changing script of one call (engine.scripts.CONFIRMED) is followed
by `WAIT n timeout` on the same connection, in the same round trip (a pipeline of
EVALSHA and WAIT on the node that owns the keys' slot), and the engine answers only
once n replicas hold the write. Fewer in time: ReplicationTimeoutError, a Redis
timeout, which the web layer answers 503 with Retry-After; the write may exist on the
master, and the retry with the same Idempotency-Key is answered from it or applies it
once (the scripts are idempotent).

What it does not cover: a replay answered from a master's record is not waited for
(its connection wrote nothing, so WAIT has nothing to confirm); exams and board
updates (several scripts on several nodes) and script calls sent in a ScriptBatch (batched
grants) are not waited for. See docs/scaling.md.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.cluster import RedisCluster
from redis.commands.core import Script
from redis.exceptions import (
    AskError,
    ClusterDownError,
    NoScriptError,
    RedisClusterException,
    RedisError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

# Redirections and a dead or failing-over node: the cluster's slot map is read again
# and the call made once more (the scripts are idempotent, so a write that did run is
# answered as a replay).
_MOVED = (AskError, ClusterDownError, TryAgainError, RedisConnectionError, RedisTimeoutError)
ATTEMPTS = 2


class ReplicationTimeoutError(RedisTimeoutError):
    """Fewer replicas than required confirmed a write within the timeout."""


@dataclass(frozen=True)
class ReplicaWait:
    replicas: int
    timeout_ms: int


def call_confirmed(script: Script, keys: Sequence[str], args: Sequence[Any], wait: ReplicaWait):
    """Run `script` and WAIT for `wait.replicas` replicas, one round trip; its reply.

    Raises:
        ReplicationTimeoutError: the write ran, fewer replicas confirmed it in time.
        redis.exceptions.ConnectionError: the node stayed unreachable.
    """
    client = script.registered_client
    for attempt in range(ATTEMPTS):
        node = _node_client(client, keys[0])
        try:
            reply, confirmed = _run(node, script, keys, args, wait)
        except _MOVED:
            if not isinstance(client, RedisCluster) or attempt + 1 == ATTEMPTS:
                raise
            with contextlib.suppress(RedisClusterException, RedisError):
                client.nodes_manager.initialize()  # where the slot lives now, if known
            continue
        if confirmed < wait.replicas:
            raise ReplicationTimeoutError(
                f"{confirmed} of {wait.replicas} replicas confirmed the write "
                f"within {wait.timeout_ms} ms"
            )
        return reply
    raise AssertionError("unreachable")


def _node_client(client: Any, key: str) -> Any:
    """The plain client of the node that owns `key`'s slot (the client itself when it
    is one server): WAIT counts the writes of its own connection only."""
    if isinstance(client, RedisCluster):
        return client.get_redis_connection(client.get_node_from_key(key))
    return client


def _run(node: Any, script: Script, keys: Sequence[str], args: Sequence[Any], wait: ReplicaWait):
    for _ in range(2):
        pipe = node.pipeline(transaction=False)
        pipe.evalsha(script.sha, len(keys), *keys, *args)
        pipe.execute_command("WAIT", wait.replicas, wait.timeout_ms)
        reply, confirmed = pipe.execute(raise_on_error=False)
        if isinstance(reply, NoScriptError):  # a restarted or promoted node: load it
            node.script_load(script.script)
            continue
        if isinstance(reply, Exception):
            raise reply
        return reply, int(confirmed)
    raise NoScriptError(f"the script {script.sha} could not be loaded")
