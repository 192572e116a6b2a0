"""gunicorn workers whose own error answers are the API's JSON error body.

gunicorn answers some requests itself, before the app sees them: a malformed request
line (400), a URI longer than `limit_request_line` (414), more headers than
`limit_request_fields` or one larger than `limit_request_field_size` (431), a bad
chunked body (400), an unsupported transfer coding (501). Its answer is an HTML page.
These workers keep gunicorn's judgement (the status, the log line, the access log
entry) and replace only what is written: `{"error": {"code", "message", "details"}}`
with `Content-Type: application/json`, as for every other error of the service.

gunicorn.conf.py selects `JsonErrorThreadWorker` (the Procfile's threaded worker);
`JsonErrorSyncWorker` is the same for `--worker-class web.worker.JsonErrorSyncWorker`.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker
from gunicorn.workers.sync import SyncWorker

from web.errors import error_body

# gunicorn's statuses: the code and message of each, for the client.
ERRORS_BY_STATUS = {
    400: ("bad_request", "The request could not be parsed as HTTP."),
    403: ("forbidden", "The request is not allowed."),
    414: ("uri_too_long", "The request line is too long."),
    417: ("expectation_failed", "The Expect header is not supported."),
    431: ("headers_too_large", "The request has too many headers, or one too large."),
    500: ("internal_error", "Something went wrong on our side."),
    501: ("not_implemented", "The request uses a transfer coding the server does not support."),
}


class _Recorder:
    """Stands in for the client socket while gunicorn writes its HTML answer, which
    is kept to read its status from and never sent."""

    def __init__(self) -> None:
        self.written = bytearray()

    def gettimeout(self) -> float:
        return 0.0

    def setblocking(self, flag: bool) -> None:
        pass

    def sendall(self, data: bytes) -> None:
        self.written += data


def _status_of(answer: bytes) -> int:
    """The status of gunicorn's answer, from its status line "HTTP/1.1 414 URI Too Long"."""
    parts = answer.split(b"\r\n", 1)[0].split(b" ", 2)
    return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else 500


def json_error_response(status: int) -> bytes:
    """The whole HTTP response for one of gunicorn's own error statuses."""
    code, message = ERRORS_BY_STATUS.get(
        status,
        ("bad_request", "The request is not valid.") if status < 500 else ERRORS_BY_STATUS[500],
    )
    body = json.dumps(error_body(code, message), separators=(",", ":")).encode()
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    )
    return head.encode("latin-1") + body


class JsonErrors:
    """The `handle_error` of a gunicorn worker, answering in JSON (a mixin)."""

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        recorder = _Recorder()
        super().handle_error(req, recorder, addr, exc)  # type: ignore[misc]
        try:
            util.write_nonblock(client, json_error_response(_status_of(bytes(recorder.written))))
        except OSError:  # the client is gone: nothing to answer (gunicorn does the same)
            self.log.debug("Failed to send error message.")  # type: ignore[attr-defined]


class JsonErrorSyncWorker(JsonErrors, SyncWorker):
    pass


class JsonErrorThreadWorker(JsonErrors, ThreadWorker):
    pass
