"""A board's cost by its size, for the capacity model (bench.capacity runs it).

The current weekly global board is filled inside Redis (a Lua loop, `FILL`) to each
size asked; at each, its memory per member, the time of one snapshot, and the Redis CPU
per call of the scripts that touch it alone (update_board for one player and for 100,
read_board around-me and top 100 live, the snapshot's top), each measured on its own
with bench.capacity_requests' `measure`. Its commands are O(log N).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis

from bench.capacity_requests import Cost, World, measure
from bench.report import table
from engine import boards

FILL = """local n0, n = tonumber(ARGV[1]), tonumber(ARGV[2])
local m = tonumber(ARGV[3])
for i = n0, n0 + n - 1 do
  local total = (i * 7919) % 200000
  redis.call('ZADD', KEYS[1], total * m + (m - 1 - (i % 1000)), 'c' .. i)
  redis.call('HSET', KEYS[2], 'c' .. i, total .. ':3:30:' .. (i % 30))
end
return n0 + n"""


def fill_board(client: redis.Redis, board: boards.Board, members: int) -> int:
    """Fill the board to `members` generated members; the server's used memory added."""
    kwargs = client.connection_pool.connection_kwargs
    client = redis.Redis(host=kwargs["host"], port=kwargs["port"], socket_timeout=120)
    fill = client.register_script(FILL)
    before = client.info("memory")["used_memory"]
    start = client.zcard(board.scores_key)
    while start < members:
        step = min(10_000, members - start)
        start = fill(
            keys=[board.scores_key, board.aggregates_key], args=[start, step, board.multiplier]
        )
    return client.info("memory")["used_memory"] - before


_new_members = iter(range(10**9))


def _update(engine, board: boards.Board, rng: random.Random, players: int) -> Callable[[], None]:
    """One update_board.lua call putting `players` new members on the board."""
    entries = [
        f"u{next(_new_members)}|{rng.randrange(200_000)}:3:30:{rng.randrange(30)}"
        for _ in range(players)
    ]
    now = int(time.time())
    args = [board.multiplier, now + 86_400, now, *entries]
    keys_ = [board.scores_key, board.aggregates_key]
    return lambda: engine.scripts.update_board(keys=keys_, args=args)


def _around(engine, board: boards.Board, rng: random.Random, size: int) -> Callable[[], None]:
    from engine.boards import leaderboards

    member = f"c{rng.randrange(size)}"
    return lambda: leaderboards.around(engine, board, member, 5)


@dataclass
class BoardSize:
    members: int
    bytes_per_member: float
    snapshot_seconds: float
    costs: dict[str, Cost]  # what -> its cost per call (update per player)


def board_costs(world: World, sizes: list[int], count: int, snapshot_max: int) -> list[BoardSize]:
    """The weekly global board at each size: its memory, one snapshot, and per call the
    scripts that touch it alone (update_board for one player and for 100, read_board
    around-me and top 100 live, the snapshot's top), each measured on its own."""
    from engine.boards import leaderboards, snapshots

    engine, client = world.engine, world.client
    engine.database_url = None  # the snapshot's Redis work only, not its copy to SQL
    board = boards.resolve(engine, "weekly", None, None)
    results = []
    for size in sizes:
        client.unlink(board.scores_key, board.aggregates_key)  # freed in the background
        grew = fill_board(client, board, size)
        rng = random.Random(size)
        snapshot_seconds = float("nan")
        if size <= snapshot_max:  # its Python walks the board: minutes at 10M members
            started = time.perf_counter()
            snapshots.snapshot_board(engine, board)
            snapshot_seconds = time.perf_counter() - started
        costs = {
            "update, 1 player a call": measure(
                client, "u1", [_update(engine, board, rng, 1) for _ in range(count)], 1
            ),
            "update, 100 a call (per player)": measure(
                client, "u100", [_update(engine, board, rng, 100) for _ in range(count // 100)], 100
            ),
            "around-me, live": measure(
                client, "a", [_around(engine, board, rng, size) for _ in range(count)], 1
            ),
            "top 100, live": measure(
                client, "t", [lambda: leaderboards.top(engine, board, 100)] * count, 1
            ),
        }
        if size <= snapshot_max:
            costs["top 100, snapshot"] = measure(
                client,
                "s",
                [lambda: leaderboards.top(engine, board, 100, source="snapshot")] * count,
                1,
            )
        results.append(BoardSize(size, grew / size, snapshot_seconds, costs))
        print(f"(so far)\n{render_boards(results)}", flush=True)
    client.unlink(board.scores_key, board.aggregates_key)
    return results


def render_boards(results: list[BoardSize]) -> str:
    sizes = [f"{size.members:,}" for size in results]
    body = [["bytes a member"] + [f"{size.bytes_per_member:,.0f}" for size in results]]
    body.append(["snapshot (whole board), s"] + [f"{s.snapshot_seconds:,.1f}" for s in results])
    for what in results[0].costs:
        cells = [
            f"{size.costs[what].cpu_us:,.0f}" if what in size.costs else "-" for size in results
        ]
        body.append([f"{what}: server CPU µs", *cells])
    for command, what in (
        ("zadd", "update, 1 player a call"),
        ("zmscore", "update, 1 player a call"),
        ("zcount", "update, 1 player a call"),
        ("zrevrank", "around-me, live"),
        ("zrevrange", "around-me, live"),
    ):
        cells = [f"{size.costs[what].inner.get(command, 0.0):.1f}" for size in results]
        body.append([f"{command.upper()} µs/call ({what.split(',')[0]})", *cells])
    return table(["members", *sizes], body)
