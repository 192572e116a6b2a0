"""The two ways into an app whose hottest routes are answered before Flask
(web.hot_routes): through the lane, as a server calls the app, and straight to Flask,
what the lane hands on, and the store copied and compared between the two. Used by the
tests that hold the lane's answers to Flask's."""

from __future__ import annotations

import re

from werkzeug.test import Client

from web.hot_routes import HotRoutes

STREAM_ID = re.compile(rb"\b\d{13}-\d+\b")


class Lanes:
    """`lane` enters through HotRoutes, `flask` straight into Flask; `to_flask` counts
    the requests HotRoutes hands on to Flask."""

    def __init__(self, app) -> None:
        lane = app.wsgi_app
        assert isinstance(lane, HotRoutes)
        self.flask = Client(lane.wsgi_app)
        self.to_flask = 0
        inner = lane.wsgi_app

        def counted(environ, start_response):
            self.to_flask += 1
            return inner(environ, start_response)

        lane.wsgi_app = counted
        self.lane = Client(app)


def answer_of(response) -> tuple:
    """(status, headers in order, body) of a test client's response, closed."""
    answer = (response.status, list(response.headers.items()), response.get_data())
    response.close()
    return answer


def comparable(answer: tuple) -> tuple:
    """An answer with its transaction ids as `ID` and its Content-Length checked (its
    value follows the ids' lengths)."""
    status, headers, body = answer
    assert ("Content-Length", str(len(body))) in headers
    kept = [(name, value) for name, value in headers if name != "Content-Length"]
    return status, kept, STREAM_ID.sub(b"ID", body)


def store_keys(store) -> list[bytes]:
    return sorted(store.scan_iter(count=1000))


def snapshot(store) -> dict:
    """Every key as DUMP writes it, with its time to live (0: none); a key that expires
    while it is copied is left out, as it would be a moment later."""
    copy = {}
    for key in store_keys(store):
        ttl, value = store.pttl(key), store.dump(key)
        if value is not None and ttl not in (0, -2):
            copy[key] = (value, max(ttl, 0))
    return copy


def restore(store, copy: dict) -> None:
    for key in store_keys(store):
        store.delete(key)
    for key, (value, ttl) in copy.items():
        store.restore(key, ttl, value)


# The rapid-fire counters (qb:{pNN}:pace:<player>:<second>) live two seconds of Redis's
# own time, which runs on while the engine's clock stands still: one written by an
# earlier request may expire between the two paths' reads on a loaded machine, or be
# put back by restore() with the time it had left. They are left out of the compared
# state; what they count is proven by the scripts' own tests.
SHORT_LIVED_MS = 2000


def state(store) -> dict:
    """Every key's value, stream ids as `ID`; a sorted set by its scores (a rate
    window's members are tokens of the process that took them). Keys that expire within
    SHORT_LIVED_MS (or are gone by the time they are read) are left out."""
    values = {}
    for key in store_keys(store):
        kind = store.type(key).decode()
        if kind == "none" or 0 <= store.pttl(key) <= SHORT_LIVED_MS:
            continue
        if kind == "string":
            value = store.get(key)
        elif kind == "hash":
            value = sorted(store.hgetall(key).items())
        elif kind == "list":
            value = store.lrange(key, 0, -1)
        elif kind == "set":
            value = sorted(store.smembers(key))
        elif kind == "zset":
            value = [score for _, score in store.zrange(key, 0, -1, withscores=True)]
        else:  # a stream: its entries without their ids
            value = [sorted(fields.items()) for _, fields in store.xrange(key)]
        values[STREAM_ID.sub(b"ID", key)] = STREAM_ID.sub(b"ID", repr(value).encode())
    return values
