"""Apps that answer `{}` and nothing else: the HTTP stack's floor in the benchmarks.

`wsgi` is a plain WSGI callable; `flask_app` is Flask with one route and no
extensions, no authentication and no Redis. Served by the same gunicorn as the
service, they show what the server and Flask themselves cost on the machine.
"""

from __future__ import annotations

from flask import Flask


def wsgi(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "2")])
    return [b"{}"]


flask_app = Flask(__name__)


@flask_app.get("/")
def empty() -> dict:
    return {}
