"""The engine's Redis client from a URL: one server, or a Redis Cluster.

`connect(url)` is the one place a process builds the engine's client (the web app,
the RQ worker's jobs, the scheduler's queue and the `questboard` command all come here
through engine.runtime.build_engine or their own call):

- `redis://`, `rediss://`, `unix://` build `redis.Redis.from_url(url)`, as before;
- `redis+cluster://host:port[,host:port...]` (or `rediss+cluster://` for TLS) builds a
  `redis.cluster.RedisCluster` with every listed node as a startup node. A user and
  password before the first host apply to every node; query options are passed to
  redis-py as `from_url` would (`?socket_timeout=2`).

RQ cannot run on a cluster (its job keys are not hash-tagged and it uses MULTI across
them), so config.Settings refuses a cluster URL without an RQ_REDIS_URL.

On a cluster a few things differ, and the engine asks here rather than checking types
itself: `is_cluster(client)`, and `primaries(client)`, one plain client per primary for
what must visit every node (a SCAN of the whole keyspace, a flush in the tests).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import redis
from redis.cluster import ClusterNode, RedisCluster
from redis.exceptions import RedisClusterException

CLUSTER_SCHEMES = {"redis+cluster": False, "rediss+cluster": True}  # scheme -> TLS
DEFAULT_PORT = 6379


def is_cluster_url(url: str) -> bool:
    return urlsplit(url).scheme.lower() in CLUSTER_SCHEMES


def cluster_nodes(url: str) -> list[tuple[str, int]]:
    """The (host, port) of every node a `redis+cluster://` URL lists, in order.

    Raises:
        ValueError: no node, or a port that is not a number.
    """
    netloc = urlsplit(url).netloc.rsplit("@", 1)[-1]
    nodes = []
    for item in filter(None, (part.strip() for part in netloc.split(","))):
        if item.startswith("["):  # [IPv6]:port
            host, _, rest = item[1:].partition("]")
            port = rest.removeprefix(":")
        else:
            host, _, port = item.partition(":")
        if not host or (port and not port.isdigit()):
            raise ValueError(f"the cluster node {item!r} is not host:port")
        nodes.append((host, int(port) if port else DEFAULT_PORT))
    if not nodes:
        raise ValueError("a redis+cluster:// URL names at least one host:port")
    return nodes


def _cluster_options(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    netloc = parts.netloc
    options: dict[str, Any] = {}
    if "@" in netloc:
        userinfo = netloc.rsplit("@", 1)[0]
        user, sep, password = userinfo.partition(":")
        if sep:
            options["password"] = unquote(password)
            if user:
                options["username"] = unquote(user)
        elif user:
            options["password"] = unquote(user)
    if CLUSTER_SCHEMES[parts.scheme.lower()]:
        options["ssl"] = True
    from redis.connection import URL_QUERY_ARGUMENT_PARSERS

    for name, value in parse_qsl(parts.query):
        parser = URL_QUERY_ARGUMENT_PARSERS.get(name)
        options[name] = parser(value) if parser else value
    return options


def connect(url: str, **options: Any) -> redis.Redis | RedisCluster:
    """The engine's client for `url`: a RedisCluster for `redis+cluster://`, else Redis.

    Options (e.g. socket_connect_timeout) go to redis-py; the URL's own options win.
    A RedisCluster asks its startup nodes for the slot map at once: when no node of the
    URL answers, this raises redis.exceptions.ConnectionError, as any unreachable Redis
    does (redis-py raises a RedisClusterException, which is not a RedisError).
    """
    if not is_cluster_url(url):
        return redis.Redis.from_url(url, **options)
    startup = [ClusterNode(host, port) for host, port in cluster_nodes(url)]
    try:
        return RedisCluster(startup_nodes=startup, **(options | _cluster_options(url)))
    except RedisClusterException as error:
        if "cannot be connected" not in str(error):
            raise
        raise redis.ConnectionError(f"no node of the Redis Cluster answers: {error}") from None


def is_cluster(client: Any) -> bool:
    return isinstance(client, RedisCluster)


def describe(client: Any) -> str:
    """Where a client points, for a banner or a log line (never its password)."""
    if is_cluster(client):
        return "Redis Cluster " + ",".join(node.name for node in client.get_primaries())
    return str(client.connection_pool)


def primaries(client: Any) -> list[Any]:
    """One client per primary of a cluster (its node's own redis.Redis), else [client]."""
    if not is_cluster(client):
        return [client]
    return [client.get_redis_connection(node) for node in client.get_primaries()]


def scan_keys(client: Any, pattern: str, count: int) -> Iterator[list[bytes]]:
    """The keys matching `pattern`, a SCAN step's worth at a time, on every primary.

    SCAN's cursor belongs to one server: a cluster is walked node by node, each with a
    cursor of its own (a single-cursor walk would see one node's keys). A key that moves
    slot during the walk (resharding) may be seen twice or not at all, as SCAN allows
    for a key changed during a walk; callers are idempotent and run again.
    """
    for primary in primaries(client):
        cursor = 0
        while True:
            cursor, found = primary.scan(cursor, match=pattern, count=count)
            if found:
                yield found
            if cursor == 0:
                break
