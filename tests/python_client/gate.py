"""A WSGI gate in front of the app: it records every request and can answer the next
ones with a canned failure (before the app runs, or after it ran, as when an answer is
lost), so the retry tests see exactly what the client sent."""

from __future__ import annotations

import io
import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

CLIENT_PACKAGE = Path(__file__).resolve().parents[2] / "clients" / "python"
NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
NEXT_RESET = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
EMPTY = {"bricks": 0, "cement": 0, "coins": 0, "logs": 0, "steel": 0}


@dataclass
class Failure:
    status: int
    code: str
    retry_after: str | None
    after_app: bool  # the app ran and its answer was lost
    html: bool = False  # a proxy's page, not the API's error body
    body: object = None  # answered as is, instead of the error body
    raw: tuple[bytes, str] | None = None  # these bytes with this Content-Type


class Gate:
    """WSGI middleware: records requests; answers the queued failures first."""

    def __init__(self, app) -> None:
        self.app = app
        self.seen: list[tuple[str, str, str, str | None]] = []
        self.failures: list[Failure] = []
        self.sent_bodies: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()

    def fail_next(self, count, status=503, code="service_unavailable", retry_after="0"):
        self.failures += [Failure(status, code, retry_after, after_app=False)] * count

    def fail_next_as_a_proxy(self, status: int):
        self.failures.append(Failure(status, "", None, after_app=False, html=True))

    def answer_next(self, status: int, body: object):
        self.failures.append(Failure(status, "", None, after_app=False, body=body))

    def answer_next_raw(self, status: int, content: bytes, content_type: str):
        raw = (content, content_type)
        self.failures.append(Failure(status, "", None, after_app=False, raw=raw))

    def lose_next_answer(self):
        self.failures.append(Failure(503, "service_unavailable", "0", after_app=True))

    def keys(self) -> list[str | None]:
        return [key for *_, key in self.seen]

    def queries(self, path_end: str) -> list[str]:
        return [query for _, path, query, _ in self.seen if path.endswith(path_end)]

    def bodies(self, path_end: str) -> list[bytes]:
        return [body for path, body in self.sent_bodies if path.endswith(path_end)]

    def __call__(self, environ, start_response):
        with self.lock:
            self.seen.append(
                (
                    environ["REQUEST_METHOD"],
                    environ["PATH_INFO"],
                    environ.get("QUERY_STRING", ""),
                    environ.get("HTTP_IDEMPOTENCY_KEY"),
                )
            )
            failure = self.failures.pop(0) if self.failures else None
            if environ["PATH_INFO"].endswith(":batch"):  # kept for the batch tests
                length = int(environ.get("CONTENT_LENGTH") or 0)
                body = environ["wsgi.input"].read(length)
                environ["wsgi.input"] = io.BytesIO(body)
                self.sent_bodies.append((environ["PATH_INFO"], body))
        if failure is None:
            return self.app(environ, start_response)
        if failure.after_app:
            answer = self.app(environ, lambda *args: lambda data: None)
            b"".join(answer)
            getattr(answer, "close", lambda: None)()
        if failure.raw is not None:
            content, content_type = failure.raw
            start_response(f"{failure.status} Raw", [("Content-Type", content_type)])
            return [content]
        if failure.html:
            start_response(f"{failure.status} Proxy", [("Content-Type", "text/html")])
            return [b"<html><body>Bad Gateway</body></html>"]
        body = failure.body or {"error": {"code": failure.code, "message": "canned", "details": {}}}
        headers = [("Content-Type", "application/json")]
        if failure.retry_after is not None:
            headers.append(("Retry-After", failure.retry_after))
        start_response(f"{failure.status} Canned", headers)
        return [json.dumps(body).encode()]


def cap_jitter(low: float, high: float) -> float:
    """Waits the whole backoff cap, so the tests know each wait exactly."""
    return high
