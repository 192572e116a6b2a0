"""engine.connection.ThreadConnectionRedis: the engine's client on one server sends each
command on a connection its thread keeps, with redis-py's replies, errors and retries."""

from __future__ import annotations

import gc
import os
import threading

import pytest
import redis

from engine import connection
from engine.connection import ThreadConnectionRedis
from engine.runtime import Engine
from tests.conftest import real_redis_url

pytestmark = pytest.mark.real_redis


@pytest.fixture
def client(real_redis):
    own = connection.connect(real_redis_url())
    yield own
    own.close()


def in_a_thread(function):
    """What `function()` returns when run in a thread of its own (which then ends)."""
    result = []
    thread = threading.Thread(target=lambda: result.append(function()))
    thread.start()
    thread.join()
    return result[0]


def test_a_server_url_builds_the_thread_connection_client(client):
    assert type(client) is ThreadConnectionRedis
    assert isinstance(client, redis.Redis)


def test_replies_are_redis_pys(client, real_redis):
    client.hset("h", mapping={"coins": 5, "logs": 3})
    assert client.hgetall("h") == real_redis.hgetall("h") == {b"coins": b"5", b"logs": b"3"}
    assert client.set("s", "x", nx=True) is True  # a response callback's answer
    assert client.set("s", "y", nx=True) is None
    assert client.zadd("z", {"a": 1.5}) == 1
    assert client.zscore("z", "a") == 1.5
    assert client.eval("return {1, 'a'}", 0) == [1, b"a"]
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        client.hgetall("s")
    assert client.get("s") == b"x"  # the connection goes on after an error reply


def test_a_thread_keeps_its_connection_and_threads_have_their_own(client):
    mine = client.client_id()
    assert client.client_id() == mine
    other = in_a_thread(client.client_id)
    assert other != mine
    gc.collect()  # the ended thread's connection went back to the pool...
    assert in_a_thread(client.client_id) == other  # ...and the next thread takes it


def test_a_connection_the_server_closed_is_opened_again(client, real_redis):
    lost = client.client_id()
    real_redis.client_kill_filter(_id=lost)
    assert client.ping() is True  # retried on a new connection
    assert client.client_id() != lost


def test_a_forked_child_uses_a_connection_of_its_own(client):
    parent = client.client_id()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its connection, then leave at once
        try:
            os.write(write, str(client.client_id()).encode())
        finally:
            os._exit(0)
    os.close(write)
    child = int(os.read(read, 64))
    os.close(read)
    os.waitpid(pid, 0)
    assert child != parent
    assert client.client_id() == parent


def test_pipelines_and_scripts_work_beside_the_threads_connection(client):
    pipe = client.pipeline(transaction=True)
    pipe.incr("n").incr("n")
    assert pipe.execute() == [1, 2]
    script = client.register_script("return redis.call('INCR', KEYS[1])")
    assert script(keys=["n"]) == 3


def test_the_engine_reads_through_it(client, rules, clock):
    from engine.economy import grants, wallet

    engine = Engine(redis=client, rules=rules, clock=clock)
    grants.grant(engine, "alice", {"coins": 7}, "test", "g-1")
    assert in_a_thread(lambda: wallet.balances(engine, "alice", "default"))["coins"] == 7
    assert wallet.balances(engine, "alice", "default")["coins"] == 7


def test_a_single_connection_client_keeps_redis_pys_path(real_redis):
    own = ThreadConnectionRedis.from_url(real_redis_url(), single_connection_client=True)
    try:
        assert own.ping() is True
        assert own.client_id() == own.client_id()
        assert in_a_thread(own.client_id) == own.client_id()  # the one connection
    finally:
        own.close()
