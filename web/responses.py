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
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from flask import Response

JSON_MIMETYPE = "application/json"


def json_body(value: Any) -> bytes:
    """`value` as compact JSON (UTF-8). Only plain values: dict, list, str, int (within
    64 bits), float, bool, None; anything else raises TypeError."""
    return orjson.dumps(value)


def json_response(
    value: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A finished JSON answer of `value` (see `json_body`)."""
    return Response(orjson.dumps(value), status, headers, mimetype=JSON_MIMETYPE)


def prebuilt_response(body: bytes, status: int = 200) -> Response:
    """A JSON answer whose body was encoded once in advance (a constant of the rules)."""
    return Response(body, status, mimetype=JSON_MIMETYPE)
