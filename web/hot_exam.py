"""A plain exam result, answered before Flask's per-request machinery, with Flask's answer.

`POST /v1/players/{player_id}/exams` is a quiz game's hottest write. Through Flask it
pays for a request context, a `Request`, the URL match, the hooks, webargs' parse and
flask-smorest's dump of a summary of six boards: measured in one process, about as
much CPU as the exam's own engine steps and their three Redis round trips. web.hot_routes
hands this module every POST whose path ends in `/exams`; it answers the request
itself only when Flask would route it to web.exams.record_exam and load the same
arguments, by the rules of web.hot_routes and web.hot_purchase (read their docstrings):

- the path exactly the route's, its player id one the converter takes as it is
  (web.schemas.PLAYER_ID), no query; `Content-Type: application/json` exactly; a
  Content-Length of 1 to BODY_BYTES (and within MAX_CONTENT_LENGTH), no
  Transfer-Encoding. The body is read here, parsed by the app's own JSON parser
  (web.guards.loads: a name given twice, NaN, a lone surrogate are refused as Flask
  refuses them) and loaded by the route's own schema (web.exams.EXAM_REQUEST); a body
  either refuses goes to Flask with the same bytes to read, and Flask answers it as
  always (a 400 or 422 with webargs' messages, a 413...);
- then Flask's steps in Flask's order, through the same functions: the key
  (web.auth.role_of), the address (web.security.parse_player_address), the bans and
  the address's window (web.security.check_player with the route's group), the
  engine's exam (web.exams.exam_of, engine.boards.exams.record_exam, as the view calls
  them), the answer (web.exams.summary_body, replay_headers), the request's metrics
  under the route's rule;
- an error from those steps (401, 400 address, 403 banned, 429, 422 exam id reused,
  429 rapid fire, a Redis outage...) is answered by Flask's error handlers and
  after-request hooks in a request context made for it.

A success is sent as Flask sends it: `201 CREATED`, or `200 OK` with the replay header
for a replay, then Content-Type and Content-Length, the body web.exams.summary_body
writes (the schema's dump, keys sorted as the app's JSON provider sorts them).
tests/test_hot_exam.py holds every answer to Flask's.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterable

from flask import Flask

from engine.boards import exams as engine_exams
from web import exams, monitoring, security
from web.guards import loads, read_up_to
from web.hot_routes import JSON_MIMETYPE, answer_error, lane_limit, plain_post_length, post_rule
from web.schemas import PLAYER_ID

WsgiApp = Callable[[dict, Callable], Iterable[bytes]]

ENDPOINT = "exams.record_exam"
RULE = "/v1/players/<player:player_id>/exams"
PREFIX, SUFFIX = security.PLAYER_PREFIX, "/exams"
GROUP = security.ROUTE_GROUPS[ENDPOINT]

# A plain body is at most ~260 bytes (an exam id of 128 characters) but for JSON
# whitespace: a longer one goes to Flask.
BODY_BYTES = 1024
STATUS = {201: "201 CREATED", 200: "200 OK"}
LANE = "questboard.hot_exam"  # the app's ExamLane, in app.extensions


def lane_of(app: Flask) -> ExamLane:
    """The app's lane: called with a POST to a path ending in SUFFIX, it answers the
    request when plain, else hands it to the `wsgi_app` it is given."""
    lane = app.extensions.get(LANE)
    if lane is None:
        lane = app.extensions[LANE] = ExamLane(app)
    return lane


class ExamLane:
    """The plain exam results of one app (see the module docstring)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.rule = post_rule(app, ENDPOINT, RULE)
        self.limit = lane_limit(app, RULE, BODY_BYTES)

    def __call__(
        self, wsgi_app: WsgiApp, environ: dict, start_response: Callable
    ) -> Iterable[bytes]:
        length = plain_post_length(environ, PREFIX, self.limit)
        if self.rule is None or length is None:
            return wsgi_app(environ, start_response)
        player_id = environ["PATH_INFO"][len(PREFIX) : -len(SUFFIX)]
        if "/" in player_id or not PLAYER_ID.fullmatch(player_id):
            return wsgi_app(environ, start_response)
        data = read_up_to(environ["wsgi.input"], length)
        environ["wsgi.input"] = io.BytesIO(data)  # what Flask reads, if it answers
        body = _loaded(data) if len(data) == length else None
        if body is None:
            return wsgi_app(environ, start_response)
        return self._answer(environ, start_response, player_id, body)

    def _answer(
        self, environ: dict, start_response: Callable, player_id: str, body: dict
    ) -> Iterable[bytes]:
        """Flask's steps for a plain exam (before_each_request's, then the view's)."""
        started = time.perf_counter()
        try:
            engine, address = security.admit(self.app, environ)
            security.check_player(engine, player_id, address, GROUP)
            outcome = engine_exams.record_exam(
                engine,
                player_id,
                exams.exam_of(body),
                address=None if address is None else str(address),
            )
            encoded = exams.summary_body(outcome)
        except Exception as error:
            environ[monitoring.STARTED] = started
            return answer_error(self.app, environ, start_response, error)
        status = 201 if outcome.created else 200
        replayed = exams.replay_headers(replayed=not outcome.created).items()
        start_response(
            STATUS[status],
            [*replayed, ("Content-Type", JSON_MIMETYPE), ("Content-Length", str(len(encoded)))],
        )
        monitoring.record(self.rule, status, started)  # type: ignore[arg-type]
        return [encoded]


def _loaded(data: bytes) -> dict | None:
    """The body as the route's schema loads it, or None where the parser or the schema
    refuses it: Flask answers those, with their messages. A refusal may raise other than
    ValidationError here, outside the app's context (web.schemas.RulesRange writes the
    rules' bound into its message): whatever the load raises, Flask loads it again."""
    try:
        return exams.EXAM_REQUEST.load(loads(data))
    except Exception:
        return None
