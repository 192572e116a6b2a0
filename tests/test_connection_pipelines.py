"""engine.connection.HeldPipeline: the engine's pipelines without a transaction go out on
the connection their thread keeps, with redis-py's replies, errors and retries."""

from __future__ import annotations

import pytest
import redis

from engine import connection
from engine.connection import HeldPipeline
from tests.conftest import real_redis_url
from tests.test_connection_threads import in_a_thread

pytestmark = pytest.mark.real_redis


@pytest.fixture
def client(real_redis):
    own = connection.connect(real_redis_url())
    yield own
    own.close()


def pipeline_client_id(client) -> int:
    pipe = client.pipeline(transaction=False)
    pipe.client_id()
    [client_id] = pipe.execute()
    return client_id


class CountedPool:
    """Counts what a pool hands out: a held pipeline takes nothing from it."""

    def __init__(self, pool) -> None:
        self.taken = 0
        self._get = pool.get_connection

        def get_connection(*args, **kwargs):
            self.taken += 1
            return self._get(*args, **kwargs)

        pool.get_connection = get_connection


def test_a_pipeline_goes_out_on_the_threads_connection(client):
    pipe = client.pipeline(transaction=False)
    assert isinstance(pipe, HeldPipeline)
    mine = client.client_id()
    counted = CountedPool(client.connection_pool)
    assert pipeline_client_id(client) == mine
    assert pipeline_client_id(client) == mine
    assert counted.taken == 0
    assert in_a_thread(lambda: pipeline_client_id(client)) != mine  # a thread's own


def test_replies_are_redis_pys(client, real_redis):
    pipe = client.pipeline(transaction=False)
    pipe.hset("h", mapping={"coins": 5}).hgetall("h").set("s", "x", nx=True)
    pipe.set("s", "y", nx=True).zadd("z", {"a": 1.5}).zscore("z", "a")
    assert len(pipe) == 6
    assert pipe.execute() == [1, {b"coins": b"5"}, True, None, 1, 1.5]
    assert len(pipe) == 0
    assert pipe.execute() == []  # nothing queued: nothing sent
    assert real_redis.hgetall("h") == {b"coins": b"5"}


def test_an_error_reply_keeps_its_place_or_is_raised_annotated(client):
    client.set("s", "x")
    pipe = client.pipeline(transaction=False)
    pipe.incr("n").hgetall("s").incr("n")
    first, refused, third = pipe.execute(raise_on_error=False)
    assert (first, third) == (1, 2)
    assert isinstance(refused, redis.ResponseError) and "WRONGTYPE" in str(refused)
    pipe.incr("n").hgetall("s")
    with pytest.raises(redis.ResponseError, match=r"Command # 2 \(HGETALL s\).*WRONGTYPE"):
        pipe.execute()
    assert client.get("n") == b"3"  # every command ran; the connection goes on
    assert pipe.incr("n").execute() == [4]


def test_a_connection_the_server_closed_is_opened_again(client, real_redis):
    lost = pipeline_client_id(client)
    real_redis.client_kill_filter(_id=lost)
    pipe = client.pipeline(transaction=False)
    pipe.incr("n").client_id()
    count, now = pipe.execute()
    assert count == 1  # sent once, on the new connection
    assert now != lost
    assert client.client_id() == now  # the thread keeps the new one


def test_transactions_watches_and_scripts_take_redis_pys_path(client):
    counted = CountedPool(client.connection_pool)
    transaction = client.pipeline(transaction=True)
    assert transaction.incr("n").incr("n").execute() == [1, 2]
    with client.pipeline(transaction=False) as watching:
        watching.watch("n")
        watching.multi()
        watching.incr("n")
        assert watching.execute() == [3]
    script = client.register_script("return redis.call('INCR', KEYS[1])")
    pipe = client.pipeline(transaction=False)
    script(keys=["n"], client=pipe)
    assert pipe.execute() == [4]
    assert counted.taken == 3  # each from the pool, as redis-py takes them


def test_a_forked_child_pipelines_on_a_connection_of_its_own(client):
    import os

    parent = pipeline_client_id(client)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its connection, then leave at once
        try:
            os.write(write, str(pipeline_client_id(client)).encode())
        finally:
            os._exit(0)
    os.close(write)
    child = int(os.read(read, 64))
    os.close(read)
    os.waitpid(pid, 0)
    assert child != parent
    assert pipeline_client_id(client) == parent
