"""engine.connection.pack: the engine's client sends each command as the very bytes
redis-py's own packer makes of it, with hiredis packing it at once where it can."""

from __future__ import annotations

import pytest
import redis

from engine import connection
from tests.conftest import real_redis_url

pytestmark = pytest.mark.real_redis

COMMANDS = [
    ("EVALSHA", "a" * 40, 2, "qb:{p07}:wallet:p1", "qb:{p07}:tx:p1", "p1", 1_764_370_000_000),
    ("HSET", "h", "coins", -5, "rate", 2.5, "big", 10**30, "name", "naïve", b"\xff", b""),
    ("SET", "k", bytearray(b"from a bytearray")),
    ("SET", "k", memoryview(b"from a memoryview")),
    ("CLIENT ID",),  # a name redis-py splits in two
    ("JSON.GET", "doc"),
    (b"GET", "k"),
    ("GET", ""),
]


@pytest.fixture
def client(real_redis):
    own = connection.connect(real_redis_url())
    own.ping()  # the thread's connection is taken
    yield own
    own.close()


def held_connection(client):
    return client._held.hold.connection


def test_the_engines_client_packs_with_hiredis(client):
    assert client._held.hold.hiredis_packs is True


@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: str(command[0]))
def test_a_command_is_packed_as_redis_py_packs_it(client, command):
    held = held_connection(client)
    assert connection.pack(held, command) == held.pack_command(*command)


@pytest.mark.parametrize("value", [None, True, object()], ids=["None", "True", "object"])
def test_an_argument_redis_py_refuses_is_refused_with_its_error(client, value):
    held = held_connection(client)
    with pytest.raises(redis.DataError) as redis_pys:
        held.pack_command("SET", "k", value)
    with pytest.raises(redis.DataError) as ours:
        connection.pack(held, ("SET", "k", value))
    assert str(ours.value) == str(redis_pys.value)
    with pytest.raises(redis.DataError):
        client.execute_command("SET", "k", value)
    assert client.ping() is True  # nothing was sent: the connection goes on


def test_values_redis_py_converts_reach_the_server(client, real_redis):
    client.set("a", bytearray(b"array"))
    client.hset("h", mapping={"view": memoryview(b"view"), "n": -3})
    assert real_redis.get("a") == b"array"
    assert real_redis.hgetall("h") == {b"view": b"view", b"n": b"-3"}
    assert client.execute_command("CLIENT ID") == client.client_id()
