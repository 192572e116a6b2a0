"""Redis memory of one player-day: what a day of typical play leaves in Redis.

Players are funded with a grant first (purchases need coins), then each plays one game
day through the app in this process (the web layer and the engine, with the shipped
rules): a login, three exams in three categories, two purchases, each request with the
player's address (X-Player-IP) as a game server sends it. Then every key of the
database is weighed with `MEMORY USAGE key SAMPLES 0` (every element, not a sample)
and grouped by key family (engine/keys.py). A key listed by SCAN can expire before it
is weighed: the pipeline answers nil for it, and it is counted as expired, not as a
key of zero bytes. Rate-limit windows and rapid-fire counters expire within seconds
to a minute; they are weighed while alive.

    .venv/bin/python -m bench.player_day_memory --players 1000

prints the bytes per player of each key family and what 10 million daily players
would take (bytes a player after the day x 10M, in GB of 10^9 bytes), with and without
the families that expire or drain within minutes (rate-limit windows, rapid-fire
counters, the outboxes the persist job empties every few seconds); then, per family,
what a key is made of (anatomy): its name, its data (the bytes of its values, fields,
members and 8 per score) and the rest, Redis's own overhead (the key's dict entry and
object header, the encoding's headers, allocator rounding), with the encodings seen
(OBJECT ENCODING). The Redis is BENCH_REDIS_URL's, or a database leased like the test
runs' (bench.redis_lease), flushed before and after.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

import redis

from bench import redis_lease
from bench.server import DATABASE_URL
from config import ApiKey, Settings
from engine.clock import FixedClock
from engine.economy import grants

SERVER_KEY, ADMIN_KEY = "memory-server-key", "memory-admin-key"
CATEGORIES = ("math", "science", "history", "geography", "language")
PURCHASES = (("bricks", 1), ("logs", 2))
FUNDS = 10_000
DAILY_PLAYERS = 10_000_000
# Gone within minutes of a player's last request: not part of what a day leaves behind.
SHORT_LIVED = ("rate-limit windows", "rapid-fire counters", "outbox streams (until persisted)")

_PLAYER_KINDS = {
    "wallet": "wallet",
    "tx": "ledger (Redis tail)",
    "idem": "idempotency records",
    "exam": "exam replay records",
    "lbstats": "board stats (per player)",
    "stats": "board stats (per player)",
    "daily": "daily counters",
    "streak": "streak",
    "bp": "battle pass",
    "pace": "rapid-fire counters",
    "rate": "rate-limit windows",
    "outbox": "outbox streams (until persisted)",
}
_FAMILIES = (
    (re.compile(r"^qb:\{p\d+\}:(\w+)"), None),  # a player's shard: by kind, above
    (re.compile(r"^qb:\{lb:"), "boards (scores, aggregates)"),
    (re.compile(r"^qb:\{lbindex\}"), "board index"),
    (re.compile(r"^qb:\{lg:|^qb:\{lgindex\}"), "leagues (members, rosters, scores)"),
    (re.compile(r"^qb:rl:|^qb:rate:"), "rate-limit windows"),  # per address, or limits
    (re.compile(r"^qb:\{sec\}"), "security (bans, violations)"),
    (re.compile(r"^qb:\{daily\}"), "day's missions and tool"),
    (re.compile(r"^qb:\{jobs\}|^rq:"), "jobs"),
)


def family_of(key: str) -> str:
    """The key family a Redis key belongs to, from its name (engine/keys.py)."""
    for pattern, family in _FAMILIES:
        found = pattern.match(key)
        if found:
            return family or _PLAYER_KINDS.get(found[1], f"player {found[1]}")
    return "other"


@dataclass
class Family:
    keys: int = 0
    bytes: int = 0
    expired: int = 0  # listed by SCAN, gone before MEMORY USAGE


def weigh(client: redis.Redis, batch: int = 500) -> dict[str, Family]:
    """Every key of the client's database, weighed and grouped by family."""
    families: dict[str, Family] = {}
    names = [name.decode() for name in client.scan_iter(count=1000)]
    for start in range(0, len(names), batch):
        chunk = names[start : start + batch]
        pipeline = client.pipeline(transaction=False)
        for name in chunk:
            pipeline.memory_usage(name, samples=0)
        for name, size in zip(chunk, pipeline.execute(), strict=True):
            family = families.setdefault(family_of(name), Family())
            if size is None:
                family.expired += 1
            else:
                family.keys += 1
                family.bytes += size
    return families


@dataclass
class Anatomy:
    """What a family's keys are made of: bytes of their names, of their data, in all."""

    keys: int = 0
    bytes: int = 0
    names: int = 0
    data: int = 0
    encodings: Counter = field(default_factory=Counter)

    @property
    def overhead(self) -> int:
        return self.bytes - self.names - self.data


_CONTENT = {
    b"string": lambda pipe, name: pipe.get(name),
    b"hash": lambda pipe, name: pipe.hgetall(name),
    b"list": lambda pipe, name: pipe.lrange(name, 0, -1),
    b"set": lambda pipe, name: pipe.smembers(name),
    b"zset": lambda pipe, name: pipe.zrange(name, 0, -1, withscores=True),
}


def data_bytes(content) -> int:
    """The bytes of a key's values (a string's bytes, a hash's fields and values, a list's
    or a set's elements, a sorted set's members and 8 a score)."""
    if isinstance(content, bytes):
        return len(content)
    if isinstance(content, dict):
        return sum(len(name) + len(value) for name, value in content.items())
    return sum(len(item[0]) + 8 if isinstance(item, tuple) else len(item) for item in content)


def anatomy(client: redis.Redis, batch: int = 500) -> dict[str, Anatomy]:
    """Every key of the client's database (streams left out: their data is not read
    here) with its name, data and MEMORY USAGE, grouped by family. A key gone in
    between is left out."""
    families: dict[str, Anatomy] = {}
    names = [name for name in client.scan_iter(count=1000)]
    for start in range(0, len(names), batch):
        chunk = names[start : start + batch]
        pipeline = client.pipeline(transaction=False)
        for name in chunk:
            pipeline.type(name)
            pipeline.object("encoding", name)
        described = pipeline.execute(raise_on_error=False)
        pipeline = client.pipeline(transaction=False)
        read = []
        for name, kind, encoding in zip(chunk, described[::2], described[1::2], strict=True):
            if kind in _CONTENT and isinstance(encoding, bytes):
                _CONTENT[kind](pipeline, name)
                pipeline.memory_usage(name, samples=0)
                read.append((name, kind, encoding))
        replies = pipeline.execute(raise_on_error=False)
        for (name, kind, encoding), content, size in zip(
            read, replies[::2], replies[1::2], strict=True
        ):
            if size is None or isinstance(size, Exception) or not content:
                continue
            family = families.setdefault(family_of(name.decode()), Anatomy())
            family.keys += 1
            family.bytes += size
            family.names += len(name)
            family.data += data_bytes(content)
            family.encodings[f"{kind.decode()} {encoding.decode()}"] += 1
    return families


ANATOMY_COLUMNS = [
    "key family",
    "keys a player",
    "bytes a key",
    "key name",
    "data",
    "overhead",
    "overhead share",
    "encodings (keys)",
]


def anatomy_report(families: dict[str, Anatomy], players: int) -> str:
    """Per family, largest first: what a key is made of, in bytes a key."""
    lines = ["| " + " | ".join(ANATOMY_COLUMNS) + " |", "|" + "---|" * len(ANATOMY_COLUMNS)]
    for name, family in sorted(families.items(), key=lambda item: -item[1].bytes):
        n = family.keys
        encodings = ", ".join(f"{kind} {count}" for kind, count in family.encodings.most_common())
        cells = [
            name,
            f"{n / players:,.2f}",
            f"{family.bytes / n:,.0f}",
            f"{family.names / n:,.0f}",
            f"{family.data / n:,.0f}",
            f"{family.overhead / n:,.0f}",
            f"{family.overhead / family.bytes:.0%}",
            encodings,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def address(number: int) -> str:
    return f"10.{number // 65536 % 256}.{number // 256 % 256}.{number % 256}"


def play_day(
    url: str, players: int, persist: bool = False
) -> tuple[dict[str, Family], dict[str, Family]]:
    """(keys after funding, keys after the day) for `players` players' game day.

    The day is played in rounds (every player's login, then every player's first exam,
    ...). With `persist`, the persist job drains the outboxes into SQL (a SQLite file of
    this process) after the funding and after each round, as it does every few seconds
    in production, where a player's requests are minutes apart: the outboxes are then
    empty, and a ledger tail is trimmed as it would be (only persisted entries go)."""
    from web import create_app

    client = redis.Redis.from_url(url)
    settings = Settings(
        redis_url=url,
        api_keys=(ApiKey("server", SERVER_KEY), ApiKey("admin", ADMIN_KEY)),
        database_url=DATABASE_URL,
    )
    app = create_app(settings, redis_client=client, clock=FixedClock(datetime.now(UTC)))
    engine = app.extensions["questboard.engine"]
    drain = _persister(engine) if persist else lambda: None
    for number in range(players):
        grants.grant(engine, f"m{number}", {"coins": FUNDS}, "memory benchmark", "funds")
    drain()
    funded = weigh(client)
    http = app.test_client()
    for step in range(len(_day(0))):
        for number in range(players):
            _play(http, f"m{number}", number, step)
        drain()
    return funded, weigh(client)


def _persister(engine):
    from engine import migrate
    from engine.ops import persistence

    migrate.upgrade(engine.sql)
    return lambda: persistence.persist(engine)


def _day(number: int) -> list[tuple[str, dict, dict | None]]:
    """A player's requests of the day: (path under the player, extra headers, body)."""
    day = [("login", {}, None)]
    for exam in range(3):
        body = {
            "exam_id": f"e{exam}",
            "category_id": CATEGORIES[(number + exam) % len(CATEGORIES)],
            "score": (number * 31 + exam * 7) % 1000,
            "total_questions": 10,
            "correct_answers": (number + exam) % 11,
        }
        day.append(("exams", {}, body))
    for n, (item, quantity) in enumerate(PURCHASES):
        body = {"item": item, "quantity": quantity}
        day.append(("purchases", {"Idempotency-Key": f"day-{n}"}, body))
    return day


def _play(http, player_id: str, number: int, step: int) -> None:
    """The player's `step`th request of the day (_day)."""
    path, extra, body = _day(number)[step]
    headers = {"Authorization": f"Bearer {SERVER_KEY}", "X-Player-IP": address(number)}
    answer = http.post(f"/v1/players/{player_id}/{path}", headers={**headers, **extra}, json=body)
    if not 200 <= answer.status_code < 300:
        failed = (answer.request.path, answer.status_code, answer.get_data(as_text=True))
        raise RuntimeError(f"a player's day was refused: {failed}")


def rows(funded: dict[str, Family], after: dict[str, Family], players: int) -> list[list]:
    """[family, keys, expired, bytes a key, bytes a player after the day, bytes a player
    the day added] per family, largest first, and the total. Bytes a key tell what a
    short-lived family (rate-limit windows, rapid-fire counters) costs while alive."""
    table = []
    names = sorted(set(after) | set(funded), key=lambda name: -after.get(name, Family()).bytes)
    for name in names:
        family, before = after.get(name, Family()), funded.get(name, Family())
        table.append(_row(name, family, before, players))
    total = Family(*(sum(getattr(f, part) for f in after.values()) for part in _PARTS))
    before = Family(*(sum(getattr(f, part) for f in funded.values()) for part in _PARTS))
    return [*table, _row("total", total, before, players)]


_PARTS = ("keys", "bytes", "expired")


def _row(name: str, family: Family, before: Family, players: int) -> list:
    per_key = family.bytes / family.keys if family.keys else 0
    added = family.bytes - before.bytes
    return [name, family.keys, family.expired, per_key, family.bytes / players, added / players]


def projected_gb(bytes_a_player: float, players: int = DAILY_PLAYERS) -> float:
    """What `players` daily players take at `bytes_a_player` each, in GB (10^9 bytes)."""
    return bytes_a_player * players / 1e9


def lasting_bytes(families: dict[str, Family]) -> int:
    """The bytes of every family but the short-lived ones (SHORT_LIVED)."""
    return sum(family.bytes for name, family in families.items() if name not in SHORT_LIVED)


COLUMNS = [
    "key family",
    "keys",
    "expired before weighed",
    "bytes a key",
    "bytes per player after the day",
    "of which the day added",
    f"GB for {DAILY_PLAYERS:,} daily players",
]


def report(funded: dict[str, Family], after: dict[str, Family], players: int) -> str:
    """The table of rows() with the projection, then the lasting total's projection."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for name, keys, expired, per_key, held, added in rows(funded, after, players):
        cells = [name, keys, expired, f"{per_key:,.0f}", f"{held:,.0f}", f"{added:,.0f}"]
        lines.append("| " + " | ".join(map(str, cells)) + f" | {projected_gb(held):,.2f} |")
    lasting = lasting_bytes(after) / players
    lines += [
        "",
        f"Without the short-lived families ({', '.join(SHORT_LIVED)}): {lasting:,.0f} bytes "
        f"a player, {projected_gb(lasting):,.2f} GB for {DAILY_PLAYERS:,} daily players.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--players", type=int, default=1000, help="players, one day each")
    parser.add_argument(
        "--persist",
        action="store_true",
        help="run the persist job after the funding and after each round of the day",
    )
    args = parser.parse_args(argv)
    url = redis_lease.benchmark_url()
    client = redis.Redis.from_url(url)
    client.flushdb()
    try:
        funded, after = play_day(url, args.players, persist=args.persist)
        persisted = ", persisted after each round" if args.persist else ""
        print(
            f"{args.players:,} players, one game day each{persisted}; MEMORY USAGE of every key\n"
        )
        print(report(funded, after, args.players))
        print("\nWhat a key is made of, bytes a key (streams left out):\n")
        print(anatomy_report(anatomy(client), args.players))
    finally:
        client.flushdb()
        client.close()


if __name__ == "__main__":
    main()
