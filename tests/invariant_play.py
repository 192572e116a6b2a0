"""A seeded random play through the HTTP API, checking what players can see.

tests/test_play_invariants.py drives a few players through logins, exams, purchases,
streak freezes, ads, admin grants, streak repairs, zone changes and retries, the clock
moving on by seconds to days, and after every step holds the API to its own word:
balances are their ledger's sums, every ledger entry is something an answer reported,
a mission pays once a day, the streak follows the claims, battle-pass XP and board
scores are the sums of what the answers reported and the exams sent, a retry changes
nothing, and nothing answers 500. The model keeps only what the API cannot tell: what
was sent, and what each answer reported.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

ZONES = [
    None,
    "Asia/Tokyo",
    "America/New_York",
    "Europe/Berlin",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "Australia/Sydney",
    "Europe/Helsinki",  # its clocks change at 03:00, the hour a day starts
    "Australia/Lord_Howe",  # half an hour
    "America/Santiago",  # at midnight
    "Asia/Kathmandu",
]
PRICES = {"logs": 10, "bricks": 20, "cement": 30, "steel": 50}
ITEMS = list(PRICES)
RECORDED_REFUSALS = {"insufficient_funds", "balance_limit_exceeded", "daily_limit_reached"}
DAY = timedelta(days=1)
RESET_HOUR = 3  # the game calendar: days turning at 03:00 in GAME_TIMEZONE


def game_day(now: datetime, zone: str) -> date:
    local = now.astimezone(ZoneInfo(zone))
    return local.date() - DAY if local.hour < RESET_HOUR else local.date()


def periods(now: datetime, zone: str) -> dict[str, str]:
    day = game_day(now, zone)
    year, week, _ = day.isocalendar()
    return {"weekly": f"{year}-W{week:02d}", "monthly": f"{day:%Y-%m}", "yearly": f"{day:%Y}"}


def recorded(status: int, answer: dict) -> bool:
    """Whether a retry of this answer must hear it again: a success, or a refusal the
    engine records (README, Idempotency)."""
    return status < 300 or (answer.get("error", {}).get("code") in RECORDED_REFUSALS)


def tx_order(entry) -> tuple[int, int]:
    ms, seq = entry["transaction_id"].split("-")
    return int(ms), int(seq)


def error_code(response) -> str | None:
    return (response.get_json() or {}).get("error", {}).get("code")


class Play:
    """One seeded history of `players` on an app's test client."""

    def __init__(self, client, clock, seed: int, server: dict, admin: dict, players: int = 3):
        self.client, self.clock, self.rng = client, clock, random.Random(seed)
        self.server, self.admin = server, admin
        self.players = [f"p{seed}-{i}" for i in range(players)]
        self.seed = seed
        self.keys = iter(range(10**9))
        self.reported = defaultdict(set)  # player -> transaction ids the answers reported
        self.freezes_used = Counter()  # player -> freezes the answers said were used
        self.xp = defaultdict(Counter)  # player -> season -> XP the answers reported
        self.missions_paid = defaultdict(set)  # player -> (game day, mission) paid
        self.levels = defaultdict(lambda: defaultdict(list))  # player -> season -> levels paid
        self.events = defaultdict(Counter)  # (player, their game day) -> mission events sent
        self.used_keys = []  # (key, player) sent
        self.held_before = {}
        self.deltas = {}  # transaction id -> what its request was to change
        self.zoned = set()  # players who set a zone once: their days are their own
        self.streak_model = defaultdict(lambda: None)  # player -> (last claimed day, streak)
        self.exams = defaultdict(dict)  # (player, board, category, period) -> {exam_id: score}
        self.sent = []  # (when, player, method, path, body, headers, status, answer)
        self.log = []

    # -- requests ---------------------------------------------------------------------

    def call(self, method, path, body=None, headers=None):
        response = self.client.open(path, method=method, json=body, headers=headers or {})
        assert response.status_code < 500, (self.where(), path, response.get_data(as_text=True))
        return response

    def get(self, path):
        response = self.call("GET", path, headers=self.server)
        assert response.status_code == 200, (self.where(), path, response.get_json())
        return response.get_json()

    def where(self):
        return f"seed {self.seed} at {self.clock.now().isoformat()}: " + " | ".join(self.log[-8:])

    def key(self, player):
        """A new key; sometimes one another player sent (keys are each player's own)."""
        mine = {k for k, p in self.used_keys if p == player}
        others = [(k, p) for k, p in self.used_keys if k not in mine]
        if others and self.rng.random() < 0.15:
            key = self.rng.choice(others)[0]
        else:
            key = f"k{next(self.keys)}"
        self.used_keys.append((key, player))
        return key

    # -- what the API says ------------------------------------------------------------

    def ledger(self, player):
        """The whole ledger, walked in pages of a random size (1-7 or 200)."""
        entries, before = [], None
        limit = self.rng.choice([1, 2, 3, 7, 200])
        while True:
            path = f"/v1/players/{player}/ledger?limit={limit}"
            page = self.get(path + (f"&before={before}" if before else ""))["entries"]
            entries += page
            if len(page) < limit:
                return entries
            before = page[-1]["transaction_id"]

    def seen(self, player):
        """Everything the checks compare, as the API answers it now."""
        return {
            "wallet": self.get(f"/v1/players/{player}/wallet")["balances"],
            "ledger": self.ledger(player),
            "ranks": self.get(f"/v1/players/{player}/ranks")["boards"],
            "seasons": {
                season: self.get(f"/v1/players/{player}/battle-pass?season={season}")
                for season in sorted(self.xp[player])
            },
            "daily": self.get(f"/v1/players/{player}/daily"),
        }

    def check(self, player):
        seen = self.seen(player)
        where = self.where()
        ledger, wallet = seen["ledger"], seen["wallet"]
        sums = Counter()
        for entry in ledger:
            sums.update(entry["deltas"])
        for resource in set(sums) | set(wallet):
            assert wallet.get(resource, 0) == sums[resource], (where, resource, wallet, dict(sums))
        if ledger:
            after = {r: v for r, v in ledger[0]["balances_after"].items() if v}
            assert after == {r: v for r, v in wallet.items() if v}, (where, after, wallet)
        for newer, older in itertools.pairwise(ledger):
            assert tx_order(newer) > tx_order(older), (where, "ledger order", newer, older)
            chained = Counter(older["balances_after"])
            chained.update(newer["deltas"])
            chained = {r: v for r, v in chained.items() if v}
            after = {r: v for r, v in newer["balances_after"].items() if v}
            assert after == chained, (where, "balances_after chain", older, newer)
        ids = [entry["transaction_id"] for entry in ledger]
        assert len(ids) == len(set(ids)), (where, "a transaction twice in the ledger")
        freezes = [e for e in ledger if e["kind"] == "streak_freeze"]
        others = {e["transaction_id"] for e in ledger if e["kind"] != "streak_freeze"}
        assert others == self.reported[player], (
            where,
            "not reported",
            [e for e in ledger if e["transaction_id"] in others - self.reported[player]],
            "reported, not in the ledger",
            self.reported[player] - others,
        )
        assert len(freezes) == self.freezes_used[player], (where, freezes, self.freezes_used)
        for entry in ledger:
            expected = self.deltas.get(entry["transaction_id"])
            assert expected in (None, entry["deltas"]), (where, "deltas", entry, expected)
        for season, state in seen["seasons"].items():
            xp = self.xp[player][season]
            assert state["xp"] == xp, (where, season, state, self.xp[player])
            assert state["level"] == xp // 1000 + 1, (where, state)
            granted = sorted(r["level"] for r in state["rewards_granted"])
            assert granted == sorted(self.levels[player][season]), (where, state, self.levels)
        self.check_boards(player, seen["ranks"], where)
        daily = seen["daily"]
        assert 0 <= daily["ads"]["watched"] <= daily["ads"]["limit"], (where, daily)
        day = daily["game_day"]
        assert daily["ads"]["watched"] == self.events[(player, day)]["watch_ad"], (
            where,
            daily,
            self.events[(player, day)],
        )
        for mission in daily["missions"]:
            paid = (day, mission["id"]) in self.missions_paid[player]
            assert paid == mission["completed"], (where, mission, day)
            if mission["event"] != "login":
                sent = self.events[(player, day)][mission["event"]]
                assert mission["progress"] in (min(sent, mission["target"]), sent), (
                    where,
                    mission,
                    self.events[(player, day)],
                )
        return seen

    def check_boards(self, player, ranks, where):
        for board in ranks:
            key = (player, board["board"], board["category"], board["period"])
            sent = self.exams.get(key, {})
            entry = board["entry"]
            if not sent:
                assert entry is None, (where, key, entry)
                continue
            assert entry is not None, (where, key, sent)
            assert entry["score"] == sum(sent.values()), (where, key, entry, sent)
            assert entry["exams"] == len(sent), (where, key, entry, sent)

    def check_past_boards(self, player):
        for (who, board, category, period), sent in self.exams.items():
            if who != player:
                continue
            path = f"/v1/leaderboards/{board}/players/{player}?around=0&period={period}"
            path += f"&category={category}" if category else ""
            response = self.call("GET", path, headers=self.server)
            if response.status_code == 404 and error_code(response) == "period_expired":
                continue  # kept 12 weeks, 24 months, 5 years (README, Leaderboards)
            assert response.status_code == 200, (self.where(), path, response.get_json())
            entry = response.get_json()["entry"]
            key = (board, category, period)
            assert entry["score"] == sum(sent.values()), (self.where(), key, entry, sent)
            assert entry["exams"] == len(sent), (self.where(), key, entry, sent)

    # -- actions ------------------------------------------------------------------------

    def act(self, player, method, path, body=None, headers=None, *, record=True):
        """A player action: the day's state before and after it, the answer's reports
        taken into the model, the streak held to the claims."""
        before = self.get(f"/v1/players/{player}/daily")
        self.note_freezes(player)
        response = self.call(method, path, body, headers)
        answer = response.get_json()
        replayed = response.headers.get("Idempotent-Replayed") == "true"
        self.log.append(f"{player} {method} {path} {body} -> {response.status_code}")
        if record and recorded(response.status_code, answer):
            status = response.status_code
            self.sent.append(
                (self.clock.now(), player, method, path, body, headers, status, answer)
            )
        if response.status_code in (200, 201) and not replayed:
            self.expect_deltas(path, body, answer)
            self.take(player, answer, before)
            self.count_events(player, path, body, before["game_day"])
        return response

    def expect_deltas(self, path, body, answer):
        """What a purchase, a grant or an ad was to change, from what was sent."""
        if path.endswith("/purchases"):
            price = PRICES.get(body["item"], 200)
            item = {"streak_freeze": "streak_freeze"}.get(body["item"], body["item"])
            self.deltas[answer["transaction_id"]] = {
                "coins": -price * body["quantity"],
                item: body["quantity"],
            }
        elif path.endswith("/grants"):
            self.deltas[answer["transaction_id"]] = body["resources"]
        elif path.endswith("/ad-rewards"):  # 5 coins, which a cap or max_balance may cut
            assert 0 < answer["reward"].get("coins", 0) <= 5 or not answer["transaction_id"], answer
            self.deltas[answer["transaction_id"]] = answer["reward"]

    def note_freezes(self, player):
        """The freezes held before an action, for check_streak."""
        wallet = self.get(f"/v1/players/{player}/wallet")["balances"]
        self.held_before[player] = wallet.get("streak_freeze", 0)

    def check_streak(self, player, before, answer, bonus, freezes_used):
        """For a player on the game calendar: a claim the day after the last continues
        the streak; one to `max_gap_days` missed days are bridged by as many freezes
        when held (bought by this very purchase included); else it restarts at 1."""
        day = date.fromisoformat(before["game_day"])
        last = self.streak_model[player]
        self.streak_model[player] = (day, bonus["streak"])
        if last is None or player in self.zoned or last[0] is None:
            return
        missed = (day - last[0]).days - 1
        bought = answer["quantity"] if answer.get("item") == "streak_freeze" else 0
        held = self.held_before[player] + bought
        where = (self.where(), last, day, held, bonus, freezes_used)
        if missed == 0:
            assert (bonus["streak"], freezes_used) == (last[1] + 1, 0), where
        elif 1 <= missed <= 2 and held >= missed:
            assert (bonus["streak"], freezes_used) == (last[1] + 1, missed), where
        else:
            assert (bonus["streak"], freezes_used) == (1, 0), where

    def count_events(self, player, path, body, day):
        """The mission events an action sent, on the player's day it was sent in."""
        events = self.events[(player, day)]
        if path.endswith("/exams"):
            events["complete_exam"] += 1
            events["solve_questions"] += body["correct_answers"]
            events["perfect_exam"] += body["correct_answers"] == body["total_questions"]
        elif path.endswith("/ad-rewards"):
            events["watch_ad"] += 1
        elif path.endswith("/purchases"):
            events["purchase"] += 1

    def take(self, player, answer, before):
        where = self.where()
        if answer.get("transaction_id"):  # none when a daily earning cap took it all
            self.reported[player].add(answer["transaction_id"])
        progress = answer.get("progress")
        if progress is None:
            return
        bonus = progress["daily_bonus"]
        streak = before["login"]["streak"]
        if bonus is not None:
            assert not before["login"]["claimed"], (where, before, progress)
            if bonus.get("transaction_id"):
                self.reported[player].add(bonus["transaction_id"])
            expected = streak + 1 if streak else 1
            if answer.get("item") != "streak_freeze":  # freezes bought may bridge the gap
                assert bonus["streak"] == expected, (where, before, progress)
            milestone = {"steel": 10} if bonus["streak"] % 7 == 0 else {"logs": 1}
            assert bonus["reward"] in (milestone, {}), (where, bonus)
        else:
            assert before["login"]["claimed"], (where, before, progress)
        if bonus is not None:
            self.check_streak(player, before, answer, bonus, progress["freezes_used"])
        self.freezes_used[player] += progress["freezes_used"]
        if progress["freezes_used"]:
            assert bonus is not None, (where, progress)
        for mission in progress["missions"]:
            if "reward" in mission:  # the action that completed it
                assert mission["completed"] and mission["progress"] >= mission["target"], (
                    where,
                    mission,
                )
                paid = (before["game_day"], mission["id"])
                assert paid not in self.missions_paid[player], (where, paid, "paid twice")
                self.missions_paid[player].add(paid)
            if mission.get("transaction_id"):
                self.reported[player].add(mission["transaction_id"])
        if progress["xp"] is not None:
            season = progress["xp"]["season"]
            self.xp[player][season] += progress["xp"]["gained"]
            assert progress["xp"]["total"] == self.xp[player][season], (where, progress["xp"])
        for level in progress["level_rewards"]:
            self.levels[player][progress["xp"]["season"]].append(level["level"])
            if level.get("transaction_id"):
                self.reported[player].add(level["transaction_id"])
        after = self.get(f"/v1/players/{player}/daily")
        assert after["login"]["claimed"], (where, after)
        assert after["login"]["streak"] == progress["streak"], (where, after, progress)

    def check_board_pages(self):
        """Every board the exams reached: its players, scores, exams and ranks."""
        boards = defaultdict(dict)  # (board, category, period) -> player -> (score, exams)
        for (player, board, category, period), sent in self.exams.items():
            boards[(board, category, period)][player] = (sum(sent.values()), len(sent))
        for (board, category, period), players in boards.items():
            path = f"/v1/leaderboards/{board}?limit=100&period={period}"
            path += f"&category={category}" if category else ""
            response = self.call("GET", path, headers=self.server)
            if response.status_code == 404 and error_code(response) == "period_expired":
                continue
            page = response.get_json()
            where = (self.where(), board, category, period, page)
            assert page["total_players"] == len(players), where
            listed = {e["player_id"]: (e["score"], e["exams"]) for e in page["entries"]}
            assert listed == players, (where, players)
            scores = [e["score"] for e in page["entries"]]
            assert scores == sorted(scores, reverse=True), where
            for entry in page["entries"]:
                assert entry["rank"] == 1 + sum(s > entry["score"] for s in scores), where
