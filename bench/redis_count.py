"""Redis commands and round trips a block of code sends, counted on the client.

The server's `INFO commandstats` counts every client of a shared server; this counts
only what this process sends, so a benchmark beside test runs still sees its own
commands. A script call (EVALSHA) counts as one command: the commands it runs inside
Redis are not seen by the client.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from redis.connection import AbstractConnection


@dataclass
class Sent:
    """Commands by lower-case name, and the round trips that carried them."""

    commands: Counter[str] = field(default_factory=Counter)
    round_trips: int = 0

    @property
    def total(self) -> int:
        return sum(self.commands.values())


def _name(args: tuple) -> str:
    name = args[0]
    return (name.decode() if isinstance(name, bytes) else str(name)).lower()


@contextlib.contextmanager
def sent_commands() -> Iterator[Sent]:
    """Count what every redis-py connection of this process sends while the block runs.

    A single command goes through `send_command` (one round trip); a pipeline packs
    all its commands with `pack_commands` and sends them in one round trip.
    """
    sent = Sent()
    send_command, pack_commands = AbstractConnection.send_command, AbstractConnection.pack_commands

    def counting_send_command(self, *args, **kwargs):
        sent.commands[_name(args)] += 1
        sent.round_trips += 1
        return send_command(self, *args, **kwargs)

    def counting_pack_commands(self, commands):
        commands = list(commands)
        for args in commands:
            sent.commands[_name(args)] += 1
        sent.round_trips += 1
        return pack_commands(self, commands)

    AbstractConnection.send_command = counting_send_command  # type: ignore[method-assign]
    AbstractConnection.pack_commands = counting_pack_commands  # type: ignore[method-assign]
    try:
        yield sent
    finally:
        AbstractConnection.send_command = send_command  # type: ignore[method-assign]
        AbstractConnection.pack_commands = pack_commands  # type: ignore[method-assign]
