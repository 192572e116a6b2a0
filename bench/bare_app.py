"""Apps that answer `{}` and nothing else: the HTTP stack's floor in the benchmarks.

`wsgi` is a plain WSGI callable; `flask_app` is Flask with one route and no
extensions, no authentication and no Redis; `flask_redis_app()` adds one HGETALL through
redis-py's own client, `flask_kept_redis_app()` the same HGETALL through the service's
client (engine.connection.connect: a connection kept a thread), so a reader sees how much
of a route's lead over the floor is the client.
Served by the same server as the service, they show what the server, Flask and one
Redis round trip themselves cost on the machine.
"""

from __future__ import annotations

import os
from typing import Any

import redis
from flask import Flask

from engine import connection, keys


def wsgi(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "2")])
    return [b"{}"]


flask_app = Flask(__name__)


@flask_app.get("/")
def empty() -> dict:
    return {}


def flask_redis_app(redis_url: str | None = None, client: Any = None) -> Flask:
    """Flask and one HGETALL of the player's wallet hash: the floor of a route that reads
    Redis once, with none of the service's authentication, validation or schemas.
    Servers call it without arguments: it reads REDIS_URL then."""
    client = client or redis.Redis.from_url(redis_url or os.environ["REDIS_URL"])
    app = Flask(__name__)

    @app.get("/v1/players/<player_id>/wallet")
    def wallet(player_id: str) -> dict:
        stored = client.hgetall(keys.wallet(player_id))
        return {name.decode(): int(value) for name, value in stored.items()}

    return app


def flask_kept_redis_app(redis_url: str | None = None) -> Flask:
    """flask_redis_app on the service's own Redis client instead of redis-py's."""
    return flask_redis_app(client=connection.connect(redis_url or os.environ["REDIS_URL"]))
