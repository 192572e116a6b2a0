"""JSON answers built straight from the engine's values, for the hottest routes.

A view decorated with `@blp.response(status, Schema)` normally returns its object, and
flask-smorest dumps it with the schema, then Flask encodes the dump with the standard
library's `json`. On the hot routes that costs more than the data: a route whose
answer is a few plain values builds the JSON body itself here and returns a finished
`Response`, which flask-smorest passes through untouched. The schema still documents
the answer (the OpenAPI document is unchanged) and the tests hold each such answer to
its schema's dump (tests/test_http_overhead.py), so the contract keeps one source.

orjson writes the body: a few microseconds where `json.dumps` and a marshmallow dump
take tens. Its output is compact JSON, as Flask's own is outside debug mode.

`Response` is the app's response class (web.api.App), for every answer: a finished
body goes to the server as one list of bytes, with the response's own headers when
werkzeug would send them unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import flask
import orjson

JSON_MIMETYPE = "application/json"  # the Content-Type as werkzeug makes it (no charset)


class Response(flask.Response):
    """Flask's response, handing a finished body to the server as one list of bytes.

    Werkzeug hands every body over as an iterator (to call `close` after the last
    chunk), and granian walks an iterator from its Rust side, taking the GIL back for
    each step, where a list is written in one call: with four threads a worker waiting
    for the GIL, each such step waits its turn. A body held in memory with nothing to
    run on close (`call_on_close`) needs no iterator; a file or a stream keeps one.
    """

    def get_app_iter(self, environ: dict) -> Any:
        if self._finished(environ):
            return [self.get_data()]
        return super().get_app_iter(environ)

    def get_wsgi_response(self, environ: dict) -> tuple[Any, str, list[tuple[str, str]]]:
        """What werkzeug hands the server, without its per-answer work where it would
        change nothing: werkzeug copies the headers, looks through them for a Location
        or Content-Location to rewrite and sets a missing Content-Length. A finished
        body with its length set and neither header is sent with its headers as they
        are (tests/test_http_overhead.py holds both paths to the same result)."""
        if self._finished(environ) and _sent_unchanged(self.headers):
            return [self.get_data()], self.status, self.headers.to_wsgi_list()
        return super().get_wsgi_response(environ)

    def _finished(self, environ: dict) -> bool:
        """A body held in memory, nothing to run on close, and a status with a body."""
        status = self.status_code
        return (
            self.is_sequence
            and not self.direct_passthrough
            and not self._on_close
            and environ["REQUEST_METHOD"] != "HEAD"
            and not 100 <= status < 200
            and status not in (204, 304)
        )


_REWRITTEN = frozenset({"location", "content-location"})


def _sent_unchanged(headers: Any) -> bool:
    """Whether werkzeug's get_wsgi_headers would send `headers` unchanged (for a
    finished body): a Content-Length and no header it rewrites."""
    length = False
    for name, _value in headers:
        lowered = name.lower()
        if lowered in _REWRITTEN:
            return False
        length = length or lowered == "content-length"
    return length


def json_body(value: Any) -> bytes:
    """`value` as compact JSON (UTF-8). Only plain values: dict, list, str, int (within
    64 bits), float, bool, None; anything else raises TypeError."""
    return orjson.dumps(value)


def json_response(
    value: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A finished JSON answer of `value` (see `json_body`)."""
    return Response(orjson.dumps(value), status, headers, content_type=JSON_MIMETYPE)


def prebuilt_response(body: bytes, status: int = 200) -> Response:
    """A JSON answer whose body was encoded once in advance (a constant of the rules)."""
    return Response(body, status, content_type=JSON_MIMETYPE)
