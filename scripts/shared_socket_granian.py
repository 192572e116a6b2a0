"""The Procfile's web server: granian's own command line with the listening sockets bound,
listened on and kept by granian's main process from start to shutdown, one a worker slot.
`python -m scripts.shared_socket_granian --interface wsgi ... app` takes the options of
`granian --help`.

Why: on Linux, granian 2.8 gives each worker a listening socket of its own
(SO_REUSEPORT), opened once the worker has loaded the app and closed when it stops. A
worker replaced for its age or memory (--workers-lifetime, --workers-max-rss), after a
crash or on SIGHUP takes its socket with it: with one worker, a connection made before
the new worker has loaded the app is refused (ECONNREFUSED); with more, the connections
queued on the stopping worker's socket are reset unless the host sets
`net.ipv4.tcp_migrate_req=1`. granian 2.7 kept one socket; 2.8 gave it up on purpose.

Here the main process binds one SO_REUSEPORT socket of the address for each worker slot
(`--workers` of them) and listens on all of them before any worker starts: the kernel
spreads new connections over the slots' sockets by a hash of each connection's
addresses, as over granian's own sockets a worker. The worker of slot i (granian's
`idx`, which a respawned worker keeps) inherits slot i's socket and accepts on it. The
socket outlives every worker of its slot: while one is replaced (granian starts the new
worker before it stops the old one, and both accept on the slot's socket meanwhile) or
after a crash, a connection hashed to the slot waits in its queue until the slot's next
worker accepts it, never refused or reset. What it costs: such a connection waits for
its slot's worker even when another worker is idle (after a crash, until the new worker
has loaded the app), and, as with a socket a worker, a busy worker's queue is not taken
over by the others.

An earlier version shared one socket among all workers: a connection went to whichever
worker accepted first, so a few connections opened at once often all went to one worker
(docs/benchmarks.md). A unix socket (--uds) is granian's own: one socket bound by the
main process and shared by every worker. granian's start-up warning about
`net.ipv4.tcp_migrate_req` concerns sockets that close with their worker, which this
launcher does not have, so it is not given.
"""

from __future__ import annotations

import errno
import multiprocessing
import socket
import sys
from functools import partial
from typing import Any

from granian.cli import cli as granian_cli
from granian.cli import entrypoint
from granian.net import SocketHolder, SocketSpec
from granian.server import common
from granian.server.mp import MPServer, WorkerProcess

_granians_init = MPServer._init_shared_socket
_granians_drop = MPServer._drop_shared_socket
_granians_spawn = MPServer._spawn_worker


def _listening_socket(server: MPServer, port: int) -> tuple[SocketHolder, socket.socket]:
    """One socket of the address, bound as granian binds its own (SO_REUSEADDR and
    SO_REUSEPORT) and listening: a connection hashed to it waits for its slot's worker
    instead of being refused. The Python socket is what granian's workers inherit."""
    holder = SocketSpec(server.bind_addr, port, server.backlog).build()
    inherited = socket.socket(fileno=holder.get_fd())
    inherited.set_inheritable(True)
    inherited.listen(server.backlog)  # each worker's listen() on it changes nothing
    return holder, inherited


def _bind_a_socket_per_slot(server: MPServer) -> None:
    server._slot_sockets = []
    if server.bind_uds:
        _granians_init(server)  # one unix socket bound here, shared by every worker
        return
    port = server.bind_port
    for _ in range(server.workers):
        server._slot_sockets.append(_listening_socket(server, port))
        port = server._slot_sockets[0][1].getsockname()[1]  # --port 0: the first one's
    server._ssp = None  # workers take a descriptor, not a spec to bind their own
    server._shd, server._sso = server._slot_sockets[0]
    server._sfd = server._shd.get_fd()


def _serve_one_slot(others: list[socket.socket], target, *args, **kwargs):
    """In a forked worker, before granian's worker target: the other slots' sockets,
    copied by fork, are closed, so a worker holds its own slot's socket only and every
    socket closes with the main process and its own slot's workers."""
    for inherited in others:
        inherited.close()
    return target(*args, **kwargs)


def _spawn_on_its_slot(server: MPServer, idx: int, target, callback_loader) -> WorkerProcess:
    """granian's worker of slot `idx`, given that slot's socket: its arguments are taken
    here, so the socket set now is the one the worker inherits."""
    if server._slot_sockets:
        server._shd, server._sso = server._slot_sockets[idx]
        server._sfd = server._shd.get_fd()
        if multiprocessing.get_start_method() == "fork":  # spawn passes the one socket only
            others = [
                inherited for _, inherited in server._slot_sockets if inherited is not server._sso
            ]
            target = partial(_serve_one_slot, others, target)
    return _granians_spawn(server, idx, target, callback_loader)


def _close_every_slot(server: MPServer) -> None:
    """At shutdown, before granian stops the workers (where it drops its one socket): the
    main process's descriptors of every slot (a unix socket: granian's own); each socket
    closes with its last worker."""
    for _, inherited in server._slot_sockets:
        inherited.close()
    server._slot_sockets = []
    _granians_drop(server)  # its _sso: a slot's socket, closed already, or the unix one


# The settings the Procfile gives granian's options from (README, Configuration), by
# the name of granian's parameter.
SETTING_OF_OPTION = {
    "workers": "WEB_CONCURRENCY",
    "blocking_threads": "WEB_THREADS",
    "workers_lifetime": "WEB_WORKER_LIFETIME",
    "workers_max_rss": "WEB_WORKER_MAX_RSS",
    "port": "PORT",
    "host": "HOST",
}


def check_options(argv: list[str]) -> dict[str, Any]:
    """granian's own reading of its options, done first: a bad one (WEB_CONCURRENCY=abc,
    WEB_WORKER_LIFETIME=10) is refused in one line naming the setting, exit code 1, as
    every setting is, rather than as granian's usage error (three lines naming the
    option, exit code 2). Returns the options read."""
    import click

    if "--help" in argv or "--version" in argv:
        return {}  # granian's own answers
    try:
        context = granian_cli.make_context("granian", list(argv), auto_envvar_prefix="GRANIAN")
    except click.ClickException as error:
        param = getattr(error, "param", None)
        setting = SETTING_OF_OPTION.get(param.name) if param is not None else None
        reason = error.format_message()
        sys.exit(f"Cannot start: {setting}: {reason}" if setting else f"Cannot start: {reason}")
    return context.params


def check_port_free(options: dict[str, Any]) -> None:
    """Bind the address once without SO_REUSEPORT, then let it go: a port held by
    anything else is refused in one line, as `make run` refuses it. granian's own bind
    failed with a traceback of 140 lines, and a second launcher of this service on the
    same port bound beside the first (both SO_REUSEPORT), the kernel then sharing the
    connections between two deployments."""
    host, port = options.get("host"), options.get("port")
    if options.get("uds") or not host or not port:
        return
    refuse_address_in_use(host, port)


def refuse_address_in_use(host: str, port: int) -> None:
    """Bind `host`:`port` (SO_REUSEADDR, as the web server does) and let it go; if that
    fails, end the process in one line naming the port (`make run` checks the same)."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        socket.create_server((host, port), family=family).close()
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            sys.exit(
                f"Cannot start: port {port} on {host} is already in use; set PORT to a free port."
            )
        sys.exit(f"Cannot start: cannot listen on {host}:{port} ({error.strerror or error}).")


def check_settings(argv: list[str]) -> None:
    """Serving the service's app (`web:create_app`), refuse a setting, a rules file or a
    Redis of another PLAYER_SHARDS it cannot start with in one line, as `make run` does,
    before any worker starts: each worker would otherwise die on it with a traceback.
    So is a database not migrated to this version's schema, on which every route that
    reads or writes SQL answered 500: checked once here, never per request."""
    if "web:create_app" not in argv:
        return
    import redis

    from config import ConfigError, Settings
    from engine import connection, shards
    from engine.rules import RulesError, load_rules

    try:
        settings = Settings.from_env()
        load_rules(settings.rules_file)
    except (ConfigError, RulesError) as error:
        sys.exit(f"Cannot start: {error}")
    try:  # Redis written with another PLAYER_SHARDS: each worker would refuse it too
        client = connection.connect(settings.redis_url, socket_connect_timeout=5)
        shards.verify(client, settings.player_shards)
        client.close()
    except shards.PlayerShardsMismatchError as error:
        sys.exit(f"Cannot start: {error}")
    except redis.exceptions.RedisError:
        pass  # not answering yet: the workers start and answer 503 until it does
    refusal = database_behind(settings.database_url)
    if refusal:
        sys.exit(f"Cannot start: {refusal}")


def database_behind(url: str) -> str | None:
    """The refusal of a database whose schema is not this version's (engine.migrate),
    naming the fix; None when it is, or when it does not answer yet (the workers start
    and answer 503 until it does, as for Redis)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError

    from engine import db, migrate

    sql = db.connect(url)
    try:
        state = migrate.behind(sql)
    except DBAPIError:
        return None
    finally:
        sql.dispose()
    if state is None:
        return None
    where = make_url(url).render_as_string(hide_password=True)
    return (
        f"the database at {where} {state}, this version needs {migrate.head_revision()}: "
        "run `questboard migrate` first (README: A production install)"
    )


def main() -> None:
    options = check_options(sys.argv[1:])
    check_settings(sys.argv[1:])
    check_port_free(options)
    MPServer._init_shared_socket = _bind_a_socket_per_slot
    MPServer._spawn_worker = _spawn_on_its_slot
    MPServer._drop_shared_socket = _close_every_slot
    # The sysctl lets the kernel move a closing per-worker socket's queue to the others;
    # the slots' sockets, kept by the main process, never close before shutdown.
    common._tcp_migrate_req_enabled = lambda: True
    sys.argv[0] = "granian"  # its usage and --version lines
    entrypoint()


if __name__ == "__main__":
    main()
