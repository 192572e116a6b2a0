"""Redis CPU per request, for the capacity model (bench.capacity runs it).

A `World` is the app in this process (the web layer and the engine, shipped rules with
the per-player defenses opened up, `X-Player-IP` set) on a Redis of its own, with
players who logged in today and hold coins. `measure` runs calls between a
`CONFIG RESETSTAT` and a read of the server's main-thread CPU
(`used_cpu_user_main_thread + used_cpu_sys_main_thread`, which a node saturates first)
and its commandstats: per request the CPU, the commands the client sent
(bench.redis_count) and their `usec_per_call`. The CPU figure includes reading and
writing each command on the socket, which commandstats leaves out.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import redis

from bench import player_day_memory, redis_count
from bench.report import table
from bench.server import DATABASE_URL, load_test_rules
from config import ApiKey, Settings
from engine.clock import FixedClock
from engine.economy import grants

SERVER_KEY = "capacity-server-key"
CATEGORIES = ("math", "science", "history", "geography", "language")


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
