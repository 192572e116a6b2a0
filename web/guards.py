"""Guards below the routes: how a request body is read and parsed, for every route.

- JSON is parsed strictly, once for the whole app (webargs' parser and Flask's
  `request.get_json` both use `loads`): a body the parser would choke on (nesting that
  exhausts the stack, an integer over 4,300 digits) or one that is not faithful JSON
  (NaN, a name given twice, a lone surrogate that no store can encode) is a 400 naming
  the problem, never a 500 from deep inside a view.
- A body without Content-Length (`Transfer-Encoding: chunked`) is read up to the limit
  before the app sees it, so it meets MAX_BODY_BYTES exactly as a declared one does:
  413 when over, never silently cut at the limit.
"""

from __future__ import annotations

import functools
import io
import json
import math
import re
import sys
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

import orjson
from flask import Flask, Request, current_app, request
from flask.json.provider import DefaultJSONProvider
from rq import Queue
from werkzeug.wsgi import get_content_length

from web.errors import ApiError

MAX_DEPTH = 32  # our deepest body is 2 levels (a map of amounts in an object)
MAX_INT_DIGITS = sys.get_int_max_str_digits()  # 4,300: int() of a longer one raises

DEEPER_THAN_ALLOWED = f"Nested deeper than {MAX_DEPTH} levels."
NUMBER_TOO_LONG = f"A number has more than {MAX_INT_DIGITS} digits."
NUMBER_OUT_OF_RANGE = "A number is beyond the range of a double."
NOT_A_NUMBER = "NaN and Infinity are not JSON numbers."
LONE_SURROGATE = "A string holds a lone surrogate (not Unicode)."
MALFORMED = "Invalid JSON body."


class InvalidJsonError(ValueError):
    """The body is not JSON this service accepts; `reason` says why, for the client.

    A ValueError, so Flask's `request.get_json` answers it with its 400."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _unique_names(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose names are unique: with a name twice, which value counts depends
    on the parser, so a proxy and this service could read different requests."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise InvalidJsonError(f"The name {name!r} appears twice in one object.")
            seen.add(name)
    return obj


def _finite_float(text: str) -> float | int | Decimal:
    """A number written with a fraction or an exponent. A double that reads a whole
    number is checked against the text: a whole number is kept exact (`8e1` is 80), and
    a fraction the double rounded to one (`79.9999999999999999`, `1e-400`) stays the
    Decimal it is, which no integer field takes."""
    value = float(text)
    if not math.isfinite(value):
        raise InvalidJsonError(NUMBER_OUT_OF_RANGE)
    if value.is_integer():
        exact = Decimal(text)
        return int(exact) if exact == exact.to_integral_value() else exact
    return value


def _no_constants(name: str) -> float:
    raise InvalidJsonError(NOT_A_NUMBER)


_DECODER = json.JSONDecoder(
    object_pairs_hook=_unique_names,
    parse_float=_finite_float,  # called for floats only: none in a usual body
    parse_constant=_no_constants,  # called for NaN and Infinity only
)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def loads(data: str | bytes | bytearray) -> Any:
    """The JSON value of `data` (UTF-8 when bytes, as RFC 8259 requires).

    The walk that checks every value runs only when the text could fail it (more
    brackets than levels allowed, a surrogate escape), so a usual body costs little
    more than the standard parser. Integers are as long as Python parses them (4,300
    digits); the schemas bound each field far below.

    Raises:
        InvalidJsonError: with the reason to show the client.
    """
    if isinstance(data, bytes | bytearray):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidJsonError(MALFORMED) from None
    try:
        value = _DECODER.decode(data)
    except InvalidJsonError:
        raise
    except RecursionError:  # the C scanner recurses once per level
        raise InvalidJsonError(DEEPER_THAN_ALLOWED) from None
    except json.JSONDecodeError:
        raise InvalidJsonError(MALFORMED) from None
    except ValueError:  # int() of more than MAX_INT_DIGITS digits
        raise InvalidJsonError(NUMBER_TOO_LONG) from None
    if data.count("[") + data.count("{") > MAX_DEPTH or (
        "\\u" in data and _SURROGATE_ESCAPE.search(data)
    ):
        _check_depth_and_strings(value)
    return value


def _check_depth_and_strings(value: Any) -> None:
    """Walk the value without recursion: bound its depth, and refuse lone surrogates,
    which JSON's \\uXXXX escapes can spell but UTF-8 (and so Redis, SQL) cannot hold."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            if depth > MAX_DEPTH:
                raise InvalidJsonError(DEEPER_THAN_ALLOWED)
            for name, child in item.items():
                _check_string(name)
                pending.append((child, depth + 1))
        elif isinstance(item, list):
            if depth > MAX_DEPTH:
                raise InvalidJsonError(DEEPER_THAN_ALLOWED)
            pending.extend((child, depth + 1) for child in item)
        elif isinstance(item, str):
            _check_string(item)


def _check_string(text: str) -> None:
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidJsonError(LONE_SURROGATE) from None


# orjson writes what Flask's `json.dumps` would, in a fraction of the time: keys
# sorted, dates through Flask's own `default` (HTTP dates), compact separators.
_ORJSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON, reading with `loads` above and writing with orjson.

    The text differs from `json.dumps`' only where JSON allows: non-ASCII characters
    are written as UTF-8 rather than as \\u escapes. What orjson refuses (an integer
    beyond 64 bits, a lone surrogate, keys that are not strings) and an indented
    answer (debug mode) are written by Flask's own `dumps`, unchanged.
    """

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads(s)

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        if "indent" not in kwargs:
            try:
                return orjson.dumps(obj, default=self.default, option=_ORJSON_OPTIONS).decode()
            except TypeError:
                pass
        return super().dumps(obj, **kwargs)


# Bodies without Content-Length -------------------------------------------------------

WsgiApp = Callable[[dict, Callable], Iterable[bytes]]


class StreamedBodyLimit:
    """WSGI middleware: a body of unknown length is read here, up to one byte past the
    app's MAX_CONTENT_LENGTH, and handed on with the Content-Length it turned out to have.

    Werkzeug caps such a stream at the limit and stops there without an error, so a
    40 KB chunked body was parsed as its first 16 KB. Declaring the length read makes
    Werkzeug's own check (413 through the app's error handler) apply to both. Only
    streams the server marks as terminated (`wsgi.input_terminated`: gunicorn does, for
    chunked bodies) are read; others have no safe end to read to.
    """

    def __init__(self, app: Flask, wsgi_app: WsgiApp) -> None:
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        limit = body_limit(self.app.config.get("MAX_CONTENT_LENGTH"), environ.get("PATH_INFO", ""))
        if (
            limit is not None
            and environ.get("HTTP_TRANSFER_ENCODING")  # without it, no length means no body
            and environ.get("wsgi.input_terminated")
            and get_content_length(environ) is None  # chunked: any Content-Length is ignored
        ):
            body = read_up_to(environ["wsgi.input"], limit + 1)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            environ.pop("HTTP_TRANSFER_ENCODING", None)  # the body is now whole and sized
        return self.wsgi_app(environ, start_response)


# A batch route (`/v1/exams:batch`, `/v1/admin/grants:batch`) takes up to this many
# bytes however low MAX_BODY_BYTES is: 500 exam results of the longest ids fit.
BATCH_BODY_BYTES = 262_144
BATCH_SUFFIX = ":batch"


def body_limit(configured: int | None, path: str) -> int | None:
    """The most bytes a request body to `path` may have (None: no limit)."""
    if configured is not None and path.endswith(BATCH_SUFFIX):
        return max(configured, BATCH_BODY_BYTES)
    return configured


def batch_body(view: Callable) -> Callable:
    """A batch view's request may carry up to BATCH_BODY_BYTES (set before the body is
    read: put it above the view's `arguments`)."""

    @functools.wraps(view)
    def with_batch_limit(*args: Any, **kwargs: Any) -> Any:
        request.max_content_length = body_limit(
            current_app.config.get("MAX_CONTENT_LENGTH"), request.path
        )
        return view(*args, **kwargs)

    return with_batch_limit


def read_up_to(stream: Any, size: int) -> bytes:
    """At most `size` bytes of `stream`, fewer only at its end (a read may return less)."""
    parts: list[bytes] = []
    remaining = size
    while remaining > 0:
        part = stream.read(remaining)
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)


# The job dashboard's path arguments --------------------------------------------------

DASHBOARD_REGISTRIES = frozenset(
    {"queued", "failed", "deferred", "started", "finished", "scheduled", "canceled"}
)
DASHBOARD_ORDERS = frozenset({"asc", "dsc"})  # rq-dashboard spells descending "dsc"
DASHBOARD_PAGE_BOUNDS = {"per_page": (1, 100), "page": (1, 1_000_000)}


def check_dashboard_arguments(req: Request) -> None:
    """Refuse the paths rq-dashboard would answer with a 500, with the status each deserves.

    rq-dashboard trusts its path: an instance number past its list raises LookupError,
    an unknown registry an UnboundLocalError, a page size of 0 a ZeroDivisionError, a
    page past Redis' integers a ResponseError, and compacting a queue that holds no
    jobs "no such key". (A job id that does not exist is web.errors' 404.)
    """
    if req.blueprint != "rq_dashboard" or not req.view_args:
        return
    args = req.view_args
    if "instance_number" in args:
        instances = current_app.config.get("RQ_DASHBOARD_REDIS_URL") or ()
        if not 0 <= args["instance_number"] < len(instances):
            raise ApiError(404, "not_found", "There is no such dashboard instance.")
    if "registry_name" in args and args["registry_name"] not in DASHBOARD_REGISTRIES:
        raise ApiError(
            404,
            "not_found",
            "There is no such job registry.",
            {"registry_name": [f"Must be one of {', '.join(sorted(DASHBOARD_REGISTRIES))}."]},
        )
    problems: dict[str, list[str]] = {}
    for name, (low, high) in DASHBOARD_PAGE_BOUNDS.items():
        if name in args:
            text = str(args[name])
            if not (text.isascii() and text.isdigit() and low <= int(text) <= high):
                problems[name] = [f"Must be a whole number from {low} to {high}."]
    if "order" in args and args["order"] not in DASHBOARD_ORDERS:
        problems["order"] = ["Must be asc or dsc."]
    if problems:
        raise ApiError(400, "validation_error", "The dashboard path is not valid.", problems)
    if req.endpoint == "rq_dashboard.compact_queue":
        queue = Queue(args["queue_name"], connection=current_app.redis_conn)
        if not current_app.redis_conn.exists(queue.key):
            raise ApiError(404, "not_found", "The queue holds no jobs: nothing to compact.")


def init_app(app: Flask) -> None:
    from web.hot_routes import HotRoutes  # it imports the views, which import web.api, us

    app.json = StrictJSONProvider(app)
    # Outermost: a hot read (GET, no body) is answered before the body limit looks.
    app.wsgi_app = HotRoutes(app, StreamedBodyLimit(app, app.wsgi_app))  # type: ignore[method-assign]
