"""A deadline for one whole webhook attempt: connect, send, the answer's headers and body.

httpx's timeouts bound each wait (to connect, for the next bytes), not an attempt: a
receiver that sends its answer a byte every few seconds keeps an attempt, and the pass
that waits for it, going for as long as it likes. An `AttemptDeadline` ends it.

It sees the connection through httpcore's public `trace` request extension: the
`connection.connect_tcp.complete` event carries the network stream, whose
`get_extra_info("socket")` is the TCP socket. It keeps a duplicate of that socket (a
TLS handshake detaches the original socket object, while the duplicate still names the
same connection), and a timer shuts the connection down (SHUT_RDWR) at the deadline:
a read or write blocked in httpx fails at once, and the attempt is `expired`. A
connection made after the deadline (a slow name lookup before it) is shut down as soon
as it is made.

An attempt on a pooled connection reports no connect event, so the deadline needs a
new connection per attempt: delivery sends `Connection: close`, and the connection is
closed when the answer has been read, whatever client sends it.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType
from typing import Any

CONNECTED = "connection.connect_tcp.complete"


class AttemptDeadline:
    """`with AttemptDeadline(seconds) as deadline:` around one attempt, passing
    `deadline.trace` as the request's `trace` extension; `expired` says whether the
    deadline cut it."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._ended = False
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> AttemptDeadline:
        self._timer.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._timer.cancel()
        with self._lock:
            self._ended = True
            if self._socket is not None:
                self._socket.close()  # the duplicate only: httpcore closes its own
                self._socket = None

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's trace callback: keep the connection's socket when it is made."""
        if event != CONNECTED:
            return
        sock = info["return_value"].get_extra_info("socket")
        if sock is None:
            return
        with self._lock:
            if self._ended:
                return
            if self._socket is not None:  # not expected: one connection an attempt
                self._socket.close()
            self._socket = sock.dup()
            if self.expired:
                self._cut()

    def _expire(self) -> None:
        with self._lock:
            if self._ended:
                return
            self.expired = True
            self._cut()

    def _cut(self) -> None:
        if self._socket is not None:
            with contextlib.suppress(OSError):  # the receiver may have closed it first
                self._socket.shutdown(socket.SHUT_RDWR)
