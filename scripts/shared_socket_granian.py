"""The Procfile's web server: granian's own command line with one listening socket that
granian's main process binds, listens on and keeps from start to shutdown, shared by
every worker. `python -m scripts.shared_socket_granian --interface wsgi ... app` takes
the options of `granian --help`.

Why: on Linux, granian 2.8 gives each worker a listening socket of its own
(SO_REUSEPORT), opened once the worker has loaded the app and closed when it stops. A
worker replaced for its age or memory (--workers-lifetime, --workers-max-rss), after a
crash or on SIGHUP takes its socket with it: with one worker, a connection made before
the new worker has loaded the app is refused (ECONNREFUSED); with more, the connections
queued on the stopping worker's socket are reset unless the host sets
`net.ipv4.tcp_migrate_req=1`. granian 2.7 kept one socket; 2.8 gave it up on purpose.

Here the main process binds the address as granian itself does on other systems and for
a unix socket (a `SocketHolder` whose descriptor every worker inherits and listens on),
and listens at once: the kernel's queue of the address outlives every worker, and a
connection made while no worker accepts waits there until one does. What it costs: the
workers take connections from one queue, so a few long-lived connections may land
unevenly on them (docs/benchmarks.md). granian's start-up warning about
`net.ipv4.tcp_migrate_req` concerns the sockets of its own workers, which this launcher
does not use, so it is not given.
"""

from __future__ import annotations

import socket
import sys

from granian.cli import entrypoint
from granian.net import SocketSpec
from granian.server import common
from granian.server.common import AbstractServer

_granians_own = AbstractServer._init_shared_socket


def _bind_in_the_main_process(server: AbstractServer) -> None:
    if server.bind_uds:
        _granians_own(server)  # a unix socket is bound here already
        return
    spec = SocketSpec(server.bind_addr, server.bind_port, server.backlog)
    server._shd = spec.build()  # bound with SO_REUSEADDR and SO_REUSEPORT, as granian does
    server._sfd = server._shd.get_fd()
    server._ssp = None  # workers take the descriptor, not a spec to bind their own
    # Listening before any worker does, so a connection waits for the first worker instead
    # of being refused; each worker's listen() on the same socket changes nothing. The
    # descriptor stays granian's (detach), closed at its shutdown.
    listening = socket.socket(fileno=server._sfd)
    try:
        listening.listen(server.backlog)
    finally:
        listening.detach()


def main() -> None:
    AbstractServer._init_shared_socket = _bind_in_the_main_process
    # The sysctl lets the kernel move a closing per-worker socket's queue to the others;
    # with one socket kept by the main process there is nothing to move.
    common._tcp_migrate_req_enabled = lambda: True
    sys.argv[0] = "granian"  # its usage and --version lines
    entrypoint()


if __name__ == "__main__":
    main()
