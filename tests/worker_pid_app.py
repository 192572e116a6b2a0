"""A WSGI app that answers the pid of the worker serving it: the launcher's tests
(tests/test_http_server_workers.py) tell by it which worker took a connection."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable


def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
