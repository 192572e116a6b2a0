"""The capacity model's inputs: Redis CPU per request and memory per player and member.

    .venv/bin/python -m bench.capacity                      # about two minutes
    .venv/bin/python -m bench.capacity --board-sizes 1000000,10000000

Runs on a Redis server of its own (redis-server on a free loopback port, no
persistence, stopped at exit), so `INFO commandstats` and the server's CPU counters see
this run's commands only: a shared server counts every test run beside it.

The requests' costs are bench/capacity_requests.py's, the board sizes'
bench/capacity_boards.py's; this module runs the parts asked and prints their tables.

Each kind of request runs through the app in this process (the web layer and the
engine, shipped rules with the per-player defenses opened up, `X-Player-IP` set) for
players who already played today; around each kind `CONFIG RESETSTAT` and the server's
main-thread CPU (`used_cpu_user_main_thread + used_cpu_sys_main_thread`, which a node
saturates first) are read. Per request it reports that CPU, the commands the client sent
(bench.redis_count) and their `usec_per_call`. The CPU figure includes reading and
writing each command on the socket, which commandstats leaves out.

Memory per player-day is bench.player_day_memory's weighing of every key. A board's
memory per member and its O(log N) commands are measured on the current weekly global
board filled to each of `--board-sizes` members (generated inside Redis).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys

import redis

from bench import player_day_memory
from bench.capacity_boards import FILL, BoardSize, board_costs, fill_board, render_boards
from bench.capacity_requests import (
    CATEGORIES,
    SERVER_KEY,
    Cost,
    World,
    main_thread_cpu,
    measure,
    render_costs,
    request_costs,
)
from bench.private_redis import private_redis
from bench.report import table

__all__ = [
    "CATEGORIES",
    "FILL",
    "SERVER_KEY",
    "BoardSize",
    "Cost",
    "World",
    "board_costs",
    "fill_board",
    "main",
    "main_thread_cpu",
    "measure",
    "render_boards",
    "render_costs",
    "render_memory",
    "request_costs",
]


def render_memory(funded: dict, after: dict, players: int) -> str:
    rows = player_day_memory.rows(funded, after, players)
    body = [
        [name, keys, f"{per_key:,.0f}", f"{per_player:,.0f}", f"{added:,.0f}"]
        for name, keys, _, per_key, per_player, added in rows
    ]
    columns = ["family", "keys", "bytes a key", "bytes a player", "added by the day"]
    return table(columns, body)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--players", type=int, default=2_000)
    parser.add_argument("--requests", type=int, default=2_000, help="of each kind")
    parser.add_argument("--batch", type=int, default=100, help="exams in a batch call")
    parser.add_argument("--memory-players", type=int, default=1_000)
    parser.add_argument("--board-sizes", default="100000,1000000", help="comma-separated")
    parser.add_argument("--snapshot-max", type=int, default=1_000_000, help="largest board")
    parser.add_argument("--parts", default="requests,memory,boards", help="comma-separated")
    args = parser.parse_args(argv)
    parts = set(args.parts.split(","))
    sizes = [int(size) for size in args.board_sizes.split(",") if size]
    print("    " + shlex.join([".venv/bin/python", "-m", "bench.capacity", *sys.argv[1:]]))
    with private_redis() as url:
        if "requests" in parts:
            world = World(url, args.players)
            print("\n## Redis CPU per request\n")
            print(render_costs(request_costs(world, args.requests, args.batch)), flush=True)
            world.client.flushdb()
        if "memory" in parts:
            funded, after = player_day_memory.play_day(url, args.memory_players)
            print(f"\n## Memory of a player-day ({args.memory_players:,} players)\n")
            print(render_memory(funded, after, args.memory_players), flush=True)
            redis.Redis.from_url(url).flushdb()
        if "boards" in parts:
            world = World(url, args.players)
            for call in world.exams(len(world.players)):
                call()
            print("\n## The weekly global board by size\n")
            print(
                render_boards(
                    board_costs(world, sizes, min(args.requests, 1_000), args.snapshot_max)
                ),
                flush=True,
            )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("QUESTBOARD_QUIET", "1")
    sys.exit(main())
