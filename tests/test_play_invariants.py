"""Seeded random play through the HTTP API, every step held to what the API says.

tests/invariant_play.py keeps the model and the checks; the steps here play a few
players through every kind of action and retry, the clock moving on by seconds to days
across resets, period and season ends and the daylight-saving changes of their zones,
with persist runs moving the ledger to SQL in between. After every step the acting
player's balances, ledger, streak, missions, ads, battle-pass XP and board scores must
agree with one another and with what the answers reported, and the other players'
wallets must not have moved.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from engine.ops import persistence
from engine.rules.progression import StreakRepair
from tests.invariant_play import ITEMS, PRICES, ZONES, Play, error_code, periods
from web import create_app

GAME_ZONES = ["UTC", "Europe/Helsinki", "America/New_York"]
STARTS = [
    datetime(2026, 10, 22, 9, 0, tzinfo=UTC),  # Berlin's and New York's autumn changes
    datetime(2026, 11, 26, 20, 0, tzinfo=UTC),  # a season's end, a month's, a year's
    datetime(2027, 3, 10, 1, 0, tzinfo=UTC),  # New York's and Berlin's spring changes
    datetime(2026, 9, 30, 22, 0, tzinfo=UTC),  # Sydney's spring change, a quarter's turn
]


class Steps(Play):
    """The random steps: one player's action (sometimes sent twice), a retry, a key
    reused with another body, a zone change, a batch of exams or a persist run."""

    def __init__(self, client, clock, seed, server, admin, engine, game_zone):
        super().__init__(client, clock, seed, server, admin)
        self.engine, self.game_zone = engine, game_zone
        self.batch_players: set[str] = set()

    def wallets(self):
        query = "&".join(f"player_id={p}" for p in self.players)
        results = self.get(f"/v1/wallets?{query}")["results"]
        return {r["result"]["player_id"]: r["result"]["balances"] for r in results}

    def step(self):
        self.tick()
        player = self.rng.choice(self.players)
        moves = [
            (self.login, 3),
            (self.exam, 4),
            (self.purchase, 2),
            (self.freezes, 1),
            (self.ad, 3),
            (self.grant, 2),
            (self.repair, 1),
            (self.zone, 1),
            (self.retry, 3),
            (self.reused_key, 1),
            (self.exam_batch, 1),
            (self.persist, 1),
        ]
        move = self.rng.choices([m for m, _ in moves], [w for _, w in moves])[0]
        twice = self.rng.random() < 0.15
        wallets = self.wallets()
        move(player, twice)
        moved = {p for p, balances in self.wallets().items() if balances != wallets[p]}
        touched = self.batch_players if move == self.exam_batch else {player}
        assert moved <= touched, (self.where(), "another player's wallet moved", moved)
        for who in sorted(touched):
            self.check(who)

    def exam_batch(self, player, twice):
        """Exams of several players in one batch, one of them sometimes sent twice in it
        (or its exam_id with another score)."""
        players = self.rng.sample(self.players, self.rng.randint(1, len(self.players)))
        self.batch_players = set(players)
        items = [dict(self.exam_body(p), player_id=p) for p in players]
        if self.rng.random() < 0.4:
            again = dict(items[0])
            if self.rng.random() < 0.5:
                again["score"] = (again["score"] + 1) % 100
            items.append(again)
        before = {p: self.get(f"/v1/players/{p}/daily") for p in players}
        for p in players:
            self.note_freezes(p)
        now = self.clock.now()
        response = self.call("POST", "/v1/exams:batch", {"exams": items}, self.server)
        self.log.append(f"batch {items} -> {response.status_code}")
        assert response.status_code == 200, (self.where(), response.get_json())
        results = response.get_json()["results"]
        assert len(results) == len(items), (self.where(), results)
        counted = set()
        for item, result in zip(items, results, strict=True):
            p = item["player_id"]
            if result["status"] == 201 and not result["replayed"]:
                assert p not in counted, (self.where(), "an exam counted twice", results)
                counted.add(p)
                self.take(p, result["result"], before[p])
                body = {k: v for k, v in item.items() if k != "player_id"}
                self.count_events(p, "/exams", body, before[p]["game_day"])
                self.count_exam(p, body, now)
        for p in players:
            assert p in counted, (self.where(), "a new exam not counted", p, results)

    def exam_body(self, player):
        questions = self.rng.randint(1, 20)
        return {
            "exam_id": self.key(player),
            "category_id": self.rng.choice(["math", "history"]),
            "score": self.rng.randint(0, 100),
            "total_questions": questions,
            "correct_answers": self.rng.choice([questions, self.rng.randint(0, questions)]),
        }

    def count_exam(self, player, body, now):
        for board, period in periods(now, self.game_zone).items():
            for category in (None, body["category_id"]):
                self.exams[(player, board, category, period)][body["exam_id"]] = body["score"]

    def persist(self, player, twice):
        self.engine.ledger_keep_entries = self.rng.choice([0, 0, 3])
        persistence.persist(self.engine)
        self.log.append("persist")

    def tick(self):
        roll = self.rng.random()
        if roll < 0.45:
            seconds = self.rng.randint(0, 600)
        elif roll < 0.8:
            seconds = self.rng.randint(3600, 12 * 3600)
        else:
            seconds = self.rng.randint(12 * 3600, 60 * 3600)
        self.clock.set(self.clock.now() + timedelta(seconds=seconds))

    def action(self, player, twice, method, path, body=None, headers=None):
        first = self.act(player, method, path, body, headers)
        if twice:
            self.resend(player, method, path, body, headers, first.status_code, first.get_json())
        return first

    def login(self, player, twice):
        headers = dict(self.server)
        if self.rng.random() < 0.5:
            headers["Idempotency-Key"] = self.key(player)
        path = f"/v1/players/{player}/login"
        if "Idempotency-Key" in headers:
            return self.action(player, twice, "POST", path, headers=headers)
        self.act(player, "POST", path, headers=headers, record=False)
        if twice:
            self.act(player, "POST", path, headers=headers, record=False)

    def exam(self, player, twice):
        body = self.exam_body(player)
        now = self.clock.now()
        path = f"/v1/players/{player}/exams"
        response = self.action(player, twice, "POST", path, body, self.server)
        if response.status_code == 201:
            self.count_exam(player, body, now)

    def purchase(self, player, twice):
        item = self.rng.choice(ITEMS)
        body = {"item": item, "quantity": self.rng.randint(1, 3)}
        if self.rng.random() < 0.3:
            body["expected_price"] = {"coins": PRICES[item]}
        self.buy(player, twice, body)

    def freezes(self, player, twice):
        self.buy(player, twice, {"item": "streak_freeze", "quantity": self.rng.randint(1, 2)})

    def buy(self, player, twice, body):
        headers = self.server | {"Idempotency-Key": self.key(player)}
        self.action(player, twice, "POST", f"/v1/players/{player}/purchases", body, headers)

    def ad(self, player, twice):
        """One ad, or a run of them past the day's cap."""
        for _ in range(self.rng.choice([1, 1, 2, 6])):
            headers = self.server | {"Idempotency-Key": self.key(player)}
            self.action(player, twice, "POST", f"/v1/players/{player}/ad-rewards", None, headers)

    def grant(self, player, twice):
        roll = self.rng.random()
        if roll < 0.15:
            resources = {"streak_freeze": 1}
        elif roll < 0.3:
            resources = {"coins": -self.rng.randint(1, 300)}
        else:
            resources = {"coins": self.rng.randint(1, 600)}
        body = {"resources": resources, "reason": "play"}
        headers = self.admin | {"Idempotency-Key": self.key(player)}
        path = f"/v1/admin/players/{player}/grants"
        self.action(player, twice, "POST", path, body, headers)

    def repair(self, player, twice):
        """A repair is sold exactly when the day's state offers it, on the offer's terms."""
        offer = self.get(f"/v1/players/{player}/daily")["streak_repair"]
        coins = self.get(f"/v1/players/{player}/wallet")["balances"].get("coins", 0)
        headers = self.server | {"Idempotency-Key": self.key(player)}
        path = f"/v1/players/{player}/streak/repair"
        response = self.action(player, twice, "POST", path, None, headers)
        answer, where = response.get_json(), (self.where(), offer, coins)
        if offer is None:
            assert error_code(response) == "streak_not_repairable", (where, answer)
        elif coins < offer["price"]["coins"]:
            assert error_code(response) == "insufficient_funds", (where, answer)
        else:
            assert response.status_code == 201, (where, answer)
            assert answer["streak"] == offer["streak"] and answer["lost"] == offer["lost"], where
            assert answer["price"] == offer["price"], (where, answer)
            self.deltas[answer["transaction_id"]] = {"coins": -offer["price"]["coins"]}
            self.streak_model[player] = (
                (self.streak_model[player] or (None, 0))[0],
                answer["streak"],
            )
        if response.status_code == 201:
            daily = self.get(f"/v1/players/{player}/daily")
            assert daily["login"]["streak"] == answer["streak"], (self.where(), daily)

    def zone(self, player, twice):
        body = {"timezone": self.rng.choice(ZONES)}
        self.zoned.add(player)
        for _ in range(2 if twice else 1):
            response = self.call("PUT", f"/v1/players/{player}/settings", body, self.server)
            self.log.append(f"{player} zone {body} -> {response.status_code}")
            assert response.status_code == 200, (self.where(), response.get_json())

    def recent(self, player):
        since = self.clock.now() - timedelta(hours=23)
        return [sent for sent in self.sent if sent[1] == player and sent[0] >= since]

    def retry(self, player, twice):
        recent = self.recent(player)
        if recent:
            _, _, method, path, body, headers, status, answer = self.rng.choice(recent)
            self.resend(player, method, path, body, headers, status, answer)

    def resend(self, player, method, path, body, headers, status, answer):
        """The same request again: the first answer, and nothing changed."""
        before = self.seen(player)
        response = self.call(method, path, body, headers)
        self.log.append(f"{player} again {method} {path} {body} -> {response.status_code}")
        exam = path.endswith("/exams")
        assert response.status_code == (200 if exam and status == 201 else status), (
            self.where(),
            status,
            response.get_json(),
        )
        assert response.get_json() == answer, (self.where(), answer, response.get_json())
        unchanged = {k: v for k, v in self.seen(player).items()}
        assert unchanged == before, (self.where(), "a retry changed", before, unchanged)

    def reused_key(self, player, twice):
        recent = [s for s in self.recent(player) if s[4] is not None]
        if not recent:
            return
        _, _, method, path, body, headers, status, _ = self.rng.choice(recent)
        changed = dict(body)
        if "quantity" in changed:
            changed["quantity"] = changed["quantity"] % 2 + 1
        elif "score" in changed:
            changed["score"] = (changed["score"] + 1) % 100
        else:
            changed["reason"] = "other"
        before = self.seen(player)
        response = self.call(method, path, changed, headers)
        self.log.append(f"{player} reused {method} {path} {changed} -> {response.status_code}")
        if status in (200, 201, 409):
            assert response.status_code == 422, (self.where(), status, response.get_json())
        assert self.seen(player) == before, (self.where(), "a reused key changed something")


def play(settings, store, clock, seed, headers, unlimited_rules, steps):
    """`steps` random steps on the seed's start and game zone, then every player checked
    again with the ledger persisted, and their boards of every period."""
    game_zone = GAME_ZONES[seed % len(GAME_ZONES)]
    settings = dataclasses.replace(settings, game_timezone=game_zone)
    app = create_app(settings, redis_client=store, clock=clock)
    engine = app.extensions["questboard.engine"]
    engine.rules = dataclasses.replace(
        unlimited_rules,
        streak_repair=StreakRepair("coins", base=50, per_day=10, max_price=500),
    )
    clock.set(STARTS[seed % len(STARTS)])
    game = Steps(app.test_client(), clock, seed, *headers, engine, game_zone)
    for _ in range(steps):
        game.step()
    persistence.persist(engine)
    for player in game.players:
        game.check(player)
        game.check_past_boards(player)
    game.check_board_pages()
    return game


@pytest.mark.parametrize("seed", range(3))
def test_random_play_keeps_the_invariants(
    settings, fake_redis, clock, seed, server_headers, admin_headers, unlimited_rules
):
    headers = (server_headers, admin_headers)
    play(settings, fake_redis, clock, seed, headers, unlimited_rules, steps=60)


@pytest.mark.parametrize("seed", [10, 11, 12])
def test_random_play_keeps_the_invariants_on_redis(
    settings, real_redis, clock, seed, server_headers, admin_headers, unlimited_rules
):
    headers = (server_headers, admin_headers)
    play(settings, real_redis, clock, seed, headers, unlimited_rules, steps=80)
