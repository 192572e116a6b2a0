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
connection made after the deadline is shut down as soon as it is made.

A step before the connection that no socket of ours can cut, the guard's name lookup
(getaddrinfo cannot be interrupted), runs through `within`: in a daemon thread of its
own, waited for until the deadline only. A resolver that answers late, or never, costs
the attempt no more than its deadline (it is `expired`, AttemptExpiredError); the
thread is left to end when the resolver gives up. `bounded` does the same for a time
of its own (the guard's lookup when a subscription's URL is saved).

An attempt on a pooled connection reports no connect event, so the deadline needs a
new connection per attempt: delivery sends `Connection: close`, and the connection is
closed when the answer has been read, whatever client sends it.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

CONNECTED = "connection.connect_tcp.complete"
T = TypeVar("T")


class AttemptExpiredError(Exception):
    """The attempt's deadline passed during a step `AttemptDeadline.within` waited for."""


class AttemptDeadline:
    """`with AttemptDeadline(seconds) as deadline:` around one attempt, passing
    `deadline.trace` as the request's `trace` extension; `expired` says whether the
    deadline cut it."""

    def __init__(self, seconds: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.expired = False
        self._monotonic = monotonic
        self._started = monotonic()
        self._ended = False
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> AttemptDeadline:
        self._started = self._monotonic()
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

    def within(self, step: Callable[[], T]) -> T:
        """`step()` (a blocking call that opens no connection of ours: a name lookup),
        waited for until the deadline at most (`bounded`); its answer, or what it raised.

        Raises:
            AttemptExpiredError: the deadline came first; the attempt is `expired`.
        """
        try:
            return bounded(step, self.seconds - (self._monotonic() - self._started))
        except AttemptExpiredError:
            self._expire()
            raise

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


def bounded(step: Callable[[], T], seconds: float) -> T:
    """`step()` run in a daemon thread of its own and waited for `seconds` at most: its
    answer, or what it raised.

    Raises:
        AttemptExpiredError: `seconds` passed first; `step`, which cannot be
            interrupted, goes on in its thread and its answer is dropped.
    """
    outcome: list[Any] = []
    done = threading.Event()

    def run() -> None:
        try:
            outcome.append((True, step()))
        except Exception as error:  # handed to the waiting thread below
            outcome.append((False, error))
        finally:
            done.set()

    threading.Thread(target=run, name="webhook-lookup", daemon=True).start()
    if not done.wait(max(0.0, seconds)):
        raise AttemptExpiredError(f"not done within {seconds:g} s")
    succeeded, value = outcome[0]
    if not succeeded:
        raise value
    return value
