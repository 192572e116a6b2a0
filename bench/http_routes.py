"""The routes the HTTP cost benchmark loads, the players they act on, and the Redis
commands each request sends.

The floors (a plain WSGI callable, a bare Flask app, Flask with one HGETALL through
redis-py's client and through the service's) and the service's routes, each one
`Route`: the app that serves it and one request template (bench.wrk), filled by wrk
under load and by `count_commands` here in-process.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass

import redis
from werkzeug.test import Client

from bench import bare_app
from bench.redis_count import sent_commands
from bench.server import DATABASE_URL, SERVER_KEY, load_test_rules
from bench.wrk import RequestTemplate
from config import ApiKey, Settings
from engine.boards import exams
from engine.clock import SystemClock
from engine.economy import grants
from engine.runtime import Engine, build_engine

APPS = {
    "wsgi": "bench.bare_app:wsgi",
    "flask": "bench.bare_app:flask_app",
    "flask+redis": "bench.bare_app:flask_redis_app()",
    "flask+kept-redis": "bench.bare_app:flask_kept_redis_app()",
    "service": "web:create_app()",
}
FUNDS = 10**9
AUTH = {"Authorization": f"Bearer {SERVER_KEY}"}
JSON = {**AUTH, "Content-Type": "application/json"}
EXAM_BODY = (
    '{"exam_id": "{unique}", "category_id": "math", "score": {score}, '
    '"total_questions": 10, "correct_answers": {correct}}'
)


@dataclass(frozen=True)
class Route:
    name: str
    app: str  # a key of APPS
    request: RequestTemplate


ROUTES = (
    Route("bare WSGI", "wsgi", RequestTemplate("GET", "/", AUTH)),
    Route("bare Flask", "flask", RequestTemplate("GET", "/", AUTH)),
    Route(
        "Flask + 1 HGETALL",
        "flask+redis",
        RequestTemplate("GET", "/v1/players/{player}/wallet", AUTH),
    ),
    Route(
        "Flask + 1 HGETALL, the service's client",
        "flask+kept-redis",
        RequestTemplate("GET", "/v1/players/{player}/wallet", AUTH),
    ),
    Route("catalog (auth, no Redis)", "service", RequestTemplate("GET", "/v1/catalog", AUTH)),
    Route("wallet", "service", RequestTemplate("GET", "/v1/players/{player}/wallet", AUTH)),
    Route(
        "around-me (around=5)",
        "service",
        RequestTemplate("GET", "/v1/leaderboards/weekly/players/{player}?around=5", AUTH),
    ),
    Route(
        "purchase",
        "service",
        RequestTemplate(
            "POST",
            "/v1/players/{player}/purchases",
            {**JSON, "Idempotency-Key": "{unique}"},
            '{"item": "bricks", "quantity": 1}',
        ),
    ),
    Route(
        "exam", "service", RequestTemplate("POST", "/v1/players/{player}/exams", JSON, EXAM_BODY)
    ),
    Route("login", "service", RequestTemplate("POST", "/v1/players/{player}/login", AUTH)),
)
BARE_FLASK, FLASK_REDIS = "bare Flask", "Flask + 1 HGETALL"


def player(number: int) -> str:
    return f"p{number}"  # as wrk's Lua names them


def load_settings(url: str) -> Settings:
    """The settings the benchmark's servers run with (bench.server.start_server)."""
    return Settings(
        redis_url=url,
        api_keys=(ApiKey("server", SERVER_KEY),),
        rules_file=load_test_rules(),
        database_url=DATABASE_URL,
    )


def seed_players(url: str, players: int, batch: int = 200) -> Engine:
    """`players` players, each funded and with one exam on this week's boards, so every
    route finds a wallet to read, coins to spend and a neighbourhood on the board."""
    engine = build_engine(load_settings(url), redis.Redis.from_url(url), SystemClock())
    for number in range(players):
        grants.grant(engine, player(number), {"coins": FUNDS}, "benchmark funds", "seed")
    for start in range(0, players, batch):
        submissions = [
            (
                player(number),
                exams.Exam(f"seed-{number}", "math", (number * 7919) % 1000, 10, number % 11),
            )
            for number in range(start, min(players, start + batch))
        ]
        for outcome in exams.record_exams(engine, submissions):
            if isinstance(outcome, Exception):
                raise outcome
    return engine


@dataclass(frozen=True)
class CommandCount:
    """Redis commands a request sends (a script call is one), averaged over requests."""

    commands: float
    round_trips: float
    by_name: dict[str, float]


def in_process_apps(url: str):
    """Each app of APPS built in this process, on the benchmark's settings."""
    from web import create_app

    return {
        "wsgi": bare_app.wsgi,
        "flask": bare_app.flask_app,
        "flask+redis": bare_app.flask_redis_app(url),
        "flask+kept-redis": bare_app.flask_kept_redis_app(url),
        "service": create_app(load_settings(url), redis_client=redis.Redis.from_url(url)),
    }


def _send(client: Client, request: RequestTemplate) -> int:
    path, _, query = request.path.partition("?")
    response = client.open(
        path,
        method=request.method,
        query_string=query,
        headers=request.headers,
        data=request.body or None,
    )
    status = response.status_code
    response.close()
    return status


def count_commands(apps: dict, route: Route, players: int, requests: int = 20) -> CommandCount:
    """What `requests` requests of `route` send to Redis, counted on the client after a
    few warm-up requests (connections opened, scripts loaded). Every request must
    succeed: an error answer sends other commands than the route's own."""
    client, run = Client(apps[route.app]), uuid.uuid4().hex[:12]

    def request_number(number: int) -> RequestTemplate:
        return route.request.fill(
            {
                "player": player(number % players),
                "unique": f"{run}-{number}",
                "score": str(number % 1000),
                "correct": str(number % 11),
            }
        )

    statuses: Counter[int] = Counter(_send(client, request_number(n)) for n in range(3))
    with sent_commands() as sent:
        statuses.update(_send(client, request_number(n)) for n in range(3, 3 + requests))
    failed = {status: n for status, n in statuses.items() if not 200 <= status < 300}
    if failed:
        raise RuntimeError(f"{route.name}: answers {json.dumps(failed)} in-process")
    return CommandCount(
        commands=sent.total / requests,
        round_trips=sent.round_trips / requests,
        by_name={name: n / requests for name, n in sorted(sent.commands.items())},
    )
