"""A real HTTP receiver for webhook tests: http.server on a loopback port, in a thread.

It keeps every request (headers and raw body), answers 500 to the first `fail_first`
requests, and can hold a request open until released (a worker killed mid-delivery).
`Trickler` answers 200 one byte at a time, each byte well within httpx's read timeout
(a receiver stretching an attempt). Beside them, what every webhook test builds the
same way: the engine that may deliver to loopback (`webhook_engine`) and one pass of
persist then delivery (`run_jobs`).
"""

from __future__ import annotations

import json
import random
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from engine.ops import persistence
from engine.runtime import Engine
from engine.webhooks import delivery


def webhook_engine(redis: Any, rules: Any, clock: Any, database_url: str) -> Iterator[Engine]:
    """An engine on `redis` and `database_url` that may deliver to loopback receivers
    (WEBHOOK_ALLOW_PRIVATE); for a fixture to `yield from`, which disposes its SQL."""
    engine = Engine(
        redis=redis,
        rules=rules,
        clock=clock,
        database_url=database_url,
        webhook_allow_private=True,
    )
    yield engine
    engine.sql.dispose()


def run_jobs(engine: Engine) -> Any:
    """One persist run, then one webhooks run (its jitter seeded)."""
    persistence.persist(engine)
    return delivery.run(engine, rng=random.Random(7))


class Receiver:
    def __init__(self, port: int = 0, fail_first: int = 0) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.fail_first = fail_first
        self.seen = 0
        self.hold: threading.Event | None = None  # set: held requests are answered
        self.arrived = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.seen += 1
                    failing = receiver.seen <= receiver.fail_first
                    hold = receiver.hold
                receiver.arrived.set()
                if hold is not None:
                    hold.wait(30)
                    return  # no answer: the connection closes
                if not failing:
                    with receiver._lock:
                        receiver.requests.append((dict(self.headers.items()), body))
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server.server_port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def events(self) -> list[dict]:
        return [json.loads(body) for _, body in self.requests]

    def stop(self) -> None:
        if self.hold is not None:
            self.hold.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


class Trickler:
    """A receiver that reads a request's headers, then answers `200 OK` (with a body)
    one byte every `interval` seconds: no read waits long, the whole answer does.

    `finished` is set when it has sent every byte of an answer; `cut` when the client
    closed or shut down the connection before that.
    """

    ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\nslow but successful!"

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.seen = 0
        self.finished = threading.Event()
        self.cut = threading.Event()
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)  # so the accept loop sees `stop`
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}/hooks"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:  # the listener was closed
                return
            self.seen += 1
            threading.Thread(target=self._trickle, args=(connection,), daemon=True).start()

    def _trickle(self, connection: socket.socket) -> None:
        with connection:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = connection.recv(65_536)
                if not chunk:
                    return
                request += chunk
            try:
                for n in range(len(self.ANSWER)):
                    if self._stop.wait(self.interval):  # the pace, cut short by stop()
                        return
                    connection.sendall(self.ANSWER[n : n + 1])
            except OSError:  # the client gave up: its end is shut down or closed
                self.cut.set()
                return
            self.finished.set()

    def stop(self) -> None:
        self._stop.set()
        self._listener.close()
        self.thread.join(timeout=10)
