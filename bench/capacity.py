"""The capacity model's inputs: Redis CPU per request and memory per player and member.

    .venv/bin/python -m bench.capacity                      # about two minutes
    .venv/bin/python -m bench.capacity --board-sizes 1000000,10000000

Runs on a Redis server of its own (redis-server on a free loopback port, no
persistence, stopped at exit), so `INFO commandstats` and the server's CPU counters see
this run's commands only: a shared server counts every test run beside it.

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
import random
import shlex
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import redis

from bench import player_day_memory, redis_count
from bench.private_redis import private_redis
from bench.report import table
from bench.server import DATABASE_URL, load_test_rules
from config import ApiKey, Settings
from engine import boards
from engine.clock import FixedClock
from engine.economy import grants

SERVER_KEY = "capacity-server-key"
CATEGORIES = ("math", "science", "history", "geography", "language")
FILL = """local n0, n = tonumber(ARGV[1]), tonumber(ARGV[2])
local m = tonumber(ARGV[3])
for i = n0, n0 + n - 1 do
  local total = (i * 7919) % 200000
  redis.call('ZADD', KEYS[1], total * m + (m - 1 - (i % 1000)), 'c' .. i)
  redis.call('HSET', KEYS[2], 'c' .. i, total .. ':3:30:' .. (i % 30))
end
return n0 + n"""


@dataclass
class Cost:
    """What one kind of request costs the Redis server, per request (or per exam)."""

    label: str
    requests: int
    cpu_us: float  # main-thread CPU of the server
    script_us: float  # EVALSHA's usec (the scripts' own commands included)
    round_trips: float
    sent: dict[str, float]  # command the client sent -> calls a request
    inner: dict[str, float]  # every command, scripts' own calls too -> usec_per_call


def main_thread_cpu(client: redis.Redis) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_user_main_thread"]) + float(info["used_cpu_sys_main_thread"])


def measure(client: redis.Redis, label: str, calls: list[Callable[[], object]], per: int) -> Cost:
    """Run `calls` (each `per` requests) between a stats reset and a read of the stats."""
    client.config_resetstat()
    before = main_thread_cpu(client)
    with redis_count.sent_commands() as sent:
        for call in calls:
            call()
    cpu = main_thread_cpu(client) - before
    stats = {
        name.removeprefix("cmdstat_"): value
        for name, value in client.info("commandstats").items()
        if name not in ("cmdstat_info", "cmdstat_config")
    }
    requests = len(calls) * per
    return Cost(
        label,
        requests,
        cpu * 1e6 / requests,
        stats.get("evalsha", {}).get("usec", 0) / requests,
        sent.round_trips / requests,
        {name: count / requests for name, count in sent.commands.items()},
        {name: value["usec_per_call"] for name, value in stats.items()},
    )


class World:
    """An app on `url` and `players` players who logged in today and hold coins."""

    def __init__(self, url: str, players: int) -> None:
        from web import create_app

        self.client = redis.Redis.from_url(url)
        settings = Settings(
            redis_url=url,
            api_keys=(ApiKey("server", SERVER_KEY),),
            database_url=DATABASE_URL,
            rules_file=load_test_rules(),
        )
        clock = FixedClock(datetime.now(UTC))
        self.app = create_app(settings, redis_client=self.client, clock=clock)
        self.engine = self.app.extensions["questboard.engine"]
        self.http = self.app.test_client()
        self.players = [f"c{n}" for n in range(players)]
        self.serial = iter(range(10**9))
        for player in self.players:
            grants.grant(self.engine, player, {"coins": 10**9}, "capacity", f"f-{player}")

    def headers(self, number: int, **more: str) -> dict[str, str]:
        ip = player_day_memory.address(number)
        return {"Authorization": f"Bearer {SERVER_KEY}", "X-Player-IP": ip, **more}

    def post(self, path: str, number: int, body: object, **headers: str) -> Callable[[], None]:
        def call() -> None:
            answer = self.http.post(path, headers=self.headers(number, **headers), json=body)
            if answer.status_code >= 300:
                raise RuntimeError(f"{path}: {answer.status_code} {answer.get_data(True)}")

        return call

    def get(self, path: str, number: int) -> Callable[[], None]:
        def call() -> None:
            answer = self.http.get(path, headers=self.headers(number))
            if answer.status_code >= 300:
                raise RuntimeError(f"{path}: {answer.status_code} {answer.get_data(True)}")

        return call

    def exam(self, number: int) -> dict:
        n = next(self.serial)
        return {
            "exam_id": f"x{n}",
            "category_id": CATEGORIES[n % len(CATEGORIES)],
            "score": (n * 37) % 1000,
            "total_questions": 10,
            "correct_answers": n % 11,
        }

    def logins(self) -> list[Callable[[], None]]:
        return [self.post(f"/v1/players/{p}/login", n, None) for n, p in enumerate(self.players)]

    def purchases(self, count: int) -> list[Callable[[], None]]:
        body = {"item": "logs", "quantity": 1}
        return [
            self.post(f"/v1/players/{p}/purchases", n, body, **{"Idempotency-Key": f"k{i}"})
            for i, (n, p) in enumerate(self._picks(count))
        ]

    def exams(self, count: int) -> list[Callable[[], None]]:
        return [self.post(f"/v1/players/{p}/exams", n, self.exam(n)) for n, p in self._picks(count)]

    def exam_batches(self, count: int, size: int) -> list[Callable[[], None]]:
        """`count` calls of `size` exams each: POST /v1/exams:batch when the app has it,
        else engine.boards.exams.record_exams (the function that route calls)."""
        from engine.boards import exams

        batches = [list(self._picks(size)) for _ in range(count)]
        if any(rule.rule == "/v1/exams:batch" for rule in self.app.url_map.iter_rules()):
            return [
                self.post(
                    "/v1/exams:batch",
                    0,
                    {"exams": [dict(self.exam(n), player_id=p) for n, p in batch]},
                )
                for batch in batches
            ]

        def record(batch: list) -> Callable[[], None]:
            def call() -> None:
                submissions = [(p, exams.Exam(**_exam_args(self.exam(n)))) for n, p in batch]
                exams.record_exams(self.engine, submissions)

            return call

        return [record(batch) for batch in batches]

    def reads(self, count: int, query: str) -> list[Callable[[], None]]:
        if query == "top":
            return [self.get("/v1/leaderboards/weekly?limit=100", 0) for _ in range(count)]
        return [
            self.get(f"/v1/leaderboards/weekly/players/{p}?around=5", n)
            for n, p in self._picks(count)
        ]

    def _picks(self, count: int) -> Iterator[tuple[int, str]]:
        rng = random.Random(count)
        for _ in range(count):
            n = rng.randrange(len(self.players))
            yield n, self.players[n]


def _exam_args(body: dict) -> dict:
    return {
        "exam_id": body["exam_id"],
        "category": body["category_id"],
        "score": body["score"],
        "total_questions": body["total_questions"],
        "correct_answers": body["correct_answers"],
    }


def request_costs(world: World, count: int, batch: int) -> list[Cost]:
    client = world.client
    rows = [measure(client, "login (claims the day)", world.logins(), 1)]
    for call in world.exams(len(world.players)):  # every player on the boards
        call()
    rows.append(measure(client, "purchase", world.purchases(count), 1))
    rows.append(measure(client, "exam, one a call", world.exams(count), 1))
    calls = max(1, count // batch)
    rows.append(
        measure(client, f"exam, {batch} a call (per exam)", world.exam_batches(calls, batch), batch)
    )
    rows.append(measure(client, "board top 100", world.reads(count, "top"), 1))
    rows.append(measure(client, "board around-me (5 each side)", world.reads(count, "around"), 1))
    return rows


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


def render_costs(rows: list[Cost]) -> str:
    body = [
        [
            row.label,
            f"{row.cpu_us:,.0f}",
            f"{row.script_us:,.0f}",
            f"{row.round_trips:.2f}",
            ", ".join(f"{name} {calls:.2g}" for name, calls in row.sent.items() if calls >= 0.01),
        ]
        for row in rows
    ]
    columns = ["request", "server CPU µs", "in scripts µs", "round trips", "commands sent"]
    return table(columns, body)


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
