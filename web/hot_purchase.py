"""A plain purchase, answered before Flask's per-request machinery, with Flask's answer.

`POST /v1/players/{player_id}/purchases` is a game's hottest write. Through Flask it
pays for a request context, a `Request`, the URL match, the hooks, flask-smorest's
layers and a `Response`: measured in one process, several times the CPU of the
purchase's own steps. web.hot_routes hands this module every POST whose path ends
in `/purchases`; it answers the request itself only when Flask would route it to
web.purchases.create_purchase and load the same arguments, by the rules of
web.hot_routes (read its docstring):

- the path exactly the route's, its player id one the converter takes as it is
  (web.schemas.PLAYER_ID), no query; `Content-Type: application/json` exactly; a
  Content-Length of 1 to BODY_BYTES (and within MAX_CONTENT_LENGTH), no
  Transfer-Encoding; an Idempotency-Key and a body that web.purchases.plain_arguments
  takes (the view's own match, PLAIN_BODY). The body is read here to be matched: a
  request that is not plain goes to Flask with the same bytes to read (its
  `wsgi.input` a stream of them), and Flask answers it as always (a 400, a
  413, another field order, an expected_price...);
- then Flask's steps in Flask's order, through the same functions: the key
  (web.auth.role_of), the address (web.security.parse_player_address), the bans
  (web.security.check_player with the route's group: a purchase's limits are the
  engine's, in the purchase's own script), the engine's purchase
  (web.purchases.buy, as the view calls it), the answer (web.purchases.plain_answer,
  replay_headers), the request's metrics under the route's rule;
- an error from those steps (401, 400 address, 403 banned, 429, 404 unknown item, 409
  insufficient funds, 422 key reused, a Redis outage...) is answered by Flask's error
  handlers and after-request hooks in a request context made for it, as in
  web.hot_routes; a purchase whose progress is more than its streak (a day's bonus, a
  mission, XP) is dumped by flask-smorest's own response wrapper with PurchaseSchema,
  in such a context too.

A plain success is sent as Flask sends it: `201 CREATED`, the replay header when it is
one, Content-Type, Content-Length, the body orjson writes. tests/test_hot_purchase.py
holds every answer to Flask's.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterable

import orjson
from flask import Flask

from web import monitoring, purchases, security
from web.guards import read_up_to
from web.hot_routes import JSON_MIMETYPE, lane_limit, plain_post_length, post_rule
from web.schemas import PLAYER_ID

WsgiApp = Callable[[dict, Callable], Iterable[bytes]]

ENDPOINT = "purchases.create_purchase"
RULE = "/v1/players/<player:player_id>/purchases"
PREFIX, SUFFIX = security.PLAYER_PREFIX, "/purchases"
GROUP = security.ROUTE_GROUPS[ENDPOINT]

# A plain body is at most ~110 bytes but for JSON whitespace: a longer one goes to Flask.
BODY_BYTES = 1024
CREATED = "201 CREATED"
REPLAYED = [("Idempotent-Replayed", "true")]
LANE = "questboard.hot_purchase"  # the app's PurchaseLane, in app.extensions


def lane_of(app: Flask) -> PurchaseLane:
    """The app's lane: called with a POST to a path ending in SUFFIX, it answers the
    request when plain, else hands it to the `wsgi_app` it is given."""
    lane = app.extensions.get(LANE)
    if lane is None:
        lane = app.extensions[LANE] = PurchaseLane(app)
    return lane


class PurchaseLane:
    """The plain purchases of one app (see the module docstring)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.rule = post_rule(app, ENDPOINT, RULE)
        self.limit = lane_limit(app, RULE, BODY_BYTES)
        self.responder = purchases.blp.response(201, purchases.PurchaseSchema())(
            lambda result, headers: (result, 201, headers)
        )

    def __call__(
        self, wsgi_app: WsgiApp, environ: dict, start_response: Callable
    ) -> Iterable[bytes]:
        length = plain_post_length(environ, PREFIX, self.limit)
        if self.rule is None or length is None:
            return wsgi_app(environ, start_response)
        player_id = environ["PATH_INFO"][len(PREFIX) : -len(SUFFIX)]
        key = environ.get("HTTP_IDEMPOTENCY_KEY")
        if key is None or "/" in player_id or not PLAYER_ID.fullmatch(player_id):
            return wsgi_app(environ, start_response)
        data = read_up_to(environ["wsgi.input"], length)
        environ["wsgi.input"] = io.BytesIO(data)  # what Flask reads, if it answers
        plain = purchases.plain_arguments(key, data) if len(data) == length else None
        if plain is None:
            return wsgi_app(environ, start_response)
        return self._answer(environ, start_response, player_id, *plain)

    def _answer(
        self,
        environ: dict,
        start_response: Callable,
        player_id: str,
        idempotency_key: str,
        body: dict,
    ) -> Iterable[bytes]:
        """Flask's steps for a plain purchase (before_each_request's, then the view's)."""
        started = time.perf_counter()
        app = self.app
        try:
            engine, address = security.admit(app, environ)
            security.check_player(engine, player_id, address, GROUP)
            result = purchases.buy(
                engine,
                player_id,
                idempotency_key,
                body,
                None if address is None else str(address),
            )
            answer = purchases.plain_answer(result)
            encoded = None if answer is None else orjson.dumps(answer)
        except Exception as error:
            environ[monitoring.STARTED] = started
            return self._in_flask(environ, start_response, error=error)
        replayed = result.transaction.replayed
        if encoded is None:  # more than the streak: flask-smorest dumps it
            environ[monitoring.STARTED] = started
            return self._in_flask(environ, start_response, result=result)
        start_response(
            CREATED,
            (REPLAYED if replayed else [])
            + [("Content-Type", JSON_MIMETYPE), ("Content-Length", str(len(encoded)))],
        )
        monitoring.record(self.rule, 201, started)  # type: ignore[arg-type]
        return [encoded]

    def _in_flask(
        self,
        environ: dict,
        start_response: Callable,
        *,
        error: Exception | None = None,
        result: purchases.purchases.Purchase | None = None,
    ) -> Iterable[bytes]:
        """Flask's answer in a request context made for this request: `error` through
        its error handler, or `result` through the view's response wrapper; then the
        after-request hooks, as when either comes out of the view."""
        app = self.app
        with app.request_context(environ):
            try:
                try:
                    if error is not None:
                        raise error
                    assert result is not None
                    headers = purchases.replay_headers(result.transaction.replayed)
                    returned = self.responder(result, headers)
                except Exception as raised:
                    returned = app.handle_user_exception(raised)
                response = app.finalize_request(returned)
            except Exception as unhandled:
                response = app.handle_exception(unhandled)
            return response(environ, start_response)
