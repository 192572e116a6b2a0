"""engine.webhooks.deadline on a socket pair: the connection its trace saw is shut
down at the deadline, and left alone by an attempt that ended in time."""

from __future__ import annotations

import socket

import pytest

from engine.webhooks.deadline import CONNECTED, AttemptDeadline


class Stream:
    """What httpcore's trace hands over: a network stream that names its socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def get_extra_info(self, info: str) -> socket.socket | None:
        return self.sock if info == "socket" else None


def test_the_connection_is_shut_down_at_the_deadline_and_a_blocked_read_ends():
    ours, receivers = socket.socketpair()
    with ours, receivers:
        ours.settimeout(5)
        with AttemptDeadline(0.05) as deadline:
            deadline.trace("connection.connect_tcp.started", {})
            deadline.trace(CONNECTED, {"return_value": Stream(ours)})
            assert ours.recv(1) == b""  # blocked until the deadline, then the end
        assert deadline.expired


def test_an_attempt_that_ended_in_time_keeps_its_connection_as_it_was():
    ours, receivers = socket.socketpair()
    with ours, receivers:
        receivers.settimeout(5)
        with AttemptDeadline(0.05) as deadline:
            deadline.trace(CONNECTED, {"return_value": Stream(ours)})
        ours.settimeout(0.2)  # past the deadline: a shut connection would read b"" at 0.05
        with pytest.raises(TimeoutError):
            ours.recv(1)
        ours.sendall(b"x")
        assert receivers.recv(1) == b"x"
        assert not deadline.expired
