"""The engine's Redis client from a URL: one server, or a Redis Cluster.

`connect(url)` is the one place a process builds the engine's client (the web app,
the RQ worker's jobs, the scheduler's queue and the `questboard` command all come here
through engine.runtime.build_engine or their own call):

- `redis://`, `rediss://`, `unix://` build `ThreadConnectionRedis.from_url(url)`: redis.Redis
  whose commands go out on a connection each thread keeps (see the class);
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

import contextlib
import os
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import redis
from redis.cluster import ClusterNode, RedisCluster
from redis.connection import AbstractConnection, HiredisRespSerializer
from redis.exceptions import RedisClusterException

from engine import cluster_slots

try:
    import hiredis
except ImportError:  # redis[hiredis] is a dependency; without it redis-py packs in Python
    hiredis = None  # type: ignore[assignment]

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


class _Held:
    """A connection one thread took from `pool`, given back when the thread's hold ends
    (the thread exits, or the process forked and the hold is replaced)."""

    __slots__ = ("connection", "hiredis_packs", "pid", "pool")

    def __init__(self, pool: redis.ConnectionPool) -> None:
        self.pool = pool
        self.pid = os.getpid()
        self.connection = pool.get_connection()
        self.hiredis_packs = packs_with_hiredis(self.connection)

    def __del__(self) -> None:
        # A pool reset by a fork ignores a connection it no longer owns; at interpreter
        # shutdown there may be nothing left to give it back to.
        with contextlib.suppress(Exception):
            self.pool.release(self.connection)


def packs_with_hiredis(connection: Any) -> bool:
    """Whether `connection` sends a command as redis-py 8.1's plain connections do: its
    arguments packed by hiredis (HiredisRespSerializer), then sent whole (`pack`)."""
    return (
        hiredis is not None
        and type(getattr(connection, "_command_packer", None)) is HiredisRespSerializer
        and type(connection).send_command is AbstractConnection.send_command
    )


def pack(connection: Any, args: tuple) -> list[bytes]:
    """`connection.pack_command(*args)` for a connection that packs with hiredis.

    redis-py's packer first splits a command name on spaces ("CLIENT ID") and turns
    every bytearray or memoryview argument into bytes, a step through the arguments in
    Python that cost about 5 of its 9 us for a purchase's script call (34 arguments).
    A name of letters alone has nothing to split, and hiredis refuses such arguments
    with a TypeError (accepting str, bytes, int and float as redis-py hands them on):
    then redis-py's packer converts them, or raises its DataError, as always."""
    name = args[0]
    if type(name) is str and name.isascii() and name.isalpha():
        try:
            return [hiredis.pack_command(args)]
        except TypeError:
            pass
    return connection.pack_command(*args)


def ready(connection: Any, pool: Any) -> None:
    """Make sure `connection` is connected and holds nothing unread, as `pool` checks a
    connection it hands out (ConnectionPool.get_connection, redis-py 8.1): a server that
    closed it while idle (a restart, a timeout, CLIENT KILL) is seen here, before a
    command is sent that could not be sent again safely, and the connection is opened
    again. With maintenance notifications on, unread data is a notification the next
    read handles, as the pool leaves it."""
    try:
        # can_read connects a closed connection first
        if connection.can_read() and not pool.maint_notifications_enabled():
            raise redis.ConnectionError("Connection has data")
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        connection.disconnect()
        connection.connect()
        if connection.can_read() and not pool.maint_notifications_enabled():
            raise redis.ConnectionError("Connection not ready") from None


class ThreadConnectionRedis(redis.Redis):
    """redis.Redis sending each command on a connection its thread keeps, not one taken
    from the pool and given back around every command.

    redis-py 8.1 pays per command, besides the round trip: taking a connection from the
    pool and giving it back (the pool's lock twice, a deprecation check of
    get_connection's arguments, its connection-count metrics, a release event) and the
    operation-duration metrics. In one process on this project's machine: 38-56 us of
    CPU a HGETALL against 18-20 for the same send and read on a connection kept at hand
    (7 alternating rounds of 3,000, loaded machine).

    What redis-py does for a command is kept: the connection checked before a command
    as the pool checks one it hands out (`ready`: a connection the server closed is
    opened again before anything is sent), the command sent as the bytes redis-py's
    packer makes of it (`pack`) and its reply parsed by the client's parse_response
    (its response callbacks), retried by the connection's `retry` with the connection
    closed between tries, as Redis.execute_command does, and closed after a command
    when the server asked it to move.
    A pipeline without a transaction goes out on the same connection (HeldPipeline);
    transactions, WATCH and pub/sub take their connections from the pool as before.
    The connection goes back to the pool when its thread ends; a forked child takes its
    own. A client with a client-side cache or single_connection_client keeps redis-py's
    own path. What redis-py 8's observability would record of these commands
    (durations, error counts) is not recorded.
    """

    _threads_hold = False  # redis-py's own path until __init__ has decided

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._threads_hold = (
            self.connection is None and getattr(self.connection_pool, "cache", None) is None
        )
        self._held = threading.local()

    def held(self) -> _Held:
        """This thread's hold of a connection (taken at its first use, or anew after a
        fork)."""
        held = getattr(self._held, "hold", None)
        if held is None or held.pid != os.getpid():
            held = self._held.hold = _Held(self.connection_pool)
        return held

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> Any:
        """redis-py's pipeline; one without a transaction is sent on the thread's
        connection (HeldPipeline) when this client keeps one per thread."""
        if self._threads_hold and not transaction and shard_hint is None:
            return HeldPipeline(self, self.connection_pool, self.response_callbacks)
        return super().pipeline(transaction, shard_hint)

    def execute_command(self, *args: Any, **options: Any) -> Any:
        if not self._threads_hold:
            return super().execute_command(*args, **options)
        held = self.held()
        connection = held.connection
        ready(connection, self.connection_pool)
        name = args[0]
        hiredis_packs = held.hiredis_packs

        def send_and_read() -> Any:
            if hiredis_packs:  # what connection.send_command(*args) sends (`pack`)
                connection.send_packed_command(pack(connection, args))
            else:
                connection.send_command(*args)
            return self.parse_response(connection, name, **options)

        def failed(error: Exception, failures: int) -> None:
            connection.disconnect()

        try:
            return connection.retry.call_with_retry(send_and_read, failed, with_failure_count=True)
        finally:
            if connection.should_reconnect():
                connection.disconnect()  # the next command connects again


class HeldPipeline(redis.client.Pipeline):
    """A pipeline without a transaction, sent on the connection its thread keeps
    (ThreadConnectionRedis), not one taken from the pool and given back around it.

    redis-py 8.1's `execute` pays, besides the round trip, what a single command pays
    through the pool (the pool's lock twice, its metrics, a release event) and the
    operation-duration metrics. What it does for the commands is kept: the connection
    checked as the pool checks one it hands out (`ready`), every command packed as
    redis-py packs it (`pack`, by hiredis) and sent at once, every reply read and
    parsed by the pipeline's parse_response (an error reply kept in its place), the
    first error raised when asked, the whole retried by the connection's `retry` with
    the connection closed between tries, as redis-py retries a pipeline. A pipeline
    that WATCHes, runs `Script` objects (SCRIPT EXISTS first) or was given a
    connection takes redis-py's own path.
    """

    def __init__(self, client: ThreadConnectionRedis, pool: Any, callbacks: Any) -> None:
        super().__init__(pool, callbacks, False, None)
        self._client = client

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        if self.watching or self.scripts or self.explicit_transaction or self.connection:
            return super().execute(raise_on_error)
        stack = self.command_stack
        if not stack:
            return []
        held = self._client.held()
        connection = held.connection
        ready(connection, self.connection_pool)

        def send_and_read() -> list[Any]:
            if held.hiredis_packs:
                packed = [b"".join(part for args, _ in stack for part in pack(connection, args))]
            else:
                packed = connection.pack_commands([args for args, _ in stack])
            connection.send_packed_command(packed)
            replies: list[Any] = []
            for args, options in stack:
                try:
                    replies.append(self.parse_response(connection, args[0], **options))
                except redis.ResponseError as error:
                    replies.append(error)
            if raise_on_error:
                self.raise_first_error(stack, replies)
            return replies

        def failed(error: Exception, failures: int) -> None:
            connection.disconnect()

        try:
            return connection.retry.call_with_retry(send_and_read, failed, with_failure_count=True)
        finally:
            self.command_stack = []
            if connection.should_reconnect():
                connection.disconnect()  # the next command connects again


NO_NODE_ANSWERS = "cannot be connected"  # redis-py's RedisClusterException, 8.1


class ClusterUnreachableError(redis.RedisError):
    """No node of a Redis Cluster answered when the client asked for the slot map
    again: an unreachable Redis (web.errors answers 503)."""


def _unreachable_is_a_redis_error(client: RedisCluster) -> None:
    """Make the client's slot-map refresh raise ClusterUnreachableError when no node
    answers. redis-py refreshes the map after a command failed on a node and, when every
    node it knows is gone (a cluster restarted, the network to it cut), raises a
    RedisClusterException, which is not a RedisError: the web answered 500 and /healthz
    failed, where an unreachable Redis is a 503. Not a ConnectionError: redis-py's
    pipelines would retry one, asking the nodes just found gone again, each time."""
    manager = client.nodes_manager
    refresh = manager.initialize

    def initialize(*args: Any, **kwargs: Any) -> Any:
        try:
            return refresh(*args, **kwargs)
        except RedisClusterException as error:
            if NO_NODE_ANSWERS not in str(error):
                raise
            message = f"no node of the Redis Cluster answers: {error}"
            raise ClusterUnreachableError(message) from None

    manager.initialize = initialize


def connect(url: str, **options: Any) -> redis.Redis | RedisCluster:
    """The engine's client for `url`: a RedisCluster for `redis+cluster://`, else Redis.

    Options (e.g. socket_connect_timeout) go to redis-py; the URL's own options win.
    A RedisCluster asks its startup nodes for the slot map at once: when no node of the
    URL answers, this raises redis.exceptions.ConnectionError, as any unreachable Redis
    does (redis-py raises a RedisClusterException, which is not a RedisError). It asks
    again after a command failed on a node: when none answers then, the command raises
    ClusterUnreachableError.
    """
    if not is_cluster_url(url):
        return ThreadConnectionRedis.from_url(url, **options)
    startup = [ClusterNode(host, port) for host, port in cluster_nodes(url)]
    try:
        client = RedisCluster(startup_nodes=startup, **(options | _cluster_options(url)))
    except RedisClusterException as error:
        if NO_NODE_ANSWERS not in str(error):
            raise
        raise redis.ConnectionError(f"no node of the Redis Cluster answers: {error}") from None
    _unreachable_is_a_redis_error(client)
    return client


def is_cluster(client: Any) -> bool:
    return isinstance(client, RedisCluster)


def primaries(client: Any) -> list[Any]:
    """One client per primary of a cluster (its node's own redis.Redis), else [client]."""
    if not is_cluster(client):
        return [client]
    return [client.get_redis_connection(node) for node in client.get_primaries()]


# A walk lists moved slots again at most this often: reshards that never pause are an
# operator's to finish, not a job's to chase.
MOVED_SLOTS_PASSES = 5


def scan_keys(client: Any, pattern: str, count: int) -> Iterator[list[bytes]]:
    """The keys matching `pattern`, a SCAN step's worth at a time, on every primary.

    SCAN's cursor belongs to one server: a cluster is walked node by node, each with a
    cursor of its own (a single-cursor walk would see one node's keys). A slot that a
    reshard moves during the walk is listed again on its new owner (engine.cluster_slots),
    until the slots' owners stand still: a key present throughout is seen at least once.
    A key may be seen twice, as SCAN allows; callers are idempotent.
    """
    owners = cluster_slots.owners(client) if is_cluster(client) else []
    for primary in primaries(client):
        yield from _scan(primary, pattern, count)
    for _ in range(MOVED_SLOTS_PASSES if owners else 0):
        now = cluster_slots.owners(client)
        slots = cluster_slots.moved(owners, now)
        if not slots:
            return
        yield from cluster_slots.keys_in(client, slots, pattern)
        owners = now


def _scan(server: Any, pattern: str, count: int) -> Iterator[list[bytes]]:
    cursor = 0
    while True:
        cursor, found = server.scan(cursor, match=pattern, count=count)
        if found:
            yield found
        if cursor == 0:
            return
