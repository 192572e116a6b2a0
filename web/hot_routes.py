"""The two hottest reads, answered before Flask's per-request machinery, with Flask's answer.

`GET /v1/players/{player_id}/wallet` → web.wallets.wallet_answer and
`GET /v1/leaderboards/{period_type}/players/{player_id}` → web.leaderboards.standing_answer
are most of a game's requests. Through Flask each pays for a request context, a
`Request`, a match against ~350 URL rules, the before and after hooks, the layers of
flask-smorest and webargs around the view, and a `Response`: measured in one process,
more CPU than the route's own work and its Redis round trip together.

The two hottest writes, a plain purchase and a plain exam result, have lanes of their
own (web.hot_purchase, web.hot_exam), to which this middleware hands every POST to a
path ending in `/purchases` or `/exams`, by the same rules.

The routes stay Flask's: registered, documented, and answered by Flask whenever a
request is anything but plain. This WSGI middleware answers a request itself only when
it can tell that Flask would route it to the same view with the same arguments:

- GET without a body; the path exactly the route's, its player id matching the
  converter's pattern (web.schemas.PLAYER_ID) and its period type one of PERIOD_TYPES;
  the wallet with no query, around-me with a query of `name=value` pairs of plain
  characters, each name once, that the route's own schema loads (web.leaderboards.
  AROUND_QUERY). A request that fails any of these goes to Flask, untouched, which
  answers it as always (a 400 for a bad id or query, a redirect, a 405...);
- then the steps of Flask's path in its order, through the same functions: the key
  (web.auth.role_of), the address, bans and the address's limit (web.security.
  parse_player_address, check_player), the view's answer, the request's metrics
  (web.monitoring.record under the route's rule);
- an error raised by those steps (401, 403 banned, 429, 404 not ranked, a Redis
  outage...) is answered by Flask's own error handlers and after-request hooks, in a
  request context made for it: web.errors' body and headers, the metrics, exactly as
  when raised inside Flask.

Nothing is skipped that decides an answer: the app's only hooks are the ones above
(web.__init__.before_each_request, web.monitoring.after_each_request). A success is
sent as Flask sends it: the body orjson writes (web.responses.json_response), the
headers Content-Type then Content-Length. The middleware stands aside when the app's
configuration makes Flask's routing depend on the host (SERVER_NAME, TRUSTED_HOSTS,
host or subdomain matching), or when a route's rule is not where it expects.
tests/test_hot_routes.py holds every answer to Flask's, byte for byte.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Iterable

import marshmallow as ma
import orjson
from flask import Flask

from web import leaderboards, monitoring, security, wallets
from web.guards import body_limit
from web.schemas import PERIOD_TYPES, PLAYER_ID

WsgiApp = Callable[[dict, Callable], Iterable[bytes]]

WALLET_ENDPOINT = "wallets.get_wallet"
AROUND_ENDPOINT = "leaderboards.around"
WALLET_PREFIX, WALLET_SUFFIX = security.PLAYER_PREFIX, "/wallet"
BOARDS_PREFIX = "/v1/leaderboards/"
# A query of name=value pairs whose characters every URL decoder reads alike: no %, +,
# ; or space, so Flask's parser would find the same pairs.
PLAIN_QUERY = re.compile(r"[A-Za-z_]+=[A-Za-z0-9_.:-]*(?:&[A-Za-z_]+=[A-Za-z0-9_.:-]*)*")
JSON_MIMETYPE = "application/json"
JSON_TYPE = ("Content-Type", JSON_MIMETYPE)
NO_BODY = (None, "", "0")  # the CONTENT_LENGTH of a request without a body


def routed_by_host(app: Flask) -> bool:
    """Whether the app's configuration makes Flask's routing depend on the host
    (SERVER_NAME, TRUSTED_HOSTS, host or subdomain matching): the lanes stand aside."""
    return bool(
        app.config.get("SERVER_NAME")
        or app.config.get("TRUSTED_HOSTS")
        or app.url_map.host_matching
        or app.subdomain_matching
    )


def query_arguments(query: str) -> dict[str, str] | None:
    """The pairs of a plain query (see PLAIN_QUERY), or None: for Flask to read."""
    if not query:
        return {}
    if not PLAIN_QUERY.fullmatch(query):
        return None
    pairs = [pair.split("=", 1) for pair in query.split("&")]
    arguments = dict(pairs)
    return arguments if len(arguments) == len(pairs) else None  # a name twice


def load_around(query: str) -> dict | None:
    """The around-me route's arguments from a query string, loaded by its own schema;
    None when the query is not plain or the schema refuses it (Flask answers that 400,
    with webargs' messages)."""
    arguments = query_arguments(query)
    if arguments is None:
        return None
    try:
        return leaderboards.AROUND_QUERY.load(arguments, unknown=ma.RAISE)
    except ma.ValidationError:
        return None


# A game asks with a few query strings ("around=5"): each short one is loaded once a
# process. The schema's load is a function of the text alone (no rules, no time).
REMEMBERED_QUERY = 64  # characters
around_query = functools.lru_cache(maxsize=256)(load_around)  # its dicts are read only


def post_rule(app: Flask, endpoint: str, rule: str) -> str | None:
    """`rule` when Flask routes a POST to it to `endpoint` whatever the host, else None
    (the write lane stands aside)."""
    if routed_by_host(app):
        return None
    for found in app.url_map.iter_rules():
        if found.endpoint == endpoint and found.rule == rule and "POST" in (found.methods or ()):
            return rule
    return None


def lane_limit(app: Flask, rule: str, most: int) -> int:
    """The most body bytes a write lane reads: `most`, or the app's MAX_CONTENT_LENGTH
    for the route when lower."""
    return min(most, body_limit(app.config.get("MAX_CONTENT_LENGTH"), rule) or most)


def plain_post_length(environ: dict, prefix: str, limit: int) -> int | None:
    """The body length of a POST a write lane may answer (web.hot_purchase,
    web.hot_exam): a path under `prefix`, no query, `Content-Type: application/json`
    exactly, a Content-Length of 1 to `limit`, no Transfer-Encoding and no
    Content-Encoding (Flask refuses an encoded body); else None."""
    length = environ.get("CONTENT_LENGTH", "")
    if (
        environ.get("PATH_INFO", "").startswith(prefix)
        and not environ.get("QUERY_STRING")
        and environ.get("CONTENT_TYPE") == JSON_MIMETYPE
        and "HTTP_TRANSFER_ENCODING" not in environ
        and "HTTP_CONTENT_ENCODING" not in environ
        and length.isdigit()
        and length.isascii()
        and 0 < int(length) <= limit
    ):
        return int(length)
    return None


def answer_error(
    app: Flask, environ: dict, start_response: Callable, error: Exception
) -> Iterable[bytes]:
    """`error` answered as Flask answers one raised by a hook or a view: its error
    handler's response, then the after-request hooks, in a request context made for the
    request a lane was answering."""
    with app.request_context(environ):
        try:
            response = app.finalize_request(app.handle_user_exception(error))
        except Exception as unhandled:
            response = app.handle_exception(unhandled)
        return response(environ, start_response)


def player_id_of(segment: str) -> str | None:
    """The player id a path segment is, when the route's converter takes it as it is."""
    return segment if "/" not in segment and PLAYER_ID.fullmatch(segment) else None


class HotRoutes:
    """WSGI middleware answering the hot reads (see the module docstring)."""

    def __init__(self, app: Flask, wsgi_app: WsgiApp) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self._rules: dict[str, str] | None = None  # endpoint -> rule, found at first use
        self._purchase_lane: Callable | None = None  # web.hot_purchase's, at first use
        self._exam_lane: Callable | None = None  # web.hot_exam's, at first use

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "POST":
            path = environ.get("PATH_INFO", "")
            if path.endswith("/purchases"):
                lane = self._purchase_lane
                if lane is None:
                    from web import hot_purchase  # the purchase lane, a module of its own

                    lane = self._purchase_lane = hot_purchase.lane_of(self.app)
                return lane(self.wsgi_app, environ, start_response)
            if path.endswith("/exams"):
                lane = self._exam_lane
                if lane is None:
                    from web import hot_exam  # the exam lane, a module of its own

                    lane = self._exam_lane = hot_exam.lane_of(self.app)
                return lane(self.wsgi_app, environ, start_response)
            return self.wsgi_app(environ, start_response)
        if (
            environ.get("REQUEST_METHOD") == "GET"
            and environ.get("CONTENT_LENGTH") in NO_BODY
            and "HTTP_TRANSFER_ENCODING" not in environ
        ):
            path = environ.get("PATH_INFO", "")
            if path.startswith(WALLET_PREFIX) and path.endswith(WALLET_SUFFIX):
                player_id = player_id_of(path[len(WALLET_PREFIX) : -len(WALLET_SUFFIX)])
                if player_id is not None and not environ.get("QUERY_STRING"):
                    return self._answer(
                        environ, start_response, WALLET_ENDPOINT, player_id, (player_id,)
                    )
            elif path.startswith(BOARDS_PREFIX):
                found = self._around_arguments(path, environ.get("QUERY_STRING", ""))
                if found is not None:
                    return self._answer(environ, start_response, AROUND_ENDPOINT, None, found)
        return self.wsgi_app(environ, start_response)

    @staticmethod
    def _around_arguments(path: str, query: str) -> tuple | None:
        """(period type, player id, the loaded query) of a plain around-me request."""
        parts = path[len(BOARDS_PREFIX) :].split("/")
        if len(parts) != 3 or parts[1] != "players" or parts[0] not in PERIOD_TYPES:
            return None
        player_id = player_id_of(parts[2])
        if player_id is None:
            return None
        loaded = around_query(query) if len(query) <= REMEMBERED_QUERY else load_around(query)
        return None if loaded is None else (parts[0], player_id, loaded)

    def _rule(self, endpoint: str) -> str | None:
        """The route's rule text (the metrics' label), or None: leave it to Flask."""
        if self._rules is None:
            self._rules = self._find_rules()
        return self._rules.get(endpoint)

    def _find_rules(self) -> dict[str, str]:
        app, url_map = self.app, self.app.url_map
        if routed_by_host(app):
            return {}
        expected = {
            WALLET_ENDPOINT: "/v1/players/<player:player_id>/wallet",
            AROUND_ENDPOINT: (
                "/v1/leaderboards/<period_type:period_type>/players/<player:player_id>"
            ),
        }
        rules = {}
        for rule in url_map.iter_rules():
            if expected.get(rule.endpoint) == rule.rule and "GET" in (rule.methods or ()):
                rules[rule.endpoint] = rule.rule
        return rules

    def _answer(
        self,
        environ: dict,
        start_response: Callable,
        endpoint: str,
        player_id: str | None,
        arguments: tuple,
    ) -> Iterable[bytes]:
        """Flask's steps for a plain request of `endpoint`: `player_id` is the acting
        player (None on a route where the player is only looked at), `arguments` the
        view's."""
        rule = self._rule(endpoint)
        if rule is None:
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        app = self.app
        try:
            engine, address = security.admit(app, environ)
            group = None
            if player_id is not None or address is not None:
                route_group = security.ROUTE_GROUPS.get(endpoint, security.READ_GROUP)
                group = security.check_player(engine, player_id, address, route_group)
            if endpoint == WALLET_ENDPOINT:
                answer = wallets.wallet_answer(engine, *arguments, group)
            else:
                answer = leaderboards.standing_answer(engine, *arguments[:2], **arguments[2])
            body = orjson.dumps(answer)
        except Exception as error:
            environ[monitoring.STARTED] = started
            return answer_error(self.app, environ, start_response, error)
        start_response("200 OK", [JSON_TYPE, ("Content-Length", str(len(body)))])
        monitoring.record(rule, 200, started)
        return [body]
