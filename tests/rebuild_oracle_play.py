"""A seeded random session of players over the HTTP API, and every read a player can make,
for tests/test_rebuild_oracle.py: what the players saw before Redis was lost must be
what they see after `questboard rebuild`.

The session starts on Saturday 2026-11-28 and plays five game days, so it crosses the
daily reset (03:00 UTC) every day, the week's end (Monday 2026-11-30: the league and the
weekly boards close) and the month's (2026-12-01: a new month's boards and a new battle
pass season). The scheduled jobs run when the scheduler would run them; the persist job
also runs at random moments, so part of the session is in SQL well before the loss and
part only just.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from engine.rules.board_prizes import parse_board_prizes
from engine.rules.fields import Field
from engine.rules.progression import StreakRepair
from jobs.tasks import run_job
from web import create_app

PLAYERS = ("ann", "ben", "cid", "dan")
CATEGORIES = ("math", "history", "art")
TOOLS = ("brickwork", "concrete", "earthwork")  # rules.toml's [tools]
ITEMS = ("logs", "bricks", "steel", "streak_freeze")
ZONES = ("Asia/Tokyo", "America/New_York", "Europe/Berlin", "Pacific/Kiritimati", None)
START = datetime(2026, 11, 28, 3, 30, tzinfo=UTC)  # a Saturday, just after the reset
DAYS = 5
MISSED = 2  # the day everyone misses: SAVER's freeze bridges it, BREAKER's streak breaks
SAVER, BREAKER = "cid", "ben"  # BREAKER never buys a freeze, and buys the streak back
BOARD_PRIZES = {
    "weekly": {"1": {"coins": 1000}, "2-3": {"coins": 100}},
    "weekly:math": {"1": {"bricks": 5}},
}


def make_app(settings, redis_client, clock):
    """The app with the rules the session plays by: the shipped ones, streak repair on
    and prizes on the weekly boards (so the week's close pays some); every key of the
    session is remembered to its end (IDEMPOTENCY_TTL_SECONDS at its most, 30 days)."""
    settings = dataclasses.replace(settings, idempotency_ttl_seconds=30 * 86_400)  # the session
    app = create_app(settings, redis_client=redis_client, clock=clock)
    engine = app.extensions["questboard.engine"]
    prizes = parse_board_prizes(Field(BOARD_PRIZES, "leaderboards.prizes"), ("coins", "bricks"))
    engine.rules = dataclasses.replace(
        engine.rules,
        streak_repair=StreakRepair("coins", base=50, per_day=10, max_price=500),
        leaderboards=dataclasses.replace(engine.rules.leaderboards, prizes=prizes),
    )
    return app


@dataclass
class Write:
    """A request that changed state (or was refused), as sent and as first answered."""

    method: str
    path: str
    headers: dict
    body: dict | None
    status: int
    answer: dict | None


@dataclass
class Session:
    app: object
    clock: object
    server: dict
    admin: dict
    seed: int
    writes: list[Write] = field(default_factory=list)
    rng: random.Random = field(init=False)
    keys: int = 0

    def __post_init__(self):
        self.rng = random.Random(self.seed)
        self.client = self.app.test_client()
        self.engine = self.app.extensions["questboard.engine"]

    def tick(self, low: int = 2, high: int = 90) -> None:
        """Time passes between two requests (never two changes in one second)."""
        self.clock.advance(seconds=self.rng.randint(low, high))

    def key(self, player: str) -> str:
        self.keys += 1
        return f"{player}-k{self.keys}"

    def send(self, method: str, path: str, headers: dict, body=None, keyed=True) -> Write:
        self.tick()
        response = self.client.open(path, method=method, headers=headers, json=body)
        assert response.status_code < 500, (path, response.get_json())
        write = Write(method, path, headers, body, response.status_code, response.get_json())
        if keyed:
            self.writes.append(write)
        return write

    # One player's actions.

    def login(self, player: str) -> None:
        headers = dict(self.server)
        if self.rng.random() < 0.7:
            headers["Idempotency-Key"] = self.key(player)
        self.send(
            "POST", f"/v1/players/{player}/login", headers, keyed="Idempotency-Key" in headers
        )

    def exam(self, player: str) -> None:
        questions = self.rng.randint(1, 20)
        body = {
            "exam_id": f"{player}-exam-{self.key(player)}",
            "category_id": self.rng.choice(CATEGORIES),
            "score": self.rng.randint(0, 100),
            "total_questions": questions,
            "correct_answers": self.rng.randint(0, questions),
        }
        self.send("POST", f"/v1/players/{player}/exams", self.server, body)

    def purchase(self, player: str) -> None:
        item = self.rng.choice(ITEMS if player != BREAKER else ITEMS[:-1])
        self.buy(player, item, 1 if item == "streak_freeze" else self.rng.randint(1, 4))

    def buy(self, player: str, item: str, quantity: int) -> None:
        headers = self.server | {"Idempotency-Key": self.key(player)}
        body = {"item": item, "quantity": quantity}
        self.send("POST", f"/v1/players/{player}/purchases", headers, body)

    def ad(self, player: str) -> None:
        headers = self.server | {"Idempotency-Key": self.key(player)}
        self.send("POST", f"/v1/players/{player}/ad-rewards", headers)

    def grant(self, player: str) -> None:
        body = {"resources": {"coins": self.rng.choice((100, 300, 600))}, "reason": "gift"}
        headers = self.admin | {"Idempotency-Key": self.key(player)}
        self.send("POST", f"/v1/admin/players/{player}/grants", headers, body)

    def repair(self, player: str) -> None:
        headers = self.server | {"Idempotency-Key": self.key(player)}
        self.send("POST", f"/v1/players/{player}/streak/repair", headers)

    def move(self, player: str) -> None:
        body = {"timezone": self.rng.choice(ZONES)}
        self.send("PUT", f"/v1/players/{player}/settings", self.server, body, keyed=False)

    ACTIONS = (
        (login, 3),
        (exam, 6),
        (purchase, 3),
        (ad, 3),
        (grant, 1),
        (move, 1),
    )

    def act(self, player: str) -> None:
        actions, weights = zip(*self.ACTIONS, strict=True)
        for action in self.rng.choices(actions, weights, k=self.rng.randint(2, 5)):
            action(self, player)
        daily = self.client.get(f"/v1/players/{player}/daily", headers=self.server)
        if daily.get_json().get("streak_repair"):
            self.repair(player)  # on offer: bought back (or refused, short of coins)

    # Admin moments.

    def ban_and_lift(self, player: str) -> None:
        body = {"player_id": player, "reason": "checking a report"}
        ban = self.send("POST", "/v1/admin/player-bans", self.admin, body, keyed=False)
        assert ban.status == 201, ban.answer
        refused = self.client.get(f"/v1/players/{player}/wallet", headers=self.server)
        assert refused.status_code == 403
        self.tick()
        lifted = self.client.delete(f"/v1/admin/player-bans/{ban.answer['id']}", headers=self.admin)
        assert lifted.status_code == 204

    def remove_from_boards(self, player: str) -> None:
        removed = self.send(
            "DELETE", f"/v1/admin/players/{player}/leaderboards", self.admin, keyed=False
        )
        assert removed.status == 200, removed.answer

    def batches(self) -> None:
        """The game server sends a round's exams together, and an admin a round's prizes."""
        exams, grants = [], []
        for player in PLAYERS:
            questions = self.rng.randint(1, 20)
            exams.append(
                {"player_id": player, "exam_id": f"round-{self.key(player)}", "category_id": "math"}
                | {"score": self.rng.randint(0, 100), "total_questions": questions}
                | {"correct_answers": self.rng.randint(0, questions)}
            )
            grants.append(
                {"player_id": player, "idempotency_key": f"prize-{self.key(player)}"}
                | {"resources": {"coins": self.rng.choice((10, 50))}, "reason": "round prize"}
            )
        self.send("POST", "/v1/exams:batch", self.server, {"exams": exams})
        self.send("POST", "/v1/admin/grants:batch", self.admin, {"grants": grants})

    def choose_the_tool(self) -> None:
        """An admin overrides today's tool (any but yesterday's and today's own)."""
        today = self.client.get("/v1/tool-of-the-day", headers=self.server).get_json()["tool"]
        for tool in self.rng.sample(TOOLS, len(TOOLS)):
            self.tick()
            chosen = self.client.put(
                "/v1/admin/tool-of-the-day", headers=self.admin, json={"tool": tool}
            )
            if tool != today and chosen.status_code == 200:
                return

    def run(self, *jobs: str) -> None:
        for job in jobs:
            run_job(job, engine=self.engine)

    def play(self) -> None:
        self.clock.set(START)
        for day in range(DAYS):
            if day:
                self.run("daily_reset")
                self.clock.advance(minutes=10)
                self.run("league_close", "board_prizes", "leaderboard_snapshot")
                self.clock.advance(minutes=20)
                self.run("season_rollover", "zone_tables")
                if self.clock.now().weekday() == 0:  # Monday, an hour after the reset
                    self.clock.advance(minutes=30)
                    self.run("cleanup")
            for player in PLAYERS:
                self.clock.advance(minutes=self.rng.randint(0, 150))
                if day == 0:  # funds, and cid's freeze for the day cid misses
                    self.grant(player)
                    if player == SAVER:
                        self.buy(player, "streak_freeze", 1)
                if day == MISSED or (self.rng.random() < 0.2 and 0 < day < DAYS - 1):
                    continue  # a missed day: a freeze bridges it, or the streak breaks
                self.act(player)
                if self.rng.random() < 0.4:
                    self.run("persist")
            if day == 1:
                self.ban_and_lift("ann")
            if day == 2:
                self.remove_from_boards("dan")
            if day == 3:
                self.choose_the_tool()
            if day in (1, 4):
                self.batches()
            self.run("persist")
            self.to_next_day()
        self.act(self.rng.choice(PLAYERS))  # the last moments before the loss

    def to_next_day(self) -> None:
        """To just after the next reset (03:00 UTC), a few minutes in."""
        now = self.clock.now()
        reset = now.replace(hour=3, minute=0, second=0, microsecond=0)
        if reset <= now:
            reset += timedelta(days=1)
        self.clock.advance(seconds=(reset - now).total_seconds() + self.rng.randint(60, 3600))
